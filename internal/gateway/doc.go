// Package gateway groups Fulfill's payment gateway adapters. Each adapter
// lives in its own sub-package (stripe, razorpay, paypal; sandbox is the
// built-in one) and implements fulfill.Gateway; gatewaytest is the contract
// suite every one of them passes, and gwhttp is the small HTTP helper they
// share so that every adapter maps provider failures to the same error codes.
package gateway

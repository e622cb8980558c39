package app

import (
	"context"
	"strings"

	"github.com/fulfill-dev/fulfill"
)

// SandboxPayments plays the shopper on the sandbox gateway's payment page
// (internal/gateway/sandbox implements it).
type SandboxPayments interface {
	// Confirm settles an intent with the requested outcome and queues the
	// signed webhook deliveries. ENotFound; EConflict when the intent is no
	// longer payable.
	Confirm(ctx context.Context, intentID string, req SandboxConfirm) (*fulfill.SandboxIntent, error)
}

// SandboxConfirm is the body of POST /sandbox/payments/{intent_id}/confirm.
type SandboxConfirm struct {
	// Outcome is succeeded or declined.
	Outcome string `json:"outcome"`
	// DelayMS delays the webhook delivery.
	DelayMS int `json:"delay_ms"`
	// Duplicate delivers the webhook twice.
	Duplicate bool `json:"duplicate"`
	// OutOfOrder delivers a stale failure after the success.
	OutOfOrder bool `json:"out_of_order"`
	// FailFirst makes the first N delivery attempts fail (the receiver is
	// told to answer 5xx), to show retries.
	FailFirst int `json:"fail_first"`
}

// Sandbox knob limits.
const (
	maxSandboxDelayMS   = 10 * 60 * 1000
	maxSandboxFailFirst = 10
)

// Validate checks the knobs.
func (c SandboxConfirm) Validate() error {
	switch c.Outcome {
	case "succeeded", "declined":
	default:
		return fulfill.FieldErrorf(fulfill.EInvalid, "outcome", "outcome must be succeeded or declined")
	}
	if c.DelayMS < 0 || c.DelayMS > maxSandboxDelayMS {
		return fulfill.FieldErrorf(fulfill.EInvalid, "delay_ms", "delay_ms must be between 0 and %d", maxSandboxDelayMS)
	}
	if c.FailFirst < 0 || c.FailFirst > maxSandboxFailFirst {
		return fulfill.FieldErrorf(fulfill.EInvalid, "fail_first", "fail_first must be between 0 and %d", maxSandboxFailFirst)
	}
	return nil
}

// ConfirmSandboxPayment plays the shopper paying (or being declined) on the
// sandbox's page. ENotFound when the sandbox is not configured or the
// intent does not exist; EInvalid; EConflict.
func (a *App) ConfirmSandboxPayment(ctx context.Context, intentID string, req SandboxConfirm) (*fulfill.SandboxIntent, error) {
	if a.opts.Sandbox == nil {
		return nil, fulfill.Errorf(fulfill.ENotFound, "the sandbox gateway is not configured")
	}
	if strings.TrimSpace(intentID) == "" || len(intentID) > 255 {
		return nil, fulfill.Errorf(fulfill.ENotFound, "no such sandbox intent")
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return a.opts.Sandbox.Confirm(ctx, intentID, req)
}

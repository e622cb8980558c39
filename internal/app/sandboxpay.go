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

// SandboxConfirm is the body of POST /sandbox/payments/{intent_id}/confirm
// (the domain's type, shared with the sandbox gateway).
type SandboxConfirm = fulfill.SandboxConfirm

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

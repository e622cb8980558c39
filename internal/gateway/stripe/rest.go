package stripe

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gwhttp"
)

// isConflict reports whether a Stripe error code means "not in a state
// that allows this" rather than "bad request".
func isConflict(code string) bool {
	switch code {
	case "payment_intent_unexpected_state", "charge_already_captured", "charge_already_refunded",
		"charge_not_refundable", "charge_disputed", "charge_expired_for_capture":
		return true
	}
	return false
}

// classify reads Stripe's {"error":{"type","code","message"}} answer.
func classify(e *gwhttp.APIError, body []byte) fulfill.ErrorCode {
	var env struct {
		Error struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &env) // a body that is not Stripe's shape falls back to the status
	e.Code = gwhttp.NonEmpty(env.Error.Code, env.Error.Type)
	e.Message = env.Error.Message
	switch {
	case env.Error.Code == "resource_missing":
		return fulfill.ENotFound
	case isConflict(env.Error.Code), env.Error.Type == "idempotency_error":
		return fulfill.EConflict
	}
	return gwhttp.ClassifyStatus(e.Status)
}

type intentResponse struct {
	ID           string `json:"id"`
	ClientSecret string `json:"client_secret"`
	Status       string `json:"status"`
}

// CreateIntent creates a PaymentIntent carrying metadata.order_id. Manual
// capture sets capture_method=manual. The request's idempotency key is sent
// as Idempotency-Key.
func (g *Gateway) CreateIntent(ctx context.Context, req fulfill.IntentRequest) (*fulfill.Intent, error) {
	mode, err := gwhttp.CheckIntentRequest(req)
	if err != nil {
		return nil, err
	}
	f := url.Values{}
	f.Set("amount", strconv.FormatInt(req.Amount.Amount, 10))
	f.Set("currency", strings.ToLower(req.Amount.Currency))
	f.Set("capture_method", string(mode))
	f.Set("metadata[order_id]", req.OrderID)
	f.Set("automatic_payment_methods[enabled]", "true")
	if req.Email != "" {
		f.Set("receipt_email", req.Email)
	}
	if req.Description != "" {
		f.Set("description", req.Description)
	}
	var out intentResponse
	if err := g.post(ctx, "/v1/payment_intents", f, req.IdempotencyKey, &out); err != nil {
		return nil, err
	}
	return &fulfill.Intent{Provider: Name, ID: out.ID, ClientSecret: out.ClientSecret, Status: out.Status}, nil
}

// Capture captures amount of an authorized PaymentIntent
// (amount_to_capture). ENotFound, EConflict when it is not requires_capture.
func (g *Gateway) Capture(ctx context.Context, intentID string, amount fulfill.Money) error {
	if err := gwhttp.CheckIntentID(intentID); err != nil {
		return err
	}
	f := url.Values{}
	if amount.Amount > 0 {
		f.Set("amount_to_capture", strconv.FormatInt(amount.Amount, 10))
	}
	return g.post(ctx, "/v1/payment_intents/"+intentID+"/capture", f, "capture-"+intentID, nil)
}

// Void cancels an uncaptured PaymentIntent. ENotFound, EConflict once it
// has succeeded.
func (g *Gateway) Void(ctx context.Context, intentID string) error {
	if err := gwhttp.CheckIntentID(intentID); err != nil {
		return err
	}
	f := url.Values{}
	f.Set("cancellation_reason", "abandoned")
	return g.post(ctx, "/v1/payment_intents/"+intentID+"/cancel", f, "cancel-"+intentID, nil)
}

// Refund refunds amount of a succeeded PaymentIntent; the free-text reason
// goes into the refund's metadata (Stripe's own reason field is an enum).
func (g *Gateway) Refund(ctx context.Context, intentID string, amount fulfill.Money, reason string) (string, error) {
	if err := gwhttp.CheckIntentID(intentID); err != nil {
		return "", err
	}
	f := url.Values{}
	f.Set("payment_intent", intentID)
	if amount.Amount > 0 {
		f.Set("amount", strconv.FormatInt(amount.Amount, 10))
	}
	if reason != "" {
		f.Set("metadata[reason]", reason)
	}
	var out struct {
		ID string `json:"id"`
	}
	// A fresh key per call: a refund has no natural identity (two equal
	// partial refunds are legitimate), the key only guards transport retries.
	key := fulfill.NewID("refund", g.clock.Now())
	if err := g.post(ctx, "/v1/refunds", f, key, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

func (g *Gateway) post(ctx context.Context, path string, form url.Values, idemKey string, out any) error {
	h := http.Header{}
	if idemKey != "" {
		h.Set("Idempotency-Key", idemKey)
	}
	return g.api.Do(ctx, gwhttp.Request{
		Method: http.MethodPost, Path: path, Body: []byte(form.Encode()),
		ContentType: "application/x-www-form-urlencoded", Header: h,
	}, out)
}

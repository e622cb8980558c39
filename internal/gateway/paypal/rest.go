package paypal

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gwhttp"
)

// classifyAPI is classify for calls made with the bearer token: a 401 means
// the cached token went bad, so it is dropped.
func (g *Gateway) classifyAPI(e *gwhttp.APIError, body []byte) fulfill.ErrorCode {
	if e.Status == http.StatusUnauthorized {
		g.dropToken()
	}
	return classify(e, body)
}

// classify reads PayPal's {"name","message","details":[{"issue"}]} answer
// (and the OAuth endpoint's {"error","error_description"}).
func classify(e *gwhttp.APIError, body []byte) fulfill.ErrorCode {
	var env struct {
		Name    string `json:"name"`
		Message string `json:"message"`
		Details []struct {
			Issue string `json:"issue"`
		} `json:"details"`
		Error     string `json:"error"`
		ErrorDesc string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &env) // another shape falls back to the status
	e.Code, e.Message = gwhttp.NonEmpty(env.Name, env.Error), gwhttp.NonEmpty(env.Message, env.ErrorDesc)
	for _, d := range env.Details {
		e.Code += "/" + d.Issue
		if isConflict(d.Issue) {
			return fulfill.EConflict
		}
	}
	if env.Name == "RESOURCE_NOT_FOUND" {
		return fulfill.ENotFound
	}
	return gwhttp.ClassifyStatus(e.Status)
}

// isConflict reports whether a PayPal issue means "the order or payment is
// not in a state that allows this".
func isConflict(issue string) bool {
	switch issue {
	case "ORDER_NOT_APPROVED", "ORDER_ALREADY_CAPTURED", "ORDER_ALREADY_AUTHORIZED", "ORDER_ALREADY_COMPLETED",
		"AUTHORIZATION_ALREADY_CAPTURED", "AUTHORIZATION_VOIDED", "AUTHORIZATION_EXPIRED", "PREVIOUSLY_VOIDED",
		"CANNOT_BE_VOIDED", "CAPTURE_FULLY_REFUNDED", "REFUND_NOT_ALLOWED", "MAX_NUMBER_OF_REFUNDS_EXCEEDED",
		"DUPLICATE_INVOICE_ID", "PAYER_ACTION_REQUIRED":
		return true
	}
	return false
}

type money struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
}

func toMoney(m fulfill.Money) money { return money{CurrencyCode: m.Currency, Value: toDecimal(m)} }

type link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

type payment struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

type order struct {
	ID            string `json:"id"`
	Intent        string `json:"intent"`
	Status        string `json:"status"`
	Links         []link `json:"links"`
	PurchaseUnits []struct {
		CustomID string `json:"custom_id"`
		Amount   money  `json:"amount"`
		Payments struct {
			Authorizations []payment `json:"authorizations"`
			Captures       []payment `json:"captures"`
		} `json:"payments"`
	} `json:"purchase_units"`
}

// find returns the first authorization or capture in one of statuses.
func (o *order) find(captures bool, statuses ...string) string {
	for _, pu := range o.PurchaseUnits {
		list := pu.Payments.Authorizations
		if captures {
			list = pu.Payments.Captures
		}
		for _, p := range list {
			for _, s := range statuses {
				if p.Status == s {
					return p.ID
				}
			}
		}
	}
	return ""
}

// CreateIntent creates a PayPal order (intent CAPTURE, or AUTHORIZE for
// manual capture) whose purchase unit carries custom_id = the order id; the
// shopper approves it at the returned ApprovalURL. The idempotency key is
// sent as PayPal-Request-Id.
func (g *Gateway) CreateIntent(ctx context.Context, req fulfill.IntentRequest) (*fulfill.Intent, error) {
	mode, err := gwhttp.CheckIntentRequest(req)
	if err != nil {
		return nil, err
	}
	intent := "CAPTURE"
	if mode == fulfill.CaptureManual {
		intent = "AUTHORIZE"
	}
	unit := map[string]any{"reference_id": "default", "custom_id": truncate(req.OrderID, 127), "amount": toMoney(req.Amount)}
	if req.Description != "" {
		unit["description"] = truncate(req.Description, 127)
	}
	body := map[string]any{"intent": intent, "purchase_units": []any{unit}}
	if g.cfg.ReturnURL != "" || g.cfg.CancelURL != "" {
		body["application_context"] = map[string]string{"return_url": g.cfg.ReturnURL, "cancel_url": g.cfg.CancelURL, "user_action": "PAY_NOW"}
	}
	var out order
	if err := g.call(ctx, http.MethodPost, "/v2/checkout/orders", body, req.IdempotencyKey, &out); err != nil {
		return nil, err
	}
	in := &fulfill.Intent{Provider: Name, ID: out.ID, Status: out.Status}
	for _, l := range out.Links {
		if l.Rel == "approve" || l.Rel == "payer-action" {
			in.ApprovalURL = l.Href
		}
	}
	if in.ApprovalURL == "" {
		return nil, fulfill.Errorf(fulfill.EUnavailable, "paypal returned no approval link")
	}
	return in, nil
}

// Complete finishes an order the shopper approved (fulfill.Completer): it
// captures an order of intent CAPTURE and authorizes one of intent
// AUTHORIZE, and PayPal then sends PAYMENT.CAPTURE.COMPLETED or
// PAYMENT.AUTHORIZATION.CREATED, which pays the Fulfill order. An order
// already completed is left alone. ENotFound; EConflict when not approved.
func (g *Gateway) Complete(ctx context.Context, intentID string) error {
	o, err := g.order(ctx, intentID)
	if err != nil {
		return err
	}
	switch {
	case o.Status == "COMPLETED":
		return nil
	case o.Status != "APPROVED":
		return fulfill.Errorf(fulfill.EConflict, "paypal order is %s, not approved", o.Status)
	case o.Intent == "CAPTURE":
		return g.call(ctx, http.MethodPost, "/v2/checkout/orders/"+o.ID+"/capture", struct{}{}, "capture-"+o.ID, nil)
	}
	return g.call(ctx, http.MethodPost, "/v2/checkout/orders/"+o.ID+"/authorize", struct{}{}, "authorize-"+o.ID, nil)
}

// Capture takes the money of an approved order: it captures a CAPTURE
// order, or authorizes an AUTHORIZE order (if not yet) and captures the
// authorization. ENotFound; EConflict when not approved or already captured.
func (g *Gateway) Capture(ctx context.Context, intentID string, amount fulfill.Money) error {
	o, err := g.order(ctx, intentID)
	if err != nil {
		return err
	}
	if o.Status != "APPROVED" && o.Status != "COMPLETED" {
		return fulfill.Errorf(fulfill.EConflict, "paypal order is %s, not approved", o.Status)
	}
	if o.Intent == "CAPTURE" {
		if o.Status == "COMPLETED" {
			return fulfill.Errorf(fulfill.EConflict, "paypal order is already captured")
		}
		return g.call(ctx, http.MethodPost, "/v2/checkout/orders/"+o.ID+"/capture", struct{}{}, "capture-"+o.ID, nil)
	}
	if o.Status == "APPROVED" {
		if err := g.call(ctx, http.MethodPost, "/v2/checkout/orders/"+o.ID+"/authorize", struct{}{}, "authorize-"+o.ID, o); err != nil {
			return err
		}
	}
	auth := o.find(false, "CREATED", "PENDING")
	if auth == "" {
		return fulfill.Errorf(fulfill.EConflict, "paypal order has no open authorization")
	}
	body := map[string]any{"final_capture": true}
	if amount.Amount > 0 {
		body["amount"] = toMoney(amount)
	}
	return g.call(ctx, http.MethodPost, "/v2/payments/authorizations/"+auth+"/capture", body, "capture-"+auth, nil)
}

// Void voids the open authorization of an AUTHORIZE order. An order with
// nothing authorized or captured holds no money (PayPal lets it expire), so
// Void succeeds. ENotFound; EConflict once captured.
func (g *Gateway) Void(ctx context.Context, intentID string) error {
	o, err := g.order(ctx, intentID)
	if err != nil {
		return err
	}
	if o.find(true, "COMPLETED", "PENDING", "PARTIALLY_REFUNDED", "REFUNDED") != "" {
		return fulfill.Errorf(fulfill.EConflict, "paypal order is already captured; refund it instead")
	}
	auth := o.find(false, "CREATED", "PENDING")
	if auth == "" {
		return nil
	}
	return g.call(ctx, http.MethodPost, "/v2/payments/authorizations/"+auth+"/void", nil, "void-"+auth, nil)
}

// Refund refunds amount of the order's completed capture; the reason goes
// to the payer and custom_id carries the order id into the refund webhook.
// ENotFound; EConflict when nothing is captured.
func (g *Gateway) Refund(ctx context.Context, intentID string, amount fulfill.Money, reason string) (string, error) {
	o, err := g.order(ctx, intentID)
	if err != nil {
		return "", err
	}
	capture := o.find(true, "COMPLETED", "PARTIALLY_REFUNDED")
	if capture == "" {
		return "", fulfill.Errorf(fulfill.EConflict, "paypal order has no completed capture")
	}
	body := map[string]any{"note_to_payer": truncate(reason, 255)}
	if len(o.PurchaseUnits) > 0 && o.PurchaseUnits[0].CustomID != "" {
		body["custom_id"] = o.PurchaseUnits[0].CustomID
	}
	if amount.Amount > 0 {
		body["amount"] = toMoney(amount)
	}
	var out payment
	// A fresh request id per call: two equal partial refunds are legitimate.
	key := fulfill.NewID("refund", g.clock.Now())
	if err := g.call(ctx, http.MethodPost, "/v2/payments/captures/"+capture+"/refund", body, key, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

func (g *Gateway) order(ctx context.Context, id string) (*order, error) {
	if err := gwhttp.CheckIntentID(id); err != nil {
		return nil, err
	}
	var o order
	if err := g.call(ctx, http.MethodGet, "/v2/checkout/orders/"+id, nil, "", &o); err != nil {
		return nil, err
	}
	return &o, nil
}

func (g *Gateway) call(ctx context.Context, method, path string, body any, requestID string, out any) error {
	req := gwhttp.Request{Method: method, Path: path, Header: http.Header{}}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fulfill.Wrap(err, "encoding the paypal request failed")
		}
		req.Body, req.ContentType = b, "application/json"
	}
	if requestID != "" {
		req.Header.Set("PayPal-Request-Id", requestID)
	}
	return g.api.Do(ctx, req, out)
}

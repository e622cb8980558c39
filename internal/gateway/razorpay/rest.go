package razorpay

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/gateway/gwhttp"
)

// classify reads Razorpay's {"error":{"code","description","reason"}}
// answer. Razorpay answers an unknown id with 400 "The id provided does not
// exist" rather than 404, so the description decides.
func classify(e *gwhttp.APIError, body []byte) fulfill.ErrorCode {
	var env struct {
		Error struct {
			Code        string `json:"code"`
			Description string `json:"description"`
			Reason      string `json:"reason"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &env) // another shape falls back to the status
	e.Code = env.Error.Code
	if env.Error.Reason != "" && env.Error.Reason != "NA" {
		e.Code += "/" + env.Error.Reason
	}
	e.Message = env.Error.Description
	d := strings.ToLower(env.Error.Description)
	switch {
	case e.Status == http.StatusBadRequest && strings.Contains(d, "does not exist"):
		return fulfill.ENotFound
	case e.Status == http.StatusBadRequest && (strings.Contains(d, "already") || strings.Contains(d, "state")):
		return fulfill.EConflict
	}
	return gwhttp.ClassifyStatus(e.Status)
}

// payment is the part of a Razorpay payment entity Fulfill reads.
type payment struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	Amount         int64  `json:"amount"`
	AmountRefunded int64  `json:"amount_refunded"`
	Currency       string `json:"currency"`
}

// CreateIntent creates a Razorpay order carrying notes.order_id and the
// capture mode. Razorpay Checkout needs the order id (with the public key
// id), so the intent's ClientSecret is the order id; it is not secret.
// Razorpay orders take no idempotency key; receipt carries Fulfill's order
// id instead.
func (g *Gateway) CreateIntent(ctx context.Context, req fulfill.IntentRequest) (*fulfill.Intent, error) {
	mode, err := gwhttp.CheckIntentRequest(req)
	if err != nil {
		return nil, err
	}
	opts := map[string]any{"refund_speed": "normal", "automatic_expiry_period": 12}
	if mode == fulfill.CaptureManual {
		opts = map[string]any{"refund_speed": "normal", "manual_expiry_period": 7200}
	}
	body := map[string]any{
		"amount": req.Amount.Amount, "currency": req.Amount.Currency, "receipt": truncate(req.OrderID, 40),
		"notes":   map[string]string{"order_id": req.OrderID},
		"payment": map[string]any{"capture": string(mode), "capture_options": opts},
	}
	var out struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := g.call(ctx, http.MethodPost, "/v1/orders", body, &out); err != nil {
		return nil, err
	}
	return &fulfill.Intent{Provider: Name, ID: out.ID, ClientSecret: out.ID, Status: out.Status}, nil
}

// Capture captures the order's authorized payment. Razorpay requires the
// amount to equal the authorized amount. ENotFound; EConflict when no
// payment is authorized.
func (g *Gateway) Capture(ctx context.Context, intentID string, amount fulfill.Money) error {
	p, err := g.paymentIn(ctx, intentID, "authorized")
	if err != nil {
		return err
	}
	if amount.Amount <= 0 {
		amount = fulfill.Money{Amount: p.Amount, Currency: p.Currency}
	}
	body := map[string]any{"amount": amount.Amount, "currency": amount.Currency}
	return g.call(ctx, http.MethodPost, "/v1/payments/"+p.ID+"/capture", body, nil)
}

// Void releases the order's authorization. Razorpay has no void call: an
// uncaptured authorization is returned to the shopper by Razorpay itself
// after the order's manual_expiry_period, so Void only checks that nothing
// was captured. ENotFound; EConflict once a payment is captured.
func (g *Gateway) Void(ctx context.Context, intentID string) error {
	ps, err := g.payments(ctx, intentID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Status == "captured" || p.Status == "refunded" {
			return fulfill.Errorf(fulfill.EConflict, "razorpay payment is already captured; refund it instead")
		}
	}
	return nil
}

// Refund refunds amount of the order's captured payment, with the reason
// in the refund's notes. ENotFound; EConflict when nothing is captured.
func (g *Gateway) Refund(ctx context.Context, intentID string, amount fulfill.Money, reason string) (string, error) {
	p, err := g.paymentIn(ctx, intentID, "captured")
	if err != nil {
		return "", err
	}
	body := map[string]any{"speed": "normal", "notes": map[string]string{"reason": truncate(reason, 255)}}
	if amount.Amount > 0 {
		body["amount"] = amount.Amount
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := g.call(ctx, http.MethodPost, "/v1/payments/"+p.ID+"/refund", body, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// paymentIn returns the order's payment in status, or EConflict.
func (g *Gateway) paymentIn(ctx context.Context, orderID, status string) (*payment, error) {
	ps, err := g.payments(ctx, orderID)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if ps[i].Status == status {
			return &ps[i], nil
		}
	}
	return nil, fulfill.Errorf(fulfill.EConflict, "razorpay order has no %s payment", status)
}

func (g *Gateway) payments(ctx context.Context, orderID string) ([]payment, error) {
	if err := gwhttp.CheckIntentID(orderID); err != nil {
		return nil, err
	}
	var out struct {
		Items []payment `json:"items"`
	}
	if err := g.call(ctx, http.MethodGet, "/v1/orders/"+orderID+"/payments", nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

func (g *Gateway) call(ctx context.Context, method, path string, body any, out any) error {
	req := gwhttp.Request{Method: method, Path: path}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fulfill.Wrap(err, "encoding the razorpay request failed")
		}
		req.Body, req.ContentType = b, "application/json"
	}
	return g.api.Do(ctx, req, out)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

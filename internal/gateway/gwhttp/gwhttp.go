// Package gwhttp is the HTTP plumbing the payment gateway adapters share:
// one place that sends a request with a timeout, reads a bounded response and
// turns every failure into a *fulfill.Error whose message is safe to show
// (no keys, no provider bodies; those stay in the cause for the logs).
package gwhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/fulfill-dev/fulfill"
)

// DefaultTimeout bounds one call to a gateway when the adapter's Config
// gives no HTTP client of its own.
const DefaultTimeout = 15 * time.Second

// maxResponse caps how much of a gateway's answer is read.
const maxResponse = 1 << 20

// HTTPClient returns c, or a client with DefaultTimeout when c is nil.
func HTTPClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: DefaultTimeout}
}

// APIError is a gateway's refusal, kept as the cause of a *fulfill.Error so
// that logs show what the provider said.
type APIError struct {
	Provider string
	Status   int
	// Code is the provider's machine-readable error code, if any.
	Code string
	// Message is the provider's human message, if any.
	Message string
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("%s: HTTP %d %s: %s", e.Provider, e.Status, e.Code, e.Message)
}

// Request is one call to a gateway.
type Request struct {
	Method string
	// Path is appended to the Client's base URL, such as /v1/refunds.
	Path        string
	Body        []byte
	ContentType string
	Header      http.Header
}

// Client calls one gateway's REST API.
type Client struct {
	// Provider names the gateway in messages.
	Provider string
	// Base is the API base URL without a trailing slash.
	Base string
	// HTTP sends the requests; its Timeout bounds each call.
	HTTP *http.Client
	// Authorize adds credentials to a request.
	Authorize func(ctx context.Context, r *http.Request) error
	// Classify turns a provider's non-2xx answer into an error code and a
	// safe message; it fills e.Code and e.Message from the body. A nil
	// Classify uses ClassifyStatus.
	Classify func(e *APIError, body []byte) fulfill.ErrorCode
}

// Do sends req and decodes a 2xx JSON answer into out (when out is not nil).
// Network failures and 5xx answers are EUnavailable; 4xx answers get the code
// Classify gives them.
func (c *Client) Do(ctx context.Context, req Request, out any) error {
	hr, err := c.newRequest(ctx, req)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return &fulfill.Error{Code: fulfill.EUnavailable, Message: c.Provider + " call was cancelled", Err: err}
		}
		return &fulfill.Error{Code: fulfill.EUnavailable, Message: c.Provider + " is unreachable", Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return &fulfill.Error{Code: fulfill.EUnavailable, Message: "reading the " + c.Provider + " response failed", Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.failure(resp.StatusCode, body)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &fulfill.Error{Code: fulfill.EUnavailable, Message: c.Provider + " answered with malformed JSON", Err: err}
	}
	return nil
}

func (c *Client) newRequest(ctx context.Context, req Request) (*http.Request, error) {
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, c.Base+req.Path, body)
	if err != nil {
		return nil, fulfill.Wrap(err, "building the "+c.Provider+" request failed")
	}
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	if req.ContentType != "" {
		hr.Header.Set("Content-Type", req.ContentType)
	}
	hr.Header.Set("Accept", "application/json")
	if c.Authorize != nil {
		if err := c.Authorize(ctx, hr); err != nil {
			return nil, err
		}
	}
	return hr, nil
}

func (c *Client) failure(status int, body []byte) error {
	ae := &APIError{Provider: c.Provider, Status: status}
	classify := c.Classify
	if classify == nil {
		classify = func(e *APIError, _ []byte) fulfill.ErrorCode { return ClassifyStatus(e.Status) }
	}
	code := classify(ae, body)
	return &fulfill.Error{Code: code, Message: SafeMessage(c.Provider, code, ae.Code), Err: ae}
}

// ClassifyStatus is the default HTTP status to code table: 404 not found,
// 409 conflict, 401/403 internal (our credentials are wrong, which is an
// operator's problem, not the caller's), 429 and 5xx unavailable, other 4xx
// invalid.
func ClassifyStatus(status int) fulfill.ErrorCode {
	switch {
	case status == http.StatusNotFound:
		return fulfill.ENotFound
	case status == http.StatusConflict:
		return fulfill.EConflict
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fulfill.EInternal
	case status == http.StatusTooManyRequests || status >= 500:
		return fulfill.EUnavailable
	case status >= 400:
		return fulfill.EInvalid
	}
	return fulfill.EUnavailable
}

// SafeMessage is the client-visible message for a gateway refusal: it names
// the provider and its error code, never the provider's free text (which can
// echo request data).
func SafeMessage(provider string, code fulfill.ErrorCode, providerCode string) string {
	var what string
	switch code {
	case fulfill.ENotFound:
		what = "does not know this payment"
	case fulfill.EConflict:
		what = "says the payment is not in a state that allows this"
	case fulfill.EInternal:
		what = "rejected the configured credentials"
	case fulfill.EUnavailable:
		what = "is unavailable"
	default:
		what = "refused the request"
	}
	if providerCode != "" {
		return fmt.Sprintf("%s %s (%s)", provider, what, providerCode)
	}
	return provider + " " + what
}

// Unauthenticated is the error for a webhook whose signature does not hold.
// why is safe to show; cause is logged.
func Unauthenticated(provider, why string, cause error) error {
	return &fulfill.Error{Code: fulfill.EUnauthenticated, Message: provider + " webhook " + why, Err: cause}
}

// Invalid is the error for a verified webhook body that is not an event.
func Invalid(provider, why string, cause error) error {
	return &fulfill.Error{Code: fulfill.EInvalid, Message: provider + " webhook " + why, Err: cause}
}

// TrimBase returns base without trailing slashes, or def when base is empty.
func TrimBase(base, def string) string {
	if base == "" {
		base = def
	}
	return strings.TrimRight(base, "/")
}

// NonEmpty returns the first non-empty string.
func NonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// CheckIntentRequest validates what every adapter needs from an intent
// request and returns its capture mode (automatic when unset).
func CheckIntentRequest(req fulfill.IntentRequest) (fulfill.CaptureMode, error) {
	if req.OrderID == "" {
		return "", fulfill.FieldErrorf(fulfill.EInvalid, "order_id", "order id is required")
	}
	if err := req.Amount.Validate("amount"); err != nil {
		return "", err
	}
	if req.Amount.Amount == 0 {
		return "", fulfill.FieldErrorf(fulfill.EInvalid, "amount.amount", "amount must be positive")
	}
	if req.Capture == "" {
		return fulfill.CaptureAutomatic, nil
	}
	if !req.Capture.Valid() {
		return "", fulfill.FieldErrorf(fulfill.EInvalid, "capture", "capture must be automatic or manual")
	}
	return req.Capture, nil
}

// CheckIntentID refuses an empty intent id or one that would change the
// request path.
func CheckIntentID(id string) error {
	if id == "" || strings.ContainsAny(id, "/?#%\\ \t\r\n") {
		return fulfill.FieldErrorf(fulfill.EInvalid, "intent_id", "intent id is malformed")
	}
	return nil
}

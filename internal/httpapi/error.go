package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[fulfill.ErrorCode]int{
	fulfill.EInvalid:         http.StatusBadRequest,
	fulfill.EUnauthenticated: http.StatusUnauthorized,
	fulfill.EForbidden:       http.StatusForbidden,
	fulfill.ENotFound:        http.StatusNotFound,
	fulfill.EConflict:        http.StatusConflict,
	fulfill.EAlreadyExists:   http.StatusConflict,
	fulfill.EInsufficient:    http.StatusConflict,
	fulfill.ETooLarge:        http.StatusRequestEntityTooLarge,
	fulfill.EUnprocessable:   http.StatusUnprocessableEntity,
	fulfill.ERateLimited:     http.StatusTooManyRequests,
	fulfill.EUnavailable:     http.StatusServiceUnavailable,
	fulfill.EInternal:        http.StatusInternalServerError,
	// Codes of the idempotency and webhook layers (internal/app).
	app.EIdempotencyKeyReused: http.StatusUnprocessableEntity,
	app.EInvalidSignature:     http.StatusBadRequest,
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

// errorDetail is the inside of errorBody.
type errorDetail struct {
	Code    fulfill.ErrorCode `json:"code"`
	Message string            `json:"message"`
	Field   string            `json:"field,omitempty"`
}

// toPublic turns any error into what a client may see. A body over the
// limit is too_large wherever it was noticed; anything that is not a
// *fulfill.Error with a known code, and every internal error, becomes a bare
// "internal error".
func toPublic(err error) (int, errorDetail) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, errorDetail{Code: fulfill.ETooLarge,
			Message: "request body is larger than the limit"}
	}
	var fe *fulfill.Error
	if errors.As(err, &fe) {
		if status, ok := statusOf[fe.Code]; ok && fe.Code != fulfill.EInternal {
			return status, errorDetail{Code: fe.Code, Message: fe.Message, Field: fe.Field}
		}
	}
	return http.StatusInternalServerError, errorDetail{Code: fulfill.EInternal, Message: "internal error"}
}

// fail answers err as JSON; internal errors are logged with their cause.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, d := toPublic(err)
	if status >= 500 {
		level := slog.LevelError
		if errors.Is(err, context.Canceled) {
			level = slog.LevelWarn // the client went away
		}
		s.log.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", requestID(r.Context()), "err", err)
	}
	if d.Code == fulfill.EUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fulfill"`)
	}
	s.writeJSON(w, r, status, errorBody{Error: d})
}

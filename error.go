package fulfill

import (
	"errors"
	"fmt"
)

// ErrorCode is a machine-readable error class. The HTTP layer maps each code
// to one status in one table (internal/httpapi/error.go).
type ErrorCode string

// Error codes used across the domain, the stores and the API.
const (
	EInvalid         ErrorCode = "invalid"            // bad input: 400
	EUnauthenticated ErrorCode = "unauthenticated"    // missing or wrong key: 401
	EForbidden       ErrorCode = "forbidden"          // role lacks the right: 403
	ENotFound        ErrorCode = "not_found"          // no such thing: 404
	EConflict        ErrorCode = "conflict"           // state does not allow it: 409
	EAlreadyExists   ErrorCode = "already_exists"     // unique key taken: 409
	EInsufficient    ErrorCode = "insufficient_stock" // a guarded stock change would go negative: 409
	ETooLarge        ErrorCode = "too_large"          // body over the limit: 413
	EUnprocessable   ErrorCode = "unprocessable"      // well-formed but refused: 422
	ERateLimited     ErrorCode = "rate_limited"       // 429
	EUnavailable     ErrorCode = "unavailable"        // dependency down: 503
	EInternal        ErrorCode = "internal"           // anything else: 500
)

// Error is the one error type of Fulfill. Message is safe to show to a
// client; Err (the cause) is logged, never sent.
type Error struct {
	Code    ErrorCode
	Message string
	Field   string
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf builds an *Error about one input field.
func FieldErrorf(code ErrorCode, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an EInternal error with message msg around err. Wrap(nil, …)
// returns nil, so a nil error is never turned into a failure.
func Wrap(err error, msg string) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return err
	}
	return &Error{Code: EInternal, Message: msg, Err: err}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, or
// EInternal for any other non-nil error, or "" for nil.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return EInternal
}

// IsCode reports whether err carries code.
func IsCode(err error, code ErrorCode) bool { return ErrorCodeOf(err) == code }

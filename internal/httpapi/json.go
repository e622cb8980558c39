package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/fulfill-dev/fulfill"
)

// decode reads one JSON value from the body into dst: unknown fields,
// trailing data and bodies over the limit are refused.
func (s *server) decode(w http.ResponseWriter, r *http.Request, dst any) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return fulfill.Errorf(fulfill.EInvalid, "request body must hold exactly one JSON value")
	default:
		return decodeError(err)
	}
}

// decodeError turns a decoding error into an *fulfill.Error that names the
// field at fault when there is one.
func decodeError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return &fulfill.Error{Code: fulfill.ETooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", mbe.Limit), Err: err}
	case errors.Is(err, io.EOF):
		return fulfill.Errorf(fulfill.EInvalid, "request body is empty; it must be a JSON object")
	case errors.As(err, &se):
		return fulfill.Errorf(fulfill.EInvalid, "request body is not valid JSON (at byte %d)", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fulfill.Errorf(fulfill.EInvalid, "request body is not valid JSON (it ends too early)")
	case errors.As(err, &te):
		if te.Field == "" {
			return fulfill.Errorf(fulfill.EInvalid, "request body must be a JSON object, not %s", te.Value)
		}
		return fulfill.FieldErrorf(fulfill.EInvalid, te.Field, "%s must be %s, not %s", te.Field, jsonType(te.Type.Kind().String()), te.Value)
	}
	// encoding/json has no type for this one; its message is stable.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return fulfill.FieldErrorf(fulfill.EInvalid, name, "unknown field %q", name)
	}
	return fulfill.Errorf(fulfill.EInvalid, "request body is not valid JSON")
}

// jsonType names a Go kind in JSON words.
func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice", kind == "array":
		return "an array"
	}
	return "an object"
}

// writeJSON answers v with status.
func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		s.log.WarnContext(r.Context(), "write response", "err", err)
	}
}

// list is the envelope of every list answer.
type list[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

// writeList answers one page of a list.
func writeList[T any](s *server, w http.ResponseWriter, r *http.Request, rows []T, next string) {
	if rows == nil {
		rows = []T{}
	}
	s.writeJSON(w, r, http.StatusOK, list[T]{Data: rows, NextCursor: next})
}

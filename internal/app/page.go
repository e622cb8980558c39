package app

import (
	"encoding/base64"
	"strconv"

	"github.com/fulfill-dev/fulfill"
)

// Page limits of every list.
const (
	// DefaultLimit is the page size when none is asked for.
	DefaultLimit = 100
	// MaxLimit is the largest page size; it is also the store's cap.
	MaxLimit = 1000
)

// ListParams asks for one page of a list: Cursor is the next_cursor of the
// previous page ("" for the first), Limit the page size (0 means
// DefaultLimit).
type ListParams struct {
	Cursor string
	Limit  int
	// Active filters products and warehouses when set.
	Active *bool
}

// limit returns the effective page size, or EInvalid.
func (p ListParams) limit() (int, error) {
	switch {
	case p.Limit == 0:
		return DefaultLimit, nil
	case p.Limit < 0 || p.Limit > MaxLimit:
		return 0, fulfill.FieldErrorf(fulfill.EInvalid, "limit", "limit must be between 1 and %d", MaxLimit)
	}
	return p.Limit, nil
}

// storePage turns p into the store's page, asking for one row more than the
// limit so that the caller can tell whether another page follows.
func (p ListParams) storePage() (fulfill.Page, int, error) {
	n, err := p.limit()
	if err != nil {
		return fulfill.Page{}, 0, err
	}
	after, err := decodeCursor(p.Cursor)
	if err != nil {
		return fulfill.Page{}, 0, err
	}
	return fulfill.Page{After: after, Limit: n + 1}, n, nil
}

// encodeCursor makes a key opaque.
func encodeCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// decodeCursor reverses encodeCursor; EInvalid for anything else.
func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 {
		return "", fulfill.FieldErrorf(fulfill.EInvalid, "cursor", "cursor is not one this server returned")
	}
	return string(b), nil
}

// decodeIDCursor decodes a cursor that holds a numeric id.
func decodeIDCursor(c string) (int64, error) {
	s, err := decodeCursor(c)
	if err != nil || s == "" {
		return 0, err
	}
	id, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil || id < 0 {
		return 0, fulfill.FieldErrorf(fulfill.EInvalid, "cursor", "cursor is not one this server returned")
	}
	return id, nil
}

// trim cuts rows fetched with limit+1 down to limit and returns the cursor
// of the next page ("" at the end). The store caps pages at MaxLimit, so a
// full page of MaxLimit rows may be the last one; its cursor then leads to
// an empty page, which is harmless.
func trim[T any](rows []T, limit int, key func(T) string) ([]T, string) {
	if len(rows) > limit || (len(rows) == limit && limit >= MaxLimit) {
		rows = rows[:limit]
		return rows, encodeCursor(key(rows[limit-1]))
	}
	if rows == nil {
		rows = []T{}
	}
	return rows, ""
}

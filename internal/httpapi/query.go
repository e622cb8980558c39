package httpapi

import (
	"net/http"
	"strconv"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

// listParams reads ?cursor=, ?limit= and ?active= of a list request.
func listParams(r *http.Request) (app.ListParams, error) {
	q := r.URL.Query()
	lp := app.ListParams{Cursor: q.Get("cursor")}
	var err error
	if lp.Limit, err = queryLimit(r); err != nil {
		return lp, err
	}
	if s := q.Get("active"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return lp, fulfill.FieldErrorf(fulfill.EInvalid, "active", "active must be true or false")
		}
		lp.Active = &b
	}
	return lp, nil
}

// queryLimit reads ?limit= (0 when absent).
func queryLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > app.MaxLimit {
		return 0, fulfill.FieldErrorf(fulfill.EInvalid, "limit", "limit must be a whole number between 1 and %d", app.MaxLimit)
	}
	return n, nil
}

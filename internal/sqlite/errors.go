package sqlite

import (
	"database/sql"
	"errors"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/fulfill-dev/fulfill"
)

// mapErr turns a driver error into a domain *fulfill.Error: a unique or
// primary-key violation is EAlreadyExists (Field names the column), a
// foreign-key violation ENotFound, a busy or locked database EUnavailable,
// no rows ENotFound, anything else EInternal. what names the thing in the
// message. An error that is already a *fulfill.Error passes unchanged.
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var fe *fulfill.Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &fulfill.Error{Code: fulfill.ENotFound, Message: what + " not found", Err: err}
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return fulfill.Wrap(err, what)
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		col := failedColumn(se.Error())
		return &fulfill.Error{Code: fulfill.EAlreadyExists, Field: col, Message: what + " already exists (" + col + " is taken)", Err: err}
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return &fulfill.Error{Code: fulfill.ENotFound, Message: what + " refers to something that does not exist", Err: err}
	}
	switch se.Code() & 0xff { // primary code of an extended one
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return &fulfill.Error{Code: fulfill.EUnavailable, Message: "database is busy, try again", Err: err}
	case sqlite3.SQLITE_READONLY:
		return &fulfill.Error{Code: fulfill.EInternal, Message: what + ": write in a read-only transaction", Err: err}
	}
	return fulfill.Wrap(err, what)
}

// isCode reports whether err is a SQLite error with the extended code.
func isCode(err error, code int) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

// failedColumn extracts the last column of SQLite's "UNIQUE constraint
// failed: products.barcode" message ("" when absent).
func failedColumn(msg string) string {
	const marker = "constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return ""
	}
	cols, _, _ := strings.Cut(msg[i+len(marker):], " (")
	parts := strings.Split(cols, ",")
	last := strings.TrimSpace(parts[len(parts)-1])
	if i := strings.LastIndexByte(last, '.'); i >= 0 {
		last = last[i+1:]
	}
	return last
}

// timeFormat stores times as fixed-width UTC text, so text order is time
// order and nanoseconds survive.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// orNow returns t, or the current time when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now().UTC()
	}
	return t.UTC()
}

// timeCol scans a stored time into *t.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(v any) error {
	s, ok := v.(string)
	if !ok {
		return errors.New("stored time is not text")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*c.t = t.UTC()
	return nil
}

// nullTimeCol scans a nullable stored time into *t (nil for NULL).
type nullTimeCol struct{ t **time.Time }

// Scan implements sql.Scanner.
func (c nullTimeCol) Scan(v any) error {
	if v == nil {
		*c.t = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(v); err != nil {
		return err
	}
	*c.t = &t
	return nil
}

// limit applies the Page rules: 0 (or less) means 100, at most 1000.
func limit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

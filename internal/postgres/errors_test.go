package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fulfill-dev/fulfill"
)

func TestMapErr(t *testing.T) {
	t.Parallel()
	domain := fulfill.FieldErrorf(fulfill.EInvalid, "sku", "bad")
	cases := []struct {
		name  string
		err   error
		code  fulfill.ErrorCode
		field string
	}{
		{"nil", nil, "", ""},
		{"domain error kept", domain, fulfill.EInvalid, "sku"},
		{"no rows", pgx.ErrNoRows, fulfill.ENotFound, ""},
		{"barcode taken", &pgconn.PgError{Code: "23505", ConstraintName: "products_barcode_key"}, fulfill.EAlreadyExists, "barcode"},
		{"unknown unique", &pgconn.PgError{Code: "23505", ConstraintName: "other"}, fulfill.EAlreadyExists, ""},
		{"foreign key", &pgconn.PgError{Code: "23503"}, fulfill.ENotFound, ""},
		{"stock guard", &pgconn.PgError{Code: "23514", ConstraintName: "bin_stock_guard"}, fulfill.EInsufficient, ""},
		{"other check", &pgconn.PgError{Code: "23514", ConstraintName: "products_price_amount_check"}, fulfill.EInvalid, ""},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, fulfill.EConflict, ""},
		{"connection lost", &pgconn.PgError{Code: "08006"}, fulfill.EUnavailable, ""},
		{"shutting down", &pgconn.PgError{Code: "57P01"}, fulfill.EUnavailable, ""},
		{"wrapped", fmt.Errorf("ctx: %w", &pgconn.PgError{Code: "23505"}), fulfill.EAlreadyExists, ""},
		{"syntax", &pgconn.PgError{Code: "42601"}, fulfill.EInternal, ""},
		{"plain", errors.New("boom"), fulfill.EInternal, ""},
	}
	for _, c := range cases {
		err := mapErr(c.err, "doing it")
		if got := fulfill.ErrorCodeOf(err); got != c.code {
			t.Errorf("%s: code = %q, want %q (%v)", c.name, got, c.code, err)
		}
		var fe *fulfill.Error
		if errors.As(err, &fe) && fe.Field != c.field {
			t.Errorf("%s: field = %q, want %q", c.name, fe.Field, c.field)
		}
		if c.err != nil && c.code != fulfill.EInvalid && !errors.Is(err, c.err) {
			t.Errorf("%s: the cause is lost: %v", c.name, err)
		}
	}
}

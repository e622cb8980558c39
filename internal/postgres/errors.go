package postgres

import (
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fulfill-dev/fulfill"
)

// uniqueField names the input field behind a unique constraint and what
// already exists, for already_exists errors.
func uniqueField(constraint string) (field, msg string) {
	switch constraint {
	case "products_pkey":
		return "sku", "a product with this SKU already exists"
	case "products_barcode_key":
		return "barcode", "another product already has this barcode"
	case "warehouses_pkey":
		return "code", "a warehouse with this code already exists"
	case "bins_pkey":
		return "code", "a bin with this code already exists in the warehouse"
	case "api_keys_pkey":
		return "id", "an API key with this id already exists"
	case "api_keys_hash_key":
		return "", "an API key with this secret already exists"
	}
	return "", "already exists"
}

// mapErr is the one place where pgx and PostgreSQL errors become domain
// codes. msg says what was being done; the driver error stays as the cause.
func mapErr(err error, msg string) error {
	if err == nil {
		return nil
	}
	var fe *fulfill.Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &fulfill.Error{Code: fulfill.ENotFound, Message: msg + ": not found", Err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return mapPgError(pe, err, msg)
	}
	if isConnError(err) {
		return &fulfill.Error{Code: fulfill.EUnavailable, Message: "database is unavailable", Err: err}
	}
	return fulfill.Wrap(err, msg)
}

func mapPgError(pe *pgconn.PgError, err error, msg string) error {
	e := &fulfill.Error{Code: fulfill.EInternal, Message: msg, Err: err}
	switch {
	case pe.Code == "23505": // unique_violation
		e.Code = fulfill.EAlreadyExists
		e.Field, e.Message = uniqueField(pe.ConstraintName)
	case pe.Code == "23503": // foreign_key_violation
		e.Code, e.Message = fulfill.ENotFound, msg+": a referenced record does not exist"
	case pe.Code == "23514": // check_violation
		e.Code, e.Message = fulfill.EInvalid, msg+": a value is out of range"
		if pe.ConstraintName == "bin_stock_guard" {
			e.Code, e.Message = fulfill.EInsufficient, "not enough stock"
		}
	case pe.Code == "40001" || pe.Code == "40P01": // serialization failure, deadlock
		e.Code, e.Message = fulfill.EConflict, "a concurrent change got in the way; retry"
	case pe.Code == "57014": // query_canceled (statement timeout, cancelled context)
		e.Code, e.Message = fulfill.EUnavailable, "database query was cancelled"
	// Connection exceptions, too many connections, shutdown, cannot connect now.
	case strings.HasPrefix(pe.Code, "08"), pe.Code == "53300",
		pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03":
		e.Code, e.Message = fulfill.EUnavailable, "database is unavailable"
	}
	return e
}

// isConnError reports whether err means the database could not be reached
// (as opposed to a statement that failed).
func isConnError(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return pgconn.SafeToRetry(err)
}

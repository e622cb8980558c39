package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulfill-dev/fulfill/internal/postgres"
)

// openPostgres opens a store on a fresh schema of FULFILL_TEST_POSTGRES_URL.
func openPostgres(t testing.TB) (*postgres.Store, error) {
	return postgres.Open(t.Context(), postgres.Config{URL: os.Getenv(pgURLEnv), Schema: pgSchema(t), MaxConns: 8, Logger: quiet()})
}

// pgSchema names a fresh schema and drops it after the test.
func pgSchema(t testing.TB) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "fulfill_http_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, os.Getenv(pgURLEnv))
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	return schema
}

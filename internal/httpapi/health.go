package httpapi

import (
	"context"
	_ "embed"
	"net/http"
	"time"
)

//go:embed openapi.yaml
var openAPIDoc []byte

// index answers GET / with the name, version and where to go next.
func (s *server) index(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, map[string]any{
		"name":    "fulfill",
		"version": s.version,
		"links": map[string]string{
			"health": "/healthz", "ready": "/readyz", "metrics": "/metrics",
			"openapi": "/openapi.yaml", "products": "/v1/products", "warehouses": "/v1/warehouses",
		},
	})
}

// healthz says the process answers.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz checks the database and the queue; 503 names what failed.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "queue": "ok"}
	status, overall := http.StatusOK, "ok"
	if err := s.store.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "readyz: database", "err", err)
		checks["database"], status, overall = "failed", http.StatusServiceUnavailable, "unavailable"
	}
	if _, err := s.store.Jobs().Stats(ctx); err != nil {
		s.log.WarnContext(ctx, "readyz: queue", "err", err)
		checks["queue"], status, overall = "failed", http.StatusServiceUnavailable, "unavailable"
	}
	s.writeJSON(w, r, status, map[string]any{"status": overall, "checks": checks})
}

// openAPI serves the OpenAPI document.
func (s *server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	_, _ = w.Write(openAPIDoc)
}

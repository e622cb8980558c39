package httpapi

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

// importCSV answers POST /v1/imports/{kind} (body text/csv) with the
// import report.
func (s *server) importCSV(w http.ResponseWriter, r *http.Request) {
	kind := app.ImportKind(chi.URLParam(r, "kind"))
	if !kind.Valid() {
		s.fail(w, r, fulfill.FieldErrorf(fulfill.EInvalid, "kind", "unknown import kind %q: use warehouses, bins, products or stock", kind))
		return
	}
	body := http.MaxBytesReader(w, r.Body, maxImportBytes)
	rep, err := s.app.Import(r.Context(), kind, body, actor(r), nil)
	s.answer(w, r, rep, err)
}

// listJobs answers GET /v1/jobs.
func (s *server) listJobs(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	jobs, next, err := s.store.Jobs().List(r.Context(), fulfill.JobFilter{
		State: fulfill.JobState(q.Get("state")), Kind: q.Get("kind"), Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeList(s, w, r, jobs, next)
}

// jobID reads the {id} of a job route.
func jobID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fulfill.FieldErrorf(fulfill.EInvalid, "id", "job id must be a positive whole number")
	}
	return id, nil
}

// getJob answers GET /v1/jobs/{id}.
func (s *server) getJob(w http.ResponseWriter, r *http.Request) {
	id, err := jobID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j, err := s.store.Jobs().Get(r.Context(), id)
	s.answer(w, r, j, err)
}

// retryJob answers POST /v1/jobs/{id}/retry.
func (s *server) retryJob(w http.ResponseWriter, r *http.Request) {
	id, err := jobID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j, err := s.store.Jobs().Retry(r.Context(), id)
	if err == nil {
		s.log.InfoContext(r.Context(), "audit", "actor", actor(r), "action", "job.retry", "job", id)
	}
	s.answer(w, r, j, err)
}

// listKeys answers GET /v1/keys.
func (s *server) listKeys(w http.ResponseWriter, r *http.Request) {
	lp, err := listParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, next, err := s.app.ListAPIKeys(r.Context(), lp)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeList(s, w, r, rows, next)
}

// keyInput is the body of POST /v1/keys.
type keyInput struct {
	Role fulfill.Role `json:"role"`
	Name string       `json:"name"`
}

// createdKey is a new key with its secret, shown this once.
type createdKey struct {
	*fulfill.APIKey
	Secret string `json:"secret"`
}

// createKey answers POST /v1/keys.
func (s *server) createKey(w http.ResponseWriter, r *http.Request) {
	var in keyInput
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	secret, k, err := s.app.CreateAPIKeyAs(r.Context(), actor(r), in.Role, in.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, createdKey{APIKey: k, Secret: secret})
}

// revokeKey answers DELETE /v1/keys/{id} with 204.
func (s *server) revokeKey(w http.ResponseWriter, r *http.Request) {
	if err := s.app.RevokeAPIKey(r.Context(), actor(r), chi.URLParam(r, "id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/fulfill-dev/fulfill"
)

// routes is the whole HTTP surface in one place. Reads of the catalog and
// stock are open to admin, merchant and device keys; every write, import,
// job and key route is admin-only. The OpenAPI document (openapi.yaml)
// describes the same /v1 routes; a test keeps the two in step.
func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.observe)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	r.Get("/", s.index)
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Get("/metrics", s.serveMetrics)
	r.Get("/openapi.yaml", s.openAPI)

	r.Group(func(r chi.Router) {
		r.Use(s.authenticate)
		read := r.With(s.allow(readers))
		admin := r.With(s.allow(adminOnly))

		read.Get("/v1/products", s.listProducts)
		admin.Post("/v1/products", s.createProduct)
		read.Get("/v1/products/{sku}", s.getProduct)
		admin.Patch("/v1/products/{sku}", s.updateProduct)
		admin.Delete("/v1/products/{sku}", s.deactivateProduct)

		read.Get("/v1/warehouses", s.listWarehouses)
		admin.Post("/v1/warehouses", s.createWarehouse)
		read.Get("/v1/warehouses/{code}", s.getWarehouse)
		admin.Patch("/v1/warehouses/{code}", s.updateWarehouse)
		admin.Delete("/v1/warehouses/{code}", s.deactivateWarehouse)

		read.Get("/v1/warehouses/{code}/bins", s.listBins)
		admin.Post("/v1/warehouses/{code}/bins", s.createBin)
		read.Get("/v1/warehouses/{code}/bins/{bin}", s.getBin)
		admin.Patch("/v1/warehouses/{code}/bins/{bin}", s.updateBin)
		admin.Delete("/v1/warehouses/{code}/bins/{bin}", s.deactivateBin)

		admin.Post("/v1/stock/receipts", s.receiveStock)
		admin.Post("/v1/stock/adjustments", s.adjustStock)
		read.Get("/v1/stock", s.stockLevels)
		read.Get("/v1/stock/bins", s.binStocks)
		read.Get("/v1/stock/ledger", s.ledger)

		admin.Post("/v1/imports/{kind}", s.importCSV)

		admin.Get("/v1/jobs", s.listJobs)
		admin.Get("/v1/jobs/{id}", s.getJob)
		admin.Post("/v1/jobs/{id}/retry", s.retryJob)

		admin.Get("/v1/keys", s.listKeys)
		admin.Post("/v1/keys", s.createKey)
		admin.Delete("/v1/keys/{id}", s.revokeKey)
	})
	return r
}

// notFound answers a path no route serves.
func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, fulfill.Errorf(fulfill.ENotFound, "no route for %s; see /openapi.yaml", r.URL.Path))
}

// methodNotAllowed answers a known path with a method it does not serve.
// The error model has no code for it, so it is 405 with code "invalid".
func (s *server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
		Code: fulfill.EInvalid, Message: "method " + r.Method + " is not allowed on " + r.URL.Path,
	}})
}

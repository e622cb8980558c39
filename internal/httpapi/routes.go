package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/fulfill-dev/fulfill"
)

// routes is the whole HTTP surface in one place. Reads of the catalog and
// stock are open to admin, merchant and device keys; checkout and orders to
// admin and merchant keys; every other write, import, job, webhook-inbox
// and key route is admin-only. Every mutating /v1 call honours an
// Idempotency-Key (idempotency.go). Gateways' webhooks and the sandbox's
// payment page carry no API key. The OpenAPI document (openapi.yaml)
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

	// Gateways authenticate by signature, the sandbox's page by nothing.
	r.Post("/webhooks/{provider}", s.receiveWebhook)
	r.Post("/sandbox/payments/{intent_id}/confirm", s.confirmSandbox)

	// Checkout: rate limited per client IP before the key is even checked,
	// then per key; an Idempotency-Key is required.
	r.Group(func(r chi.Router) {
		r.Use(s.countCheckout, orPass(s.limitIP), s.authenticate, s.allow(merchants), orPass(s.limitKey),
			s.requireIdempotencyKey, s.idempotent)
		r.Post("/v1/checkout", s.checkout)
	})

	r.Group(func(r chi.Router) {
		r.Use(s.authenticate, s.idempotent)
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

		shop := r.With(s.allow(merchants))
		shop.Get("/v1/orders", s.listOrders)
		shop.Get("/v1/orders/{id}", s.getOrder)
		shop.Post("/v1/orders/{id}/cancel", s.cancelOrder)

		admin.Get("/v1/webhooks/events", s.listWebhookEvents)
		admin.Get("/v1/webhooks/events/{id}", s.getWebhookEvent)
		admin.Post("/v1/webhooks/events/{id}/replay", s.replayWebhookEvent)

		admin.Get("/v1/keys", s.listKeys)
		admin.Post("/v1/keys", s.createKey)
		admin.Delete("/v1/keys/{id}", s.revokeKey)
	})
	return r
}

// orPass returns mw, or a middleware that does nothing when mw is nil.
func orPass(mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	if mw == nil {
		return passThrough
	}
	return mw
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

package httpapi

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/fulfill-dev/fulfill/internal/app"
)

// listProducts answers GET /v1/products.
func (s *server) listProducts(w http.ResponseWriter, r *http.Request) {
	lp, err := listParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, next, err := s.app.ListProducts(r.Context(), lp)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeList(s, w, r, rows, next)
}

// createProduct answers POST /v1/products.
func (s *server) createProduct(w http.ResponseWriter, r *http.Request) {
	var in app.ProductInput
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.app.CreateProduct(r.Context(), actor(r), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/products/"+url.PathEscape(p.SKU))
	s.writeJSON(w, r, http.StatusCreated, p)
}

// getProduct answers GET /v1/products/{sku}.
func (s *server) getProduct(w http.ResponseWriter, r *http.Request) {
	p, err := s.app.GetProduct(r.Context(), chi.URLParam(r, "sku"))
	s.answer(w, r, p, err)
}

// updateProduct answers PATCH /v1/products/{sku}.
func (s *server) updateProduct(w http.ResponseWriter, r *http.Request) {
	var patch app.ProductPatch
	if err := s.decode(w, r, &patch); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.app.UpdateProduct(r.Context(), actor(r), chi.URLParam(r, "sku"), patch)
	s.answer(w, r, p, err)
}

// deactivateProduct answers DELETE /v1/products/{sku}.
func (s *server) deactivateProduct(w http.ResponseWriter, r *http.Request) {
	p, err := s.app.DeactivateProduct(r.Context(), actor(r), chi.URLParam(r, "sku"))
	s.answer(w, r, p, err)
}

// listWarehouses answers GET /v1/warehouses.
func (s *server) listWarehouses(w http.ResponseWriter, r *http.Request) {
	lp, err := listParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, next, err := s.app.ListWarehouses(r.Context(), lp)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeList(s, w, r, rows, next)
}

// createWarehouse answers POST /v1/warehouses.
func (s *server) createWarehouse(w http.ResponseWriter, r *http.Request) {
	var in app.WarehouseInput
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	wh, err := s.app.CreateWarehouse(r.Context(), actor(r), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/warehouses/"+url.PathEscape(wh.Code))
	s.writeJSON(w, r, http.StatusCreated, wh)
}

// getWarehouse answers GET /v1/warehouses/{code}.
func (s *server) getWarehouse(w http.ResponseWriter, r *http.Request) {
	wh, err := s.app.GetWarehouse(r.Context(), chi.URLParam(r, "code"))
	s.answer(w, r, wh, err)
}

// updateWarehouse answers PATCH /v1/warehouses/{code}.
func (s *server) updateWarehouse(w http.ResponseWriter, r *http.Request) {
	var patch app.WarehousePatch
	if err := s.decode(w, r, &patch); err != nil {
		s.fail(w, r, err)
		return
	}
	wh, err := s.app.UpdateWarehouse(r.Context(), actor(r), chi.URLParam(r, "code"), patch)
	s.answer(w, r, wh, err)
}

// deactivateWarehouse answers DELETE /v1/warehouses/{code}.
func (s *server) deactivateWarehouse(w http.ResponseWriter, r *http.Request) {
	wh, err := s.app.DeactivateWarehouse(r.Context(), actor(r), chi.URLParam(r, "code"))
	s.answer(w, r, wh, err)
}

// listBins answers GET /v1/warehouses/{code}/bins.
func (s *server) listBins(w http.ResponseWriter, r *http.Request) {
	lp, err := listParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, next, err := s.app.ListBins(r.Context(), chi.URLParam(r, "code"), lp)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeList(s, w, r, rows, next)
}

// createBin answers POST /v1/warehouses/{code}/bins.
func (s *server) createBin(w http.ResponseWriter, r *http.Request) {
	var in app.BinInput
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.app.CreateBin(r.Context(), actor(r), chi.URLParam(r, "code"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/warehouses/"+url.PathEscape(b.Warehouse)+"/bins/"+url.PathEscape(b.Code))
	s.writeJSON(w, r, http.StatusCreated, b)
}

// getBin answers GET /v1/warehouses/{code}/bins/{bin}.
func (s *server) getBin(w http.ResponseWriter, r *http.Request) {
	b, err := s.app.GetBin(r.Context(), chi.URLParam(r, "code"), chi.URLParam(r, "bin"))
	s.answer(w, r, b, err)
}

// updateBin answers PATCH /v1/warehouses/{code}/bins/{bin}.
func (s *server) updateBin(w http.ResponseWriter, r *http.Request) {
	var patch app.BinPatch
	if err := s.decode(w, r, &patch); err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.app.UpdateBin(r.Context(), actor(r), chi.URLParam(r, "code"), chi.URLParam(r, "bin"), patch)
	s.answer(w, r, b, err)
}

// deactivateBin answers DELETE /v1/warehouses/{code}/bins/{bin}.
func (s *server) deactivateBin(w http.ResponseWriter, r *http.Request) {
	b, err := s.app.DeactivateBin(r.Context(), actor(r), chi.URLParam(r, "code"), chi.URLParam(r, "bin"))
	s.answer(w, r, b, err)
}

// answer writes v with 200, or err.
func (s *server) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, v)
}

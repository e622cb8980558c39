package httpapi

import (
	"net/http"

	"github.com/fulfill-dev/fulfill"
	"github.com/fulfill-dev/fulfill/internal/app"
)

// receiveStock answers POST /v1/stock/receipts with the ledger row.
func (s *server) receiveStock(w http.ResponseWriter, r *http.Request) {
	var in app.Receipt
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.app.ReceiveStock(r.Context(), actor(r), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, e)
}

// adjustStock answers POST /v1/stock/adjustments with the ledger row.
func (s *server) adjustStock(w http.ResponseWriter, r *http.Request) {
	var in app.Adjustment
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.app.AdjustStock(r.Context(), actor(r), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusCreated, e)
}

// stockFilter reads ?sku= and ?warehouse=.
func stockFilter(r *http.Request) fulfill.StockFilter {
	q := r.URL.Query()
	return fulfill.StockFilter{SKU: q.Get("sku"), Warehouse: q.Get("warehouse")}
}

// stockLevels answers GET /v1/stock: stock per SKU and warehouse.
func (s *server) stockLevels(w http.ResponseWriter, r *http.Request) {
	rows, err := s.app.StockLevels(r.Context(), stockFilter(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeList(s, w, r, rows, "")
}

// binStocks answers GET /v1/stock/bins: stock per SKU and bin.
func (s *server) binStocks(w http.ResponseWriter, r *http.Request) {
	rows, err := s.app.BinStocks(r.Context(), stockFilter(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeList(s, w, r, rows, "")
}

// ledger answers GET /v1/stock/ledger, one page in id order.
func (s *server) ledger(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := stockFilter(r)
	rows, next, err := s.app.Ledger(r.Context(), app.LedgerParams{
		SKU: f.SKU, Warehouse: f.Warehouse, Cursor: r.URL.Query().Get("cursor"), Limit: limit,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeList(s, w, r, rows, next)
}

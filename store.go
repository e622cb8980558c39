package fulfill

import (
	"context"
	"time"
)

// Store is the storage contract: SQLite (embedded) and PostgreSQL implement
// it, and internal/storetest is the conformance suite both pass. Every
// method that returns an error returns an *Error with a domain code for the
// cases its doc names, and EInternal otherwise.
type Store interface {
	// Update runs fn in one read-write transaction and commits when fn
	// returns nil; any error rolls everything back, including jobs enqueued
	// with Tx.Enqueue.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction. Writes through the Tx fail.
	View(ctx context.Context, fn func(Tx) error) error
	// Jobs is the job queue that shares this store's database.
	Jobs() JobQueue
	// Ping checks that the database answers. EUnavailable.
	Ping(ctx context.Context) error
	// Engine names the engine: "sqlite" or "postgres".
	Engine() string
	// Close releases the database; stop the queue first.
	Close() error
}

// SharedUpdater is a Store that can commit several small transactions of
// concurrent callers together (SQLite's group commit: one writer, whose
// cost is mostly per commit). UpdateShared has Update's contract with two
// differences: fn runs in a savepoint of a transaction other callers'
// functions share, so its error undoes only its own writes; and once fn
// has started, ctx's cancellation no longer interrupts its statements
// (it would roll back the others' work too). fn must be short.
type SharedUpdater interface {
	UpdateShared(ctx context.Context, fn func(Tx) error) error
}

// UpdateShared runs fn through st's UpdateShared when st has one, else
// through Update.
func UpdateShared(ctx context.Context, st Store, fn func(Tx) error) error {
	if su, ok := st.(SharedUpdater); ok {
		return su.UpdateShared(ctx, fn)
	}
	return st.Update(ctx, fn)
}

// LazyUpdater is a Store whose commits can skip waiting for the disk.
// UpdateLazy has Update's contract except durability: it returns once the
// transaction is committed and visible, before its log record is known to
// be on disk, so a crash may lose it, but never a later durable commit
// (the log is flushed in order: a durable commit makes everything before
// it durable). For writes worth no disk wait of their own, whose loss
// costs nothing because a later durable commit depends on them or a retry
// redoes them: an Idempotency-Key's claim is one.
type LazyUpdater interface {
	UpdateLazy(ctx context.Context, fn func(Tx) error) error
}

// UpdateLazy runs fn through st's UpdateLazy when st has one, else through
// UpdateShared.
func UpdateLazy(ctx context.Context, st Store, fn func(Tx) error) error {
	if lu, ok := st.(LazyUpdater); ok {
		return lu.UpdateLazy(ctx, fn)
	}
	return UpdateShared(ctx, st, fn)
}

// Page asks for one page of a list ordered by its natural key: items after
// After, at most Limit of them (the store caps Limit at 1000; 0 means 100).
type Page struct {
	After string
	Limit int
}

// Tx is one transaction's view of the store.
type Tx interface {
	// PipelineTx holds the checkout, payment and inventory-lock stages'
	// storage (pipeline.go).
	PipelineTx

	// CreateProduct inserts p. EAlreadyExists when the SKU (or a non-empty
	// barcode) is taken.
	CreateProduct(ctx context.Context, p *Product) error
	// UpdateProduct replaces the product with p.SKU. ENotFound;
	// EAlreadyExists when the new barcode is taken.
	UpdateProduct(ctx context.Context, p *Product) error
	// GetProduct returns one product by SKU. ENotFound.
	GetProduct(ctx context.Context, sku string) (*Product, error)
	// ListProducts returns products in SKU order. active filters when set.
	ListProducts(ctx context.Context, page Page, active *bool) ([]Product, error)

	// CreateWarehouse inserts w. EAlreadyExists.
	CreateWarehouse(ctx context.Context, w *Warehouse) error
	// UpdateWarehouse replaces the warehouse with w.Code. ENotFound.
	UpdateWarehouse(ctx context.Context, w *Warehouse) error
	// GetWarehouse returns one warehouse by code. ENotFound.
	GetWarehouse(ctx context.Context, code string) (*Warehouse, error)
	// ListWarehouses returns warehouses in code order.
	ListWarehouses(ctx context.Context, page Page, active *bool) ([]Warehouse, error)

	// CreateBin inserts b. ENotFound when its warehouse does not exist;
	// EAlreadyExists when the code is taken in that warehouse.
	CreateBin(ctx context.Context, b *Bin) error
	// UpdateBin replaces the bin (b.Warehouse, b.Code). ENotFound.
	UpdateBin(ctx context.Context, b *Bin) error
	// GetBin returns one bin. ENotFound.
	GetBin(ctx context.Context, warehouse, code string) (*Bin, error)
	// ListBins returns a warehouse's bins in pick-sequence order, then code.
	// page.After is a bin code; ENotFound when the warehouse does not exist.
	ListBins(ctx context.Context, warehouse string, page Page) ([]Bin, error)
	// InactiveBins returns every inactive bin, by warehouse and code: the
	// stock in them is not reserved for orders.
	InactiveBins(ctx context.Context) ([]Bin, error)

	// MoveStock applies one guarded stock movement and appends its ledger
	// row (see StockMovement). ENotFound when the SKU, warehouse or bin does
	// not exist; EInsufficient when the result would break
	// 0 <= reserved <= on hand.
	MoveStock(ctx context.Context, m StockMovement) (*LedgerEntry, error)
	// StockLevels sums bin stock per SKU and warehouse, ordered by SKU then
	// warehouse code.
	StockLevels(ctx context.Context, f StockFilter) ([]StockLevel, error)
	// BinStocks lists per-bin stock, ordered by SKU, warehouse, pick sequence.
	BinStocks(ctx context.Context, f StockFilter) ([]BinStock, error)
	// Ledger lists ledger rows in id order.
	Ledger(ctx context.Context, f LedgerFilter) ([]LedgerEntry, error)

	// CreateAPIKey stores k (with its hash). EAlreadyExists.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash finds a key by the hash of its secret. ENotFound.
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	// ListAPIKeys returns keys in id order.
	ListAPIKeys(ctx context.Context, page Page) ([]APIKey, error)
	// RevokeAPIKey marks a key revoked. ENotFound.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error

	// Enqueue adds a job that commits with this transaction.
	Enqueue(ctx context.Context, args JobArgs, opts *JobOpts) error
}

package fulfill

import "time"

// MovementKind names why stock changed. Every change of stock is one ledger
// row of one kind.
type MovementKind string

// Movement kinds of the inventory ledger.
const (
	MoveReceipt     MovementKind = "receipt"     // goods arrived: on hand +n
	MoveAdjustment  MovementKind = "adjustment"  // count correction: on hand ±n
	MoveReservation MovementKind = "reservation" // promised to an order: reserved +n
	MoveRelease     MovementKind = "release"     // promise withdrawn: reserved -n
	MovePick        MovementKind = "pick"        // taken off the shelf: on hand -n, reserved -n
)

// Valid reports whether k is a known movement kind.
func (k MovementKind) Valid() bool {
	switch k {
	case MoveReceipt, MoveAdjustment, MoveReservation, MoveRelease, MovePick:
		return true
	}
	return false
}

// StockMovement is one guarded change of one SKU in one bin. A store applies
// it atomically: the bin's on hand and reserved change by the deltas only if
// afterwards 0 <= reserved <= on hand; otherwise nothing is written and the
// store returns EInsufficient. The ledger row is written in the same
// transaction.
type StockMovement struct {
	SKU           string
	Warehouse     string
	Bin           string
	Kind          MovementKind
	OnHandDelta   int64
	ReservedDelta int64
	// Cause says why (a reason, an order id, an import line).
	Cause string
	// Actor says who (an API key id, "system", "import").
	Actor string
	At    time.Time
}

// LedgerEntry is one row of the append-only inventory ledger.
type LedgerEntry struct {
	ID            int64        `json:"id"`
	SKU           string       `json:"sku"`
	Warehouse     string       `json:"warehouse"`
	Bin           string       `json:"bin"`
	Kind          MovementKind `json:"kind"`
	OnHandDelta   int64        `json:"on_hand_delta"`
	ReservedDelta int64        `json:"reserved_delta"`
	// OnHandAfter and ReservedAfter are the bin's figures after this row.
	OnHandAfter   int64     `json:"on_hand_after"`
	ReservedAfter int64     `json:"reserved_after"`
	Cause         string    `json:"cause"`
	Actor         string    `json:"actor"`
	At            time.Time `json:"at"`
}

// BinStock is the stock of one SKU in one bin.
type BinStock struct {
	SKU       string `json:"sku"`
	Warehouse string `json:"warehouse"`
	Bin       string `json:"bin"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
}

// StockLevel is the stock of one SKU summed over one warehouse's bins.
// OnHand = Reserved + Available always holds.
type StockLevel struct {
	SKU       string `json:"sku"`
	Warehouse string `json:"warehouse"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
}

// StockFilter selects stock rows; empty fields match everything.
type StockFilter struct {
	SKU       string
	Warehouse string
	// SKUs, when not empty, keeps only these SKUs (one query for the
	// stock of many).
	SKUs []string
}

// LedgerFilter selects ledger rows in id order after AfterID.
type LedgerFilter struct {
	SKU       string
	Warehouse string
	AfterID   int64
	Limit     int
}

package fulfill

import "context"

// PrinterKind is how a packing station gets its labels.
type PrinterKind string

// Printer kinds.
const (
	// PrinterZPLTCP is a label printer on the network that takes ZPL on
	// its raw TCP port (9100).
	PrinterZPLTCP PrinterKind = "zpl_tcp"
	// PrinterDownload shows the label's PDF on the packing page.
	PrinterDownload PrinterKind = "download"
)

// Valid reports whether k is a known printer kind.
func (k PrinterKind) Valid() bool { return k == PrinterZPLTCP || k == PrinterDownload }

// PrinterConfig is a packing station's printer.
type PrinterConfig struct {
	Kind PrinterKind `json:"kind"`
	// Address is host:port of a zpl_tcp printer.
	Address string `json:"address,omitempty"`
}

// LabelPrinter sends a rendered label to a printer. Implementations: raw
// TCP (ZPL to port 9100).
type LabelPrinter interface {
	// Print sends zpl to the printer at address and returns once the
	// printer took all of it. EUnavailable when it can't be reached or
	// times out (the caller retries with backoff).
	Print(ctx context.Context, address string, zpl []byte) error
}

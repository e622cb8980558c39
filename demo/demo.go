// Package demo holds Fulfill's demo data set: three warehouses in Bengaluru,
// Gurugram and Bhiwandi (Asia/Kolkata), a 48-bin layout in each, about fifty
// health, sports and grocery products priced in INR, and stock for every
// product in every warehouse. `fulfill serve` loads it into an empty
// embedded database; `fulfill import --demo` loads it anywhere.
//
// The files use the CSV import formats described in the README, so they are
// also worked examples of those formats.
package demo

import "embed"

// FS holds warehouses.csv, bins.csv, products.csv and stock.csv. Import them
// in that order: bins need their warehouse, stock needs its product and bin.
//
//go:embed *.csv
var FS embed.FS

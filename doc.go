// Package fulfill is the domain vocabulary of Fulfill, an order-fulfillment
// engine: products, warehouses, bins, stock and its ledger, API keys, jobs,
// errors and the storage contract. It imports only the standard library;
// everything that talks to a database, the network or a queue lives in
// internal/ and depends on this package, never the other way round.
package fulfill

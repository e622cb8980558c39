package app

import (
	"context"
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"strings"

	"github.com/fulfill-dev/fulfill"
)

// Checkout limits.
const (
	// MaxCheckoutLines is the most lines in one checkout.
	MaxCheckoutLines = 100
	// MaxLineQuantity is the most units of one line.
	MaxLineQuantity = 1000
)

// CheckoutInput is the body of POST /v1/checkout. Prices are never taken
// from it: they come from the catalog.
type CheckoutInput struct {
	Customer        fulfill.Customer `json:"customer"`
	ShippingAddress fulfill.Address  `json:"shipping_address"`
	Lines           []CheckoutLine   `json:"lines"`
	Currency        string           `json:"currency"`
	Payment         CheckoutPayment  `json:"payment"`
}

// CheckoutLine asks for Quantity units of SKU. The same SKU may appear on
// several lines (a bundle).
type CheckoutLine struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// CheckoutPayment chooses the gateway and capture mode (default automatic).
type CheckoutPayment struct {
	Provider string              `json:"provider"`
	Capture  fulfill.CaptureMode `json:"capture"`
}

var (
	phoneRE   = regexp.MustCompile(`^\+?[1-9][0-9]{6,14}$`)
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
)

// validateCustomer checks the email (required, one bare address), the
// phone (optional, E.164 with spaces, dots or dashes allowed) and the name.
func validateCustomer(c fulfill.Customer) error {
	email := strings.TrimSpace(c.Email)
	if email == "" {
		return fulfill.FieldErrorf(fulfill.EInvalid, "customer.email", "customer.email is required")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") {
		return fulfill.FieldErrorf(fulfill.EInvalid, "customer.email", "customer.email must be an email address such as john@example.com")
	}
	if c.Phone != "" {
		p := strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "").Replace(c.Phone)
		if !phoneRE.MatchString(p) {
			return fulfill.FieldErrorf(fulfill.EInvalid, "customer.phone", "customer.phone must be an international number such as +919800000000")
		}
	}
	if len(c.Name) > 200 {
		return fulfill.FieldErrorf(fulfill.EInvalid, "customer.name", "customer.name must be at most 200 characters")
	}
	return nil
}

// validateAddress checks the shipping address's required fields, lengths
// and coordinates.
func validateAddress(ad fulfill.Address) error {
	required := []struct{ field, value string }{
		{"line1", ad.Line1}, {"city", ad.City}, {"postal_code", ad.PostalCode}, {"country", ad.Country},
	}
	for _, r := range required {
		if strings.TrimSpace(r.value) == "" {
			return fulfill.FieldErrorf(fulfill.EInvalid, "shipping_address."+r.field, "shipping_address.%s is required", r.field)
		}
	}
	for _, f := range []struct{ field, value string }{
		{"name", ad.Name}, {"line1", ad.Line1}, {"line2", ad.Line2}, {"city", ad.City},
		{"region", ad.Region}, {"postal_code", ad.PostalCode},
	} {
		if len(f.value) > 200 {
			return fulfill.FieldErrorf(fulfill.EInvalid, "shipping_address."+f.field, "shipping_address.%s must be at most 200 characters", f.field)
		}
	}
	if !countryRE.MatchString(ad.Country) {
		return fulfill.FieldErrorf(fulfill.EInvalid, "shipping_address.country", "shipping_address.country must be a two-letter ISO 3166 code such as IN")
	}
	if math.IsNaN(ad.Lat) || ad.Lat < -90 || ad.Lat > 90 {
		return fulfill.FieldErrorf(fulfill.EInvalid, "shipping_address.lat", "shipping_address.lat must be between -90 and 90")
	}
	if math.IsNaN(ad.Lon) || ad.Lon < -180 || ad.Lon > 180 {
		return fulfill.FieldErrorf(fulfill.EInvalid, "shipping_address.lon", "shipping_address.lon must be between -180 and 180")
	}
	return nil
}

// validateLines checks the number of lines, each SKU and quantity.
func validateLines(lines []CheckoutLine) error {
	if len(lines) == 0 || len(lines) > MaxCheckoutLines {
		return fulfill.FieldErrorf(fulfill.EInvalid, "lines", "lines must hold 1 to %d lines", MaxCheckoutLines)
	}
	for i, l := range lines {
		if err := fulfill.ValidateSKU(fmt.Sprintf("lines[%d].sku", i), l.SKU); err != nil {
			return err
		}
		if l.Quantity < 1 || l.Quantity > MaxLineQuantity {
			return fulfill.FieldErrorf(fulfill.EInvalid, fmt.Sprintf("lines[%d].quantity", i), "quantity must be between 1 and %d", MaxLineQuantity)
		}
	}
	return nil
}

// validate checks everything that needs no database and fills defaults.
func (a *App) validateCheckout(in *CheckoutInput) (fulfill.Gateway, error) {
	if err := validateCustomer(in.Customer); err != nil {
		return nil, err
	}
	if err := validateAddress(in.ShippingAddress); err != nil {
		return nil, err
	}
	if err := validateLines(in.Lines); err != nil {
		return nil, err
	}
	if err := (fulfill.Money{Currency: in.Currency}).Validate("total"); err != nil {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "currency", "currency must be a three-letter ISO 4217 code such as INR")
	}
	if in.Payment.Capture == "" {
		in.Payment.Capture = fulfill.CaptureAutomatic
	}
	if !in.Payment.Capture.Valid() {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "payment.capture", "payment.capture must be automatic or manual")
	}
	gw, ok := a.opts.Gateways[in.Payment.Provider]
	if !ok || in.Payment.Provider == "" {
		return nil, fulfill.FieldErrorf(fulfill.EInvalid, "payment.provider", "payment.provider must be one of the configured gateways (%s)", strings.Join(a.GatewayNames(), ", "))
	}
	return gw, nil
}

// GatewayNames lists the configured payment providers in a stable order.
func (a *App) GatewayNames() []string {
	names := make([]string, 0, len(a.opts.Gateways))
	for n := range a.opts.Gateways {
		names = append(names, n)
	}
	for i := 1; i < len(names); i++ { // insertion sort: a handful of names
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	return names
}

// priceLines prices each line from the catalog and returns the lines and
// the total. EInvalid for an unknown or inactive SKU, a currency that is
// not the catalog's, or a total that does not fit.
func (a *App) priceLines(ctx context.Context, in *CheckoutInput) ([]fulfill.OrderLine, fulfill.Money, error) {
	products := map[string]*fulfill.Product{}
	err := a.store.View(ctx, func(tx fulfill.Tx) error {
		for i, l := range in.Lines {
			if products[l.SKU] != nil {
				continue
			}
			p, err := tx.GetProduct(ctx, l.SKU)
			if fulfill.IsCode(err, fulfill.ENotFound) || (err == nil && !p.Active) {
				return fulfill.FieldErrorf(fulfill.EInvalid, fmt.Sprintf("lines[%d].sku", i), "%s is not for sale", l.SKU)
			}
			if err != nil {
				return err
			}
			products[l.SKU] = p
		}
		return nil
	})
	if err != nil {
		return nil, fulfill.Money{}, err
	}
	return buildLines(in, products)
}

// buildLines multiplies out the lines; a pure function of the catalog.
func buildLines(in *CheckoutInput, products map[string]*fulfill.Product) ([]fulfill.OrderLine, fulfill.Money, error) {
	total := fulfill.Money{Currency: in.Currency}
	lines := make([]fulfill.OrderLine, 0, len(in.Lines))
	for i, l := range in.Lines {
		p := products[l.SKU]
		if p.Price.Currency != in.Currency {
			return nil, total, fulfill.FieldErrorf(fulfill.EInvalid, "currency",
				"currency %s does not match the catalog price of %s (%s)", in.Currency, l.SKU, p.Price.Currency)
		}
		if p.Price.Amount > 0 && l.Quantity > (math.MaxInt64-total.Amount)/p.Price.Amount {
			return nil, total, fulfill.FieldErrorf(fulfill.EInvalid, fmt.Sprintf("lines[%d].quantity", i), "the order total is too large")
		}
		lt := fulfill.Money{Amount: p.Price.Amount * l.Quantity, Currency: in.Currency}
		total.Amount += lt.Amount
		lines = append(lines, fulfill.OrderLine{SKU: l.SKU, Name: p.Name, Quantity: l.Quantity, UnitPrice: p.Price, Total: lt})
	}
	return lines, total, nil
}

// orderPayment is an order's payment on intent.
func orderPayment(p CheckoutPayment, intent *fulfill.Intent) fulfill.OrderPayment {
	return fulfill.OrderPayment{Provider: p.Provider, Capture: p.Capture,
		IntentID: intent.ID, ClientSecret: intent.ClientSecret, ApprovalURL: intent.ApprovalURL}
}

// Checkout validates the input, prices it from the catalog, opens a
// payment intent with the chosen gateway and creates the order
// (pending_payment, expiring after Options.OrderTTL) with its optional
// stock hold, in one transaction together with the stored response of the
// request's Idempotency-Key when the context carries one (WithIdempotent).
// EInvalid for bad input; EUnavailable when the gateway can't be reached.
func (a *App) Checkout(ctx context.Context, actor string, in CheckoutInput) (*fulfill.Order, error) {
	gw, err := a.validateCheckout(&in)
	if err != nil {
		return nil, err
	}
	lines, total, err := a.priceLines(ctx, &in)
	if err != nil {
		return nil, err
	}
	now := a.clock.Now()
	expires := now.Add(a.opts.OrderTTL)
	o := &fulfill.Order{
		ID: fulfill.NewID("ord", now), Status: fulfill.StatusPendingPayment,
		Customer: in.Customer, ShippingAddress: in.ShippingAddress, Lines: lines, Total: total,
		Allocations: []fulfill.Allocation{},
		Timeline:    []fulfill.TimelineEntry{{At: now, To: fulfill.StatusPendingPayment, Cause: "checkout"}},
		CreatedAt:   now, UpdatedAt: now, ExpiresAt: &expires,
	}
	// A remote gateway is called outside any transaction. Its idempotency
	// key is the order id, not the client's key: a retry after a crash makes
	// a new order id, and a gateway that compares parameters (Stripe) would
	// refuse the client's key with the new metadata forever. The sandbox
	// opens its intent in the order's transaction instead.
	req := fulfill.IntentRequest{
		OrderID: o.ID, Amount: total, Capture: in.Payment.Capture, Email: in.Customer.Email,
		IdempotencyKey: o.ID, Description: "Order " + o.ID,
	}
	local, inTx := gw.(fulfill.InTxGateway)
	if !inTx {
		intent, err := gw.CreateIntent(ctx, req)
		if err != nil {
			return nil, err
		}
		o.Payment = orderPayment(in.Payment, intent)
	}
	// Checkouts of the same moment share a commit (SQLite's group commit).
	err = fulfill.UpdateShared(ctx, a.store, func(tx fulfill.Tx) error {
		if inTx {
			intent, err := local.CreateIntentTx(ctx, tx, req)
			if err != nil {
				return err
			}
			o.Payment = orderPayment(in.Payment, intent)
		}
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		if err := a.HoldStock(ctx, tx, o); err != nil {
			return err
		}
		return finishInTx(ctx, tx, o)
	})
	if err != nil {
		return nil, err
	}
	markCommitted(ctx)
	a.audit(ctx, actor, "order.checkout", "order", o.ID, "total", total.Amount, "currency", total.Currency)
	return o, nil
}

package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill/internal/gateway/paypal/paypalfake"
	"github.com/fulfill-dev/fulfill/internal/gateway/razorpay"
	"github.com/fulfill-dev/fulfill/internal/gateway/razorpay/razorpayfake"
)

// TestPipelineRazorpayEndToEnd: the binary configured for Razorpay (its
// REST API played by a fake that speaks Razorpay's wire format) opens a
// Razorpay order at checkout with notes.order_id, refuses a webhook signed
// with a secret it doesn't hold, accepts one signed with the old secret of
// a rotation, pays and reserves the order once, and takes a redelivery of
// the same event id as a duplicate.
func TestPipelineRazorpayEndToEnd(t *testing.T) {
	t.Parallel()
	const keyID, keySecret = "rzp_test_e2e", "rzp_secret_e2e"
	const oldSecret, newSecret = "rzp_wh_old", "rzp_wh_new"
	fake := razorpayfake.New(t, keyID, keySecret)
	vars := map[string]string{
		"FULFILL_GATEWAYS": "sandbox,razorpay", "FULFILL_RAZORPAY_KEY_ID": keyID, "FULFILL_RAZORPAY_KEY_SECRET": keySecret,
		"FULFILL_RAZORPAY_API_BASE": fake.URL, "FULFILL_RAZORPAY_WEBHOOK_SECRETS": oldSecret + "," + newSecret,
	}
	engines(t, vars, func(t *testing.T, s *server) {
		o := checkout(t, s, checkoutBody("razorpay", "automatic", 1))
		rzo, ok := fake.Order(o.Payment.IntentID)
		if !ok || rzo.Notes["order_id"] != o.ID || rzo.Amount != o.Total.Amount || rzo.Currency != o.Total.Currency {
			t.Fatalf("Razorpay order %+v (found %v), want notes.order_id %s and the order's total %+v", rzo, ok, o.ID, o.Total)
		}
		if err := fake.Pay(o.Payment.IntentID); err != nil {
			t.Fatal(err)
		}
		body := mustJSON(t, map[string]any{
			"entity": "event", "account_id": "acc_e2e", "event": "payment.captured", "contains": []string{"payment"},
			"created_at": time.Now().Unix(),
			"payload": map[string]any{"payment": map[string]any{"entity": map[string]any{
				"id": "pay_e2e" + randomHex(t), "entity": "payment", "amount": o.Total.Amount, "currency": o.Total.Currency,
				"status": "captured", "order_id": o.Payment.IntentID, "method": "upi", "captured": true,
				"notes": map[string]string{"order_id": o.ID}, "created_at": time.Now().Unix() - 5, "amount_refunded": 0,
			}}},
		})
		eventID := "evt_e2e" + randomHex(t)
		post := func(secret string) (int, string) {
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write(body)
			h := map[string]string{razorpay.SignatureHeader: hex.EncodeToString(mac.Sum(nil)), razorpay.EventIDHeader: eventID}
			resp, raw := send(t, http.MethodPost, s.base+"/webhooks/razorpay", "", h, body)
			return resp.StatusCode, string(raw)
		}
		if code, raw := post("rzp_wh_wrong"); code != http.StatusBadRequest {
			t.Fatalf("webhook signed with an unknown secret = %d %s, want 400", code, raw)
		}
		if code, raw := post(oldSecret); code != http.StatusOK {
			t.Fatalf("webhook signed with the old secret = %d %s, want 200", code, raw)
		}
		got := waitOrder(t, s, o.ID, "reserved", "payment_failed", "exception", "cancelled")
		if code, raw := post(newSecret); code != http.StatusOK {
			t.Fatalf("redelivery signed with the new secret = %d %s, want 200", code, raw)
		}
		var events page[struct {
			EventID string `json:"event_id"`
			Status  string `json:"status"`
		}]
		getJSON(t, s.base+"/v1/webhooks/events?limit=100", s.key, &events)
		n := 0
		for _, e := range events.Data {
			if e.EventID == eventID {
				n++
			}
		}
		getJSON(t, s.base+"/v1/orders/"+o.ID, s.key, &got)
		if n != 1 || countTo(got, "paid") != 1 {
			t.Errorf("after a redelivery: %d stored events with id %s (want 1), paid %d times (want 1)", n, eventID, countTo(got, "paid"))
		}

		// Manual capture: payment.authorized pays the order, and the
		// capture Fulfill makes once the stock is reserved reaches Razorpay.
		m := checkout(t, s, checkoutBody("razorpay", "manual", 1))
		if err := fake.Pay(m.Payment.IntentID); err != nil {
			t.Fatal(err)
		}
		rzo, _ = fake.Order(m.Payment.IntentID)
		body = mustJSON(t, map[string]any{
			"entity": "event", "account_id": "acc_e2e", "event": "payment.authorized", "contains": []string{"payment"},
			"created_at": time.Now().Unix(),
			"payload": map[string]any{"payment": map[string]any{"entity": map[string]any{
				"id": rzo.Payments[0].ID, "entity": "payment", "amount": m.Total.Amount, "currency": m.Total.Currency,
				"status": "authorized", "order_id": m.Payment.IntentID, "method": "card", "captured": false,
				"notes": map[string]string{"order_id": m.ID}, "created_at": time.Now().Unix() - 5, "amount_refunded": 0,
			}}},
		})
		eventID = "evt_e2e" + randomHex(t)
		if code, raw := post(newSecret); code != http.StatusOK {
			t.Fatalf("payment.authorized = %d %s, want 200", code, raw)
		}
		waitOrder(t, s, m.ID, "reserved", "payment_failed", "exception", "cancelled")
		deadline := time.Now().Add(30 * time.Second)
		for {
			rzo, _ = fake.Order(m.Payment.IntentID)
			if len(rzo.Payments) == 1 && rzo.Payments[0].Status == "captured" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the authorized Razorpay payment was not captured: %+v", rzo.Payments[0])
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// TestPipelinePayPalEndToEnd: the binary configured for PayPal (its REST
// API and certificate host played by a TLS fake that speaks PayPal's wire
// format) creates a PayPal order at checkout with custom_id and an
// approval link, captures it at PayPal when CHECKOUT.ORDER.APPROVED
// arrives, refuses a webhook signed with another key, verifies one
// signed with the key of the certificate it fetches from the allow-listed
// PAYPAL-CERT-URL, and pays and reserves the order. It runs the binary as
// a child process that trusts the fake's certificate (SSL_CERT_FILE), as a
// deployment trusts PayPal's.
func TestPipelinePayPalEndToEnd(t *testing.T) {
	t.Parallel()
	const clientID, secret, webhookID = "pp_client_e2e", "pp_secret_e2e", "WH-E2E-1"
	fake := paypalfake.New(t, clientID, secret)
	signer := paypalfake.NewSigner(t, time.Now())
	fake.SetWebhookKey(signer.CertPEM, &signer.Key.PublicKey, webhookID)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "fake-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fake.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, filepath.Join(dir, "data"), "SSL_CERT_FILE="+caFile,
		"FULFILL_GATEWAYS=sandbox,paypal", "FULFILL_PAYPAL_CLIENT_ID="+clientID, "FULFILL_PAYPAL_CLIENT_SECRET="+secret,
		"FULFILL_PAYPAL_API_BASE="+fake.URL, "FULFILL_PAYPAL_WEBHOOK_ID="+webhookID, "FULFILL_PAYPAL_CERT_HOSTS=127.0.0.1")
	o := checkout(t, p.server, checkoutBody("paypal", "automatic", 1))
	if o.Payment.ApprovalURL == "" {
		t.Fatalf("checkout with PayPal gave no approval_url: %+v", o.Payment)
	}
	if po, ok := fake.Order(o.Payment.IntentID); !ok || po.CustomID != o.ID {
		t.Fatalf("PayPal order %+v (found %v), want custom_id %s", po, ok, o.ID)
	}
	certURL := fake.URL + "/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
	post := func(k *paypalfake.Signer, body []byte, at time.Time) (int, string) {
		h := map[string]string{}
		for name, v := range k.Sign(t, body, certURL, webhookID, at) {
			h[name] = v[0]
		}
		resp, raw := send(t, http.MethodPost, p.base+"/webhooks/paypal", "", h, body)
		return resp.StatusCode, string(raw)
	}
	// The shopper approves at PayPal; PayPal says so, and Fulfill captures
	// the order (PayPal never captures by itself).
	if err := fake.Approve(o.Payment.IntentID); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	approved := mustJSON(t, map[string]any{
		"id": "WH-EVT-" + randomHex(t), "event_version": "1.0", "create_time": now.Format(time.RFC3339),
		"resource_type": "checkout-order", "resource_version": "2.0", "event_type": "CHECKOUT.ORDER.APPROVED",
		"summary": "An order has been approved by buyer", "resource": map[string]any{
			"id": o.Payment.IntentID, "intent": "CAPTURE", "status": "APPROVED",
			"purchase_units": []map[string]any{{"reference_id": "default", "custom_id": o.ID,
				"amount": map[string]string{"currency_code": o.Total.Currency, "value": "0.00"}}},
		},
	})
	if code, raw := post(signer, approved, now); code != http.StatusOK {
		t.Fatalf("CHECKOUT.ORDER.APPROVED = %d %s, want 200", code, raw)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		po, _ := fake.Order(o.Payment.IntentID)
		if po.Status == "COMPLETED" && po.Capture != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the approved PayPal order was not captured: %+v", po)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := waitOrder(t, p.server, o.ID, "pending_payment"); countTo(got, "paid") != 0 {
		t.Fatalf("the approval alone paid the order: %+v", got.Timeline)
	}
	v := strconv.FormatInt(o.Total.Amount/100, 10) + "." + strconv.FormatInt(o.Total.Amount%100+100, 10)[1:]
	body := mustJSON(t, map[string]any{
		"id": "WH-EVT-" + randomHex(t), "event_version": "1.0", "create_time": now.Format(time.RFC3339),
		"resource_type": "capture", "resource_version": "2.0", "event_type": "PAYMENT.CAPTURE.COMPLETED",
		"summary": "Payment completed", "resource": map[string]any{
			"id": "CAP" + randomHex(t), "status": "COMPLETED", "final_capture": true, "custom_id": o.ID,
			"amount":             map[string]string{"currency_code": o.Total.Currency, "value": v},
			"supplementary_data": map[string]any{"related_ids": map[string]string{"order_id": o.Payment.IntentID}},
			"create_time":        now.Add(-time.Second).Format(time.RFC3339),
		},
	})
	other := paypalfake.NewSigner(t, time.Now())
	if code, raw := post(other, body, now); code != http.StatusBadRequest {
		t.Fatalf("webhook signed with another key = %d %s, want 400", code, raw)
	}
	if code, raw := post(signer, body, now); code != http.StatusOK {
		t.Fatalf("signed webhook = %d %s, want 200", code, raw)
	}
	got := waitOrder(t, p.server, o.ID, "reserved", "payment_failed", "exception", "cancelled")
	if countTo(got, "paid") != 1 {
		t.Errorf("timeline %+v: want one move to paid", got.Timeline)
	}
	if err := p.signal(t, syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v\nstderr:\n%s", err, p.stderr)
	}
}

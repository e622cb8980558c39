package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/fulfill-dev/fulfill"
)

var apiKeyTests = map[string]func(*testing.T, Harness){
	"CreateFindRevoke": testAPIKeyCRUD,
	"ListPages":        testAPIKeyList,
}

var txTests = map[string]func(*testing.T, Harness){
	"PingEngine": testPingEngine,
}

func newKey(id, name string) *fulfill.APIKey {
	return &fulfill.APIKey{ID: id, Name: name, Role: fulfill.RoleMerchant, Prefix: "ff_" + name[:min(4, len(name))], Hash: "hash-" + name, CreatedAt: ts}
}

func testAPIKeyCRUD(t *testing.T, h Harness) {
	s := open(t, h)
	k := newKey("key_01", "shop")
	update(t, s, func(tx fulfill.Tx) error { return tx.CreateAPIKey(t.Context(), k) })
	find := func() *fulfill.APIKey {
		var got *fulfill.APIKey
		view(t, s, func(tx fulfill.Tx) (err error) {
			got, err = tx.APIKeyByHash(t.Context(), k.Hash)
			return err
		})
		return got
	}
	got := find()
	if got.ID != k.ID || got.Name != k.Name || got.Role != k.Role || got.Prefix != k.Prefix ||
		got.Hash != k.Hash || !got.CreatedAt.Equal(ts) || got.RevokedAt != nil {
		t.Fatalf("key = %+v, want %+v", got, k)
	}
	view(t, s, func(tx fulfill.Tx) error {
		_, err := tx.APIKeyByHash(t.Context(), "hash-nope")
		wantCode(t, err, fulfill.ENotFound)
		return nil
	})
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.CreateAPIKey(t.Context(), newKey("key_01", "other"))
	}), fulfill.EAlreadyExists)
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.CreateAPIKey(t.Context(), newKey("key_02", "shop")) // same hash
	}), fulfill.EAlreadyExists)
	revoked := ts.Add(time.Hour)
	update(t, s, func(tx fulfill.Tx) error { return tx.RevokeAPIKey(t.Context(), k.ID, revoked) })
	if got := find(); got.RevokedAt == nil || !got.RevokedAt.Equal(revoked) {
		t.Fatalf("revoked_at = %v, want %v", got.RevokedAt, revoked)
	}
	wantCode(t, updateErr(t, s, func(tx fulfill.Tx) error {
		return tx.RevokeAPIKey(t.Context(), "key_nope", revoked)
	}), fulfill.ENotFound)
}

func testAPIKeyList(t *testing.T, h Harness) {
	s := open(t, h)
	update(t, s, func(tx fulfill.Tx) error {
		for i := 6; i >= 0; i-- {
			if err := tx.CreateAPIKey(t.Context(), newKey(fmt.Sprintf("key_%02d", i), fmt.Sprintf("name%d", i))); err != nil {
				return err
			}
		}
		return nil
	})
	var ids []string
	after := ""
	for range 10 {
		var page []fulfill.APIKey
		view(t, s, func(tx fulfill.Tx) (err error) {
			page, err = tx.ListAPIKeys(t.Context(), fulfill.Page{After: after, Limit: 3})
			return err
		})
		if len(page) == 0 {
			break
		}
		for _, k := range page {
			ids = append(ids, k.ID)
		}
		after = page[len(page)-1].ID
	}
	if fmt.Sprint(ids) != "[key_00 key_01 key_02 key_03 key_04 key_05 key_06]" {
		t.Fatalf("keys = %v, want id order", ids)
	}
}

func testPingEngine(t *testing.T, h Harness) {
	s := open(t, h)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if e := s.Engine(); e != "sqlite" && e != "postgres" {
		t.Fatalf("Engine() = %q", e)
	}
}

package app

import (
	"strconv"
	"testing"
)

func TestTrim(t *testing.T) {
	t.Parallel()
	key := func(n int) string { return strconv.Itoa(n) }
	rows, next := trim([]int{1, 2, 3}, 2, key)
	if len(rows) != 2 || next == "" {
		t.Fatalf("%v %q", rows, next)
	}
	if k, err := decodeCursor(next); err != nil || k != "2" {
		t.Fatalf("cursor %q %v", k, err)
	}
	if rows, next := trim([]int{1, 2}, 2, key); len(rows) != 2 || next != "" {
		t.Fatalf("last page %v %q", rows, next)
	}
	if rows, next := trim[int](nil, 2, key); rows == nil || next != "" {
		t.Fatal("empty page must be [] with no cursor")
	}
	full := make([]int, MaxLimit)
	if _, next := trim(full, MaxLimit, key); next == "" {
		t.Fatal("a full page of the store's cap must have a cursor")
	}
	if _, err := decodeCursor("%%"); err == nil {
		t.Fatal("bad cursor accepted")
	}
	if _, err := (ListParams{Limit: MaxLimit + 1}).limit(); err == nil {
		t.Fatal("limit over the max accepted")
	}
}

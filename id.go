package fulfill

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"
)

// crockford is Crockford's base32 alphabet: sortable, no I/L/O/U.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// NewID returns a prefixed, time-sortable id such as "ord_01hx…": the prefix,
// an underscore, 10 characters of milliseconds since the epoch and 16 random
// characters (80 bits), all in lower-case Crockford base32.
func NewID(prefix string, now time.Time) string {
	var b strings.Builder
	b.Grow(len(prefix) + 27)
	b.WriteString(prefix)
	b.WriteByte('_')
	ms := uint64(now.UnixMilli())
	for i := 9; i >= 0; i-- {
		b.WriteByte(crockford[(ms>>(uint(i)*5))&31])
	}
	var r [10]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms
	hi := binary.BigEndian.Uint64(r[:8])
	lo := uint64(binary.BigEndian.Uint16(r[8:]))
	for i := 0; i < 12; i++ {
		b.WriteByte(crockford[(hi>>(uint(59-i*5)))&31])
	}
	v := (hi&0xf)<<16 | lo
	for i := 3; i >= 0; i-- {
		b.WriteByte(crockford[(v>>(uint(i)*5))&31])
	}
	return b.String()
}

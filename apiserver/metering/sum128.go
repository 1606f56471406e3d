package metering

import "math/bits"

// sum128 is an unsigned 128-bit sum of products, for prices times token counts.
type sum128 struct{ hi, lo uint64 }

// addProduct adds a*b; non-positive factors add nothing.
func (s *sum128) addProduct(a, b int64) {
	if a <= 0 || b <= 0 {
		return
	}
	h, l := bits.Mul64(uint64(a), uint64(b))
	var carry uint64
	s.lo, carry = bits.Add64(s.lo, l, 0)
	s.hi += h + carry
}

// divRound divides by d, rounding to the nearest (or up), saturating at the largest int64.
func (s sum128) divRound(d uint64, up bool) int64 {
	add := d / 2
	if up {
		add = d - 1
	}
	lo, carry := bits.Add64(s.lo, add, 0)
	hi := s.hi + carry
	if hi >= d {
		return 1<<63 - 1
	}
	q, _ := bits.Div64(hi, lo, d)
	if q > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(q)
}

package segment

// Seq is a TCP sequence number: a point in the 32-bit sequence space, which
// wraps around (RFC 9293 §3.4). Compare sequence numbers only through these
// methods; plain < and > on the integers are wrong near the wrap.
type Seq uint32

// LessThan reports whether s comes before t, using the signed distance
// between them (serial-number arithmetic, RFC 1982).
func (s Seq) LessThan(t Seq) bool { return int32(s-t) < 0 }

// LessThanEq reports whether s is before or equal to t.
func (s Seq) LessThanEq(t Seq) bool { return int32(s-t) <= 0 }

// GreaterThan reports whether s comes after t.
func (s Seq) GreaterThan(t Seq) bool { return int32(s-t) > 0 }

// GreaterThanEq reports whether s is after or equal to t.
func (s Seq) GreaterThanEq(t Seq) bool { return int32(s-t) >= 0 }

// Add returns s advanced by n octets.
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// Sub returns the number of octets from t forward to s (s - t). It is only
// meaningful when t is not after s.
func (s Seq) Sub(t Seq) uint32 { return uint32(s - t) }

// InRange reports whether a <= s < b.
func (s Seq) InRange(a, b Seq) bool { return s.GreaterThanEq(a) && s.LessThan(b) }

// InWindow reports whether s lies in the window of size octets starting at
// first: first <= s < first+size. An empty window holds nothing.
func (s Seq) InWindow(first Seq, size uint32) bool { return s.Sub(first) < size }

// Max returns the later of s and t.
func (s Seq) Max(t Seq) Seq {
	if s.LessThan(t) {
		return t
	}
	return s
}

// Min returns the earlier of s and t.
func (s Seq) Min(t Seq) Seq {
	if s.LessThan(t) {
		return s
	}
	return t
}

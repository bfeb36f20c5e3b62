package segment

// Flags is the TCP control-bit octet (RFC 9293 §3.1, RFC 3168 for ECE/CWR).
type Flags uint8

// The control bits, least significant first as on the wire.
const (
	FlagFIN Flags = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// flagChars lists each bit with tcpdump's letter, in tcpdump's print order.
var flagChars = [8]struct {
	f Flags
	c byte
}{
	{FlagFIN, 'F'}, {FlagSYN, 'S'}, {FlagRST, 'R'}, {FlagPSH, 'P'},
	{FlagACK, '.'}, {FlagURG, 'U'}, {FlagECE, 'E'}, {FlagCWR, 'W'},
}

// Has reports whether every bit of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// String formats the flags as tcpdump does, brackets included: "[S]",
// "[S.]", "[P.]", "[F.]", "[R]"; "[none]" when no bit is set.
func (f Flags) String() string {
	var buf [10]byte
	return string(f.appendTo(buf[:0]))
}

func (f Flags) appendTo(b []byte) []byte {
	b = append(b, '[')
	if f == 0 {
		b = append(b, "none"...)
	}
	for _, fc := range flagChars {
		if f&fc.f != 0 {
			b = append(b, fc.c)
		}
	}
	return append(b, ']')
}

package segment

import (
	"errors"
	"fmt"
)

// TCP Fast Open option (RFC 7413 §4.1.1). It travels in Options.Unknown:
// the codec keeps unrecognised options verbatim, and Linux writes Fast Open
// after every option the codec knows, so appending it there gives Linux's
// layout. FastOpen reads it back; AppendFastOpen writes it.
const (
	OptFastOpen     = 34     // RFC 7413: kind, length, cookie
	OptExperimental = 254    // RFC 6994 shared experimental kind
	FastOpenMagic   = 0xF989 // RFC 7413's experiment ID for kind 254 (the pre-RFC encoding)

	// FastOpenCookieMin and FastOpenCookieMax bound a cookie's length
	// (RFC 7413 §4.1.1: 4 to 16 bytes; Linux also wants it even).
	FastOpenCookieMin = 4
	FastOpenCookieMax = 16
)

// ErrFastOpenCookie is a Fast Open option whose cookie length is not an
// even number from 4 to 16 bytes. Linux ignores such an option; so do we.
var ErrFastOpenCookie = errors.New("segment: bad Fast Open cookie length")

// FastOpen is a parsed Fast Open option.
type FastOpen struct {
	Present bool   // an option (kind 34, or 254 with the magic) is there
	Exp     bool   // the experimental encoding, kind 254 + 0xF989
	Cookie  []byte // empty: a cookie request; aliases the options
}

// FastOpen finds the Fast Open option among the unknown options. The first
// one counts (Linux stops at the first). An option with a malformed cookie
// is reported with ErrFastOpenCookie and Present false.
func (o *Options) FastOpen() (FastOpen, error) {
	u := o.Unknown
	for len(u) >= 2 {
		l := int(u[1])
		if l < 2 || l > len(u) {
			return FastOpen{}, nil // Parse rejected these; a hand-built header may have them
		}
		opt := u[:l]
		u = u[l:]
		var fo FastOpen
		switch {
		case opt[0] == OptFastOpen:
			fo = FastOpen{Present: true, Cookie: opt[2:]}
		case opt[0] == OptExperimental && l >= 4 && be16(opt[2:]) == FastOpenMagic:
			fo = FastOpen{Present: true, Exp: true, Cookie: opt[4:]}
		default:
			continue
		}
		if n := len(fo.Cookie); n != 0 && (n < FastOpenCookieMin || n > FastOpenCookieMax || n%2 != 0) {
			return FastOpen{}, fmt.Errorf("%w: %d", ErrFastOpenCookie, n)
		}
		return fo, nil
	}
	return FastOpen{}, nil
}

// AppendFastOpen appends a Fast Open option with cookie (empty: a cookie
// request) to b, in the experimental encoding if exp, followed by two NOPs
// when its length leaves the header off a 32-bit boundary (as Linux's
// tcp_options_write pads it). The cookie is written as given, even of a
// bad length (for tests), but cut to fit the option space.
func AppendFastOpen(b []byte, cookie []byte, exp bool) []byte {
	cookie = cookie[:min(len(cookie), MaxOptionsLen-4)]
	var n int
	if exp {
		n = 4 + len(cookie)
		b = append(b, OptExperimental, byte(n), FastOpenMagic>>8, FastOpenMagic&0xff)
	} else {
		n = 2 + len(cookie)
		b = append(b, OptFastOpen, byte(n))
	}
	b = append(b, cookie...)
	if n%4 == 2 {
		b = append(b, OptNOP, OptNOP)
	}
	return b
}

package stack

import (
	"encoding/hex"
	"net/netip"
	"testing"
)

// linuxKey turns a tcp_fastopen_key sysctl value's four 32-bit words into
// the 16 bytes Linux keeps (each word little-endian).
func linuxKey(words ...uint32) *[16]byte {
	var k [16]byte
	for i, w := range words {
		k[4*i], k[4*i+1], k[4*i+2], k[4*i+3] = byte(w), byte(w>>8), byte(w>>16), byte(w>>24)
	}
	return &k
}

// TestFastOpenCookieLinux checks the cookie function against cookies
// packetdrill's fastopen scripts expect from Linux for fixed keys.
func TestFastOpenCookieLinux(t *testing.T) {
	for _, tc := range []struct {
		key      *[16]byte
		src, dst string
		want     string
	}{
		{linuxKey(0xa1a1a1a1, 0xb2b2b2b2, 0xc3c3c3c3, 0xd4d4d4d4), "192.0.2.1", "192.168.0.1", "3021b9d889017eeb"},
		{linuxKey(0xa0bf63f7, 0xed803d81, 0xcd641d30, 0xcebc4a90), "10.248.0.2", "192.168.0.2", "00abaaabe8e954c2"},
		{linuxKey(0, 0, 0, 0), "10.248.0.2", "192.168.0.2", "93b7aa4f550f8a1a"},
	} {
		got := fastOpenCookie(tc.key, netip.MustParseAddr(tc.src), netip.MustParseAddr(tc.dst))
		if hex.EncodeToString(got[:]) != tc.want {
			t.Errorf("cookie %v->%v: got %x, want %s", tc.src, tc.dst, got, tc.want)
		}
	}
}

// TestSipHash24Vector checks SipHash-2-4 against the paper's test vector
// (key 00..0f, message 00..0e: 0xa129ca6149be45e5).
func TestSipHash24Vector(t *testing.T) {
	var m []byte
	for i := range 15 {
		m = append(m, byte(i))
	}
	if got := sipHash24(0x0706050403020100, 0x0f0e0d0c0b0a0908, m); got != 0xa129ca6149be45e5 {
		t.Fatalf("SipHash-2-4 = %#x, want 0xa129ca6149be45e5", got)
	}
}

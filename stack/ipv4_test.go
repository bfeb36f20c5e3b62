package stack

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
)

// The inline IPv4 header writer and pseudo-header sum used on every packet
// give exactly the codec's bytes and sums, including the all-ones and
// all-zero addresses and the largest lengths.
func TestInlineHeaderMatchesCodec(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 20000 {
		var a, b [4]byte
		switch i % 10 {
		case 0:
			a, b = [4]byte{255, 255, 255, 255}, [4]byte{255, 255, 255, 255}
		case 1:
			a, b = [4]byte{}, [4]byte{}
		default:
			for j := range a {
				a[j], b[j] = byte(r.Uint32()), byte(r.Uint32())
			}
		}
		id, ttl, n := uint16(r.Uint32()), uint8(r.Uint32()), r.IntN(65516)
		if i%7 == 0 {
			id, ttl, n = 0xffff, 0xff, 65515
		}
		src, dst := netip.AddrFrom4(a), netip.AddrFrom4(b)
		ip := ippacket.Header{ID: id, Flags: ippacket.FlagDF, TTL: ttl, Protocol: ippacket.ProtocolTCP, Src: src, Dst: dst}
		want, err := ip.Encode(nil, n)
		if err != nil {
			t.Fatal(err)
		}
		addrs := addrSum(a[:], b[:])
		if got := appendIPv4Header(nil, id, ttl, a, b, addrs, n); !bytes.Equal(got, want) {
			t.Fatalf("%v > %v id %d ttl %d len %d: header %x, codec %x", src, dst, id, ttl, n, got, want)
		}
		m := r.IntN(70000)
		if got, want := pseudoHeaderSum(addrs, m), segment.PseudoHeaderSum(src, dst, m); got != want {
			t.Fatalf("%v > %v len %d: pseudo-header sum %#x, codec %#x", src, dst, m, got, want)
		}
	}
}

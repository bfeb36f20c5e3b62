package stack

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

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
		ecn := uint8(r.IntN(4)) // the ECN field (ecn.go)
		ip := ippacket.Header{ID: id, ECN: ecn, Flags: ippacket.FlagDF, TTL: ttl, Protocol: ippacket.ProtocolTCP, Src: src, Dst: dst}
		want, err := ip.Encode(nil, n)
		if err != nil {
			t.Fatal(err)
		}
		addrs := addrSum(a[:], b[:])
		if got := appendIPv4Header(nil, id, ttl, ecn, a, b, addrs, n); !bytes.Equal(got, want) {
			t.Fatalf("%v > %v id %d ttl %d len %d: header %x, codec %x", src, dst, id, ttl, n, got, want)
		}
		m := r.IntN(70000)
		if got, want := pseudoHeaderSum(addrs, m), segment.PseudoHeaderSum(src, dst, m); got != want {
			t.Fatalf("%v > %v len %d: pseudo-header sum %#x, codec %#x", src, dst, m, got, want)
		}
	}
}

type offloadEnv struct{}

func (offloadEnv) Now() time.Duration   { return 0 }
func (offloadEnv) WakeAt(time.Duration) {}

// recLink records packets; with offload it also offers SendVerified.
type recLink struct{ sent, verified [][]byte }

func (l *recLink) Send(p []byte) { l.sent = append(l.sent, bytes.Clone(p)) }

type offloadRecLink struct{ recLink }

func (l *offloadRecLink) SendVerified(p []byte) { l.verified = append(l.verified, bytes.Clone(p)) }

func offloadHost(t *testing.T, name string, addr string, link Link) *Host {
	t.Helper()
	h, err := NewHost(HostConfig{Name: name, Env: offloadEnv{}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.AddInterface(netip.MustParsePrefix(addr), link, 1500); err != nil {
		t.Fatal(err)
	}
	return h
}

// A host sends through SendVerified when its link offers it, with correct
// checksums; a host given that packet through DeliverVerified answers it
// exactly as through Deliver; and a packet whose checksum is wrong is still
// dropped and counted by Deliver.
func TestChecksumOffload(t *testing.T) {
	al := &offloadRecLink{}
	a := offloadHost(t, "a", "10.0.0.1/24", al)
	if _, err := a.Connect(netip.Addr{}, netip.MustParseAddrPort("10.0.0.2:80")); err != nil {
		t.Fatal(err)
	}
	if len(al.sent) != 0 || len(al.verified) != 1 {
		t.Fatalf("Send %d, SendVerified %d packets; want the SYN through SendVerified only", len(al.sent), len(al.verified))
	}
	syn := al.verified[0]
	v := ippacket.View(syn)
	if err := v.Check(true); err != nil {
		t.Fatalf("SYN: %v", err)
	}
	if !segment.VerifyChecksum(v.Src(), v.Dst(), v.Payload()) {
		t.Fatal("SYN: bad TCP checksum")
	}

	var answers [2][][]byte
	var counters [2]Counters
	for i, verified := range []bool{false, true} {
		bl := &recLink{}
		b := offloadHost(t, "b", "10.0.0.2/24", bl)
		if _, err := b.Listen(80, 1); err != nil {
			t.Fatal(err)
		}
		if verified {
			b.DeliverVerified(0, syn)
		} else {
			b.Deliver(0, syn)
		}
		answers[i], counters[i] = bl.sent, b.Counters()
	}
	if len(answers[0]) != 1 || len(answers[1]) != 1 || !bytes.Equal(answers[0][0], answers[1][0]) {
		t.Fatalf("SYN-ACK through Deliver %x, through DeliverVerified %x", answers[0], answers[1])
	}
	if counters[0] != counters[1] {
		t.Fatalf("counters differ: Deliver %+v, DeliverVerified %+v", counters[0], counters[1])
	}

	bad := bytes.Clone(syn)
	bad[len(bad)-1] ^= 1 // in the TCP options: the TCP checksum no longer matches
	b := offloadHost(t, "b", "10.0.0.2/24", &recLink{})
	b.Deliver(0, bad)
	if got := b.Counters().TCPDropChecksum; got != 1 {
		t.Fatalf("TCPDropChecksum = %d after a corrupted segment, want 1", got)
	}
}

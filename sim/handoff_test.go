package sim

import (
	"bytes"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// recordNode keeps a copy of every packet delivered to it, by either path.
type recordNode struct{ got [][]byte }

func (n *recordNode) Deliver(_ int, p []byte) { n.got = append(n.got, append([]byte(nil), p...)) }
func (n *recordNode) DeliverVerified(_ int, p []byte) {
	n.got = append(n.got, append([]byte(nil), p...))
}

// SendHandoff keeps the sender's buffer as the frame in flight and gives
// back another one with room for the packet: a sender that reuses what it
// gets back (and scribbles over it) still has its packets delivered as sent,
// duplicates included; a packet the link drops at once (over the MTU) comes
// back as the spare buffer.
func TestLinkSendHandoff(t *testing.T) {
	p := tcpPacket(t, addrA, addrB, segment.FlagACK, 1, 100)
	w := New(Config{})
	l, err := w.NewLink(LinkConfig{AB: DirConfig{Delay: time.Millisecond, Faults: []Fault{Duplicate{P: 0.5}}}})
	if err != nil {
		t.Fatal(err)
	}
	n := &recordNode{}
	l.End(1).Attach("b", n, 0)
	var want [][]byte
	w.At(0, func() {
		buf := make([]byte, 0, 64)
		for i := range 20 {
			pkt := append(buf, p...)
			pkt[len(pkt)-1] = byte(i) // payload byte: tells the packets apart
			want = append(want, append([]byte(nil), pkt...))
			spare := l.End(0).SendHandoff(pkt)
			if len(spare) != 0 || cap(spare) < len(pkt) {
				t.Fatalf("packet %d: spare buffer len %d cap %d, want empty with room for %d", i, len(spare), cap(spare), len(pkt))
			}
			if &spare[:1][0] == &pkt[0] {
				t.Fatalf("packet %d: the link kept the packet and gave the same array back", i)
			}
			buf = spare
			clear(buf[:cap(buf)])
		}
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if len(n.got) < len(want) {
		t.Fatalf("delivered %d packets, want at least %d", len(n.got), len(want))
	}
	j := 0
	for _, g := range n.got {
		if j < len(want) && bytes.Equal(g, want[j]) {
			j++
			continue
		}
		if j == 0 || !bytes.Equal(g, want[j-1]) {
			t.Fatalf("delivered packet %x is neither packet %d nor a duplicate of the one before", g, j)
		}
	}
	if j != len(want) {
		t.Fatalf("%d of %d packets delivered intact", j, len(want))
	}

	// Too big for the link: not kept, so the same buffer comes back.
	w2 := New(Config{})
	l2, err := w2.NewLink(LinkConfig{AB: DirConfig{MTU: 68}})
	if err != nil {
		t.Fatal(err)
	}
	l2.End(1).Attach("b", &recordNode{}, 0)
	big := make([]byte, 100, 128)
	w2.At(0, func() {
		spare := l2.End(0).SendHandoff(big)
		if len(spare) != 0 || cap(spare) != cap(big) || &spare[:1][0] != &big[0] {
			t.Errorf("dropped packet: spare len %d cap %d, want pkt's own buffer back, emptied", len(spare), cap(spare))
		}
	})
	if err := w2.Run(); err != nil {
		t.Fatal(err)
	}
}

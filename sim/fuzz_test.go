package sim

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// FuzzForward sends arbitrary bytes through a link whose rules inspect every
// packet, into a router, and on to a host: malformed input is dropped and
// counted, never a panic, and whatever the router forwards still has a valid
// IPv4 header.
func FuzzForward(f *testing.F) {
	f.Add(tcpPacket(f, netip.MustParseAddr("10.0.1.2"), srvAddr, segment.FlagSYN, 1, 0))
	f.Add(tcpPacket(f, netip.MustParseAddr("10.0.1.2"), srvAddr, segment.FlagACK, 1, 100))
	f.Add([]byte{0x45, 0, 0, 20})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		w := New(Config{Log: true, LogData: true})
		r, _ := w.AddRouter("r")
		h, srv := &testNode{w: w}, &testNode{w: w, keep: true}
		w.AddNode("h", h)
		w.AddNode("srv", srv)
		mp := netip.MustParsePrefix
		rules := []Fault{
			Rule{Name: "data", Match: And(DataSegment, From(netip.MustParseAddr("10.0.1.2"))), Nth: 1, Action: RuleDuplicate},
			Rule{Name: "syn", Match: Or(FlagsSet(segment.FlagSYN), To(srvAddr)), Action: RuleDelay, Delay: time.Millisecond},
			Rule{Name: "tcp", Match: TCP(func(p *segment.Packet) bool { return p.TCP.Window == 0 }), Action: RuleCorrupt},
		}
		if _, err := w.Connect("h", mp("10.0.1.2/24"), "r", mp("10.0.1.1/24"), LinkConfig{AB: DirConfig{MTU: 9000, Faults: rules}}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Connect("r", mp("10.0.9.1/24"), "srv", mp("10.0.9.2/24"), LinkConfig{AB: DirConfig{MTU: 9000}}); err != nil {
			t.Fatal(err)
		}
		w.At(0, func() { h.ifaces[0].Send(pkt) })
		if err := w.Run(); err != nil {
			t.Fatal(err)
		}
		for _, g := range srv.got {
			if len(g.data) < 20 || g.data[0]>>4 != 4 {
				t.Fatalf("router forwarded a non-IPv4 packet % x", g.data)
			}
		}
		st := r.Stats()
		if st.Forwarded != uint64(len(srv.got)) {
			t.Fatalf("router forwarded %d, server got %d", st.Forwarded, len(srv.got))
		}
		for _, e := range w.Log().Events() {
			_ = e.String()
		}
	})
}

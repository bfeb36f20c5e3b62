package tcptest

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// wireNode is a test double node: it owns one interface and sends what the
// test tells it to.
type wireNode struct{ link stack.Link }

func (n *wireNode) Deliver(int, []byte) {}

func (n *wireNode) AddInterface(_ netip.Prefix, l stack.Link, _ int) (int, error) {
	n.link = l
	return 0, nil
}

var (
	cliAP = netip.MustParseAddrPort("192.0.2.10:49152")
	srvAP = netip.MustParseAddrPort("192.0.2.20:80")
)

func pkt(t *testing.T, from, to netip.AddrPort, flags segment.Flags, seq, ack uint32, payload string) []byte {
	t.Helper()
	p := segment.Packet{
		IP:      ippacket.Header{TTL: 64, Protocol: ippacket.ProtocolTCP, Src: from.Addr(), Dst: to.Addr()},
		TCP:     segment.Header{SrcPort: from.Port(), DstPort: to.Port(), Seq: segment.Seq(seq), Ack: segment.Seq(ack), Flags: flags, Window: 1000},
		Payload: []byte(payload),
	}
	b, err := p.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLogQueries sends a handshake and four data segments (the second
// dropped by a rule and sent again) through a real sim link and checks each
// query against what was sent.
func TestLogQueries(t *testing.T) {
	w := sim.New(sim.Config{Seed: 1, LogData: true})
	cli, srv := &wireNode{}, &wireNode{}
	if err := w.AddNode("cli", cli); err != nil {
		t.Fatal(err)
	}
	if err := w.AddNode("srv", srv); err != nil {
		t.Fatal(err)
	}
	isData := func(p *sim.FaultPacket) bool {
		sp, err := p.Packet()
		return err == nil && len(sp.Payload) > 0
	}
	ab := sim.DirConfig{Delay: 10 * time.Millisecond,
		Faults: []sim.Fault{sim.Rule{Name: "drop-2nd-data", Match: isData, Nth: 2, Action: sim.RuleDrop}}}
	_, err := w.Connect("cli", netip.MustParsePrefix("192.0.2.10/24"), "srv", netip.MustParsePrefix("192.0.2.20/24"),
		sim.LinkConfig{Name: "wire", AB: ab, BA: sim.DirConfig{Delay: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	const ci, si = 100, 5000
	S, A, SA, PA := segment.FlagSYN, segment.FlagACK, segment.FlagSYN|segment.FlagACK, segment.FlagPSH|segment.FlagACK
	send := []struct {
		at   time.Duration
		n    *wireNode
		pkt  []byte
		name string
	}{
		{0, cli, pkt(t, cliAP, srvAP, S, ci, 0, ""), "syn"},
		{20 * time.Millisecond, srv, pkt(t, srvAP, cliAP, SA, si, ci+1, ""), "synack"},
		{40 * time.Millisecond, cli, pkt(t, cliAP, srvAP, A, ci+1, si+1, ""), "ack"},
		{40 * time.Millisecond, cli, pkt(t, cliAP, srvAP, PA, ci+1, si+1, "aaaa"), "data1"},
		{41 * time.Millisecond, cli, pkt(t, cliAP, srvAP, PA, ci+5, si+1, "bbbb"), "data2 (dropped)"},
		{42 * time.Millisecond, cli, pkt(t, cliAP, srvAP, PA, ci+9, si+1, "cccc"), "data3"},
		{60 * time.Millisecond, srv, pkt(t, srvAP, cliAP, A, si+1, ci+5, ""), "dupack"},
		{300 * time.Millisecond, cli, pkt(t, cliAP, srvAP, PA, ci+5, si+1, "bbbb"), "data2 again"},
		// Another connection on the same link must not be mixed in.
		{50 * time.Millisecond, cli, pkt(t, netip.AddrPortFrom(cliAP.Addr(), 49153), srvAP, S, 1, 0, ""), "other"},
	}
	for _, s := range send {
		s := s
		w.At(s.at, func() { s.n.link.Send(s.pkt) })
	}
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}

	out, err := FlowPackets(w.Log(), Flow{cliAP, srvAP}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 6 {
		t.Fatalf("client→server: %d packets, want 6:\n%v", len(out), out)
	}
	drops := Drops(out)
	if len(drops) != 1 || drops[0].DropReason != "drop-2nd-data" || string(drops[0].Packet.Payload) != "bbbb" ||
		drops[0].Time() != 41*time.Millisecond || drops[0].Delivered {
		t.Errorf("drops = %v", drops)
	}
	if !out[0].Delivered || out[0].DeliveredAt != 10*time.Millisecond || len(out[0].Events) != 2 {
		t.Errorf("SYN = %+v", out[0])
	}

	c, err := Connection(w.Log(), cliAP, srvAP)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.In) != 2 {
		t.Errorf("server→client: %d packets, want 2", len(c.In))
	}
	syn, synAck, ack, err := c.Handshake()
	if err != nil {
		t.Fatal(err)
	}
	if syn.Packet.TCP.Seq != ci || synAck.Packet.TCP.Seq != si || ack.Packet.TCP.Ack != si+1 || ack.Time() != 40*time.Millisecond {
		t.Errorf("handshake = %v / %v / %v", syn, synAck, ack)
	}
	rt := Retransmissions(c.Out)
	if len(rt) != 1 || rt[0].Time() != 300*time.Millisecond || string(rt[0].Packet.Payload) != "bbbb" {
		t.Errorf("retransmissions = %v", rt)
	}
	first, ok := FirstPayload(c.Out)
	if !ok || string(first.Packet.Payload) != "aaaa" {
		t.Errorf("first payload = %v", first)
	}
	if _, ok := FirstPayload(c.In); ok {
		t.Errorf("the server sent no data, yet FirstPayload found some")
	}
	// Relative matching against the log, as tcpdump shows it.
	sel := Select(c.Out, Match(Flags(PA), RelSeq(5), PayloadLen(4)), c.OutISN())
	if len(sel) != 2 || !sel[0].Dropped || sel[1].Dropped {
		t.Errorf("select seq 5 = %v", sel)
	}
	if got := Select(c.In, Match(RelAck(5)), c.InISN()); len(got) != 1 {
		t.Errorf("select ack 5 from server = %v", got)
	}
	if s := drops[0].String(); s != "0.041000 192.0.2.10.49152 > 192.0.2.20.80: Flags [P.], seq 105:109, ack 5001, win 1000, length 4 [dropped: drop-2nd-data]" {
		t.Errorf("String() = %s", s)
	}
	if f := (Flow{cliAP, srvAP}).Reverse(); f.Src != srvAP || f.String() != "192.0.2.20:80 > 192.0.2.10:49152" {
		t.Errorf("Reverse = %v", f)
	}
	if _, err := Connection(w.Log(), srvAP, netip.MustParseAddrPort("192.0.2.99:1")); err == nil {
		t.Error("Connection of an unknown pair succeeded")
	}
	if _, err := FlowPackets(nil, Flow{}, ""); err == nil {
		t.Error("nil log accepted")
	}
}

func TestLogQueriesNeedData(t *testing.T) {
	w := sim.New(sim.Config{Log: true})
	a, b := &wireNode{}, &wireNode{}
	_ = w.AddNode("a", a)
	_ = w.AddNode("b", b)
	if _, err := w.Connect("a", netip.MustParsePrefix("192.0.2.10/24"), "b", netip.MustParsePrefix("192.0.2.20/24"), sim.LinkConfig{}); err != nil {
		t.Fatal(err)
	}
	w.At(0, func() { a.link.Send(pkt(t, cliAP, srvAP, segment.FlagSYN, 1, 0, "")) })
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := FlowPackets(w.Log(), Flow{cliAP, srvAP}, ""); !errors.Is(err, ErrNoData) {
		t.Errorf("err = %v, want ErrNoData", err)
	}
}

func TestHandshakeMissing(t *testing.T) {
	c := &ConnLog{Client: cliAP, Server: srvAP}
	if _, _, _, err := c.Handshake(); err == nil {
		t.Error("empty connection has a handshake")
	}
}

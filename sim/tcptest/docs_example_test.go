package tcptest_test

// The tests docs/testing.md shows, written as a user of the package writes
// them in their own project (TestDocsQuoteTests checks that the page quotes
// them verbatim).

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/sim/tcptest"
	"github.com/tcpsim/tcpsim/stack"
)

func TestLossyTransferHeaders(t *testing.T) {
	// A world whose event log keeps packet bytes, two hosts, and a link
	// that loses 5% of the packets in each direction.
	w := sim.New(sim.Config{Seed: 7, LogData: true, TimeLimit: time.Minute})
	ca, sa := netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("10.0.0.2/24")
	client, err := w.AddHost("client", ca, stack.TCPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	server, err := w.AddHost("server", sa, stack.TCPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	lossy := sim.DirConfig{Delay: 5 * time.Millisecond, Rate: 10_000_000, Faults: []sim.Fault{sim.Loss{P: 0.05}}}
	if _, err := w.Connect("client", ca, "server", sa, sim.Symmetric("wire", lossy)); err != nil {
		t.Fatal(err)
	}

	// Blocking sockets in simulator tasks: the server reads everything,
	// the client sends 100 kB and closes.
	payload := bytes.Repeat([]byte("tcpsim "), 100000/7+1)[:100000]
	var got []byte
	var clientAddr netip.AddrPort
	w.Spawn("server", func(*sim.Task) {
		ln, err := sim.NewTaskNet(w, server).Listen("tcp", ":80")
		if err != nil {
			t.Error(err)
			return
		}
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		if got, err = io.ReadAll(c); err != nil {
			t.Error(err)
		}
	})
	w.Spawn("client", func(*sim.Task) {
		c, err := sim.NewTaskNet(w, client).Dial("tcp", "server:80")
		if err != nil {
			t.Error(err)
			return
		}
		clientAddr = c.LocalAddr().(*net.TCPAddr).AddrPort()
		if _, err := c.Write(payload); err != nil {
			t.Error(err)
		}
		c.Close()
	})
	// Run returns when no event is left or, as here (the hosts keep
	// timers for TIME_WAIT), at the time limit.
	if err := w.Run(); err != nil && !errors.Is(err, sim.ErrTimeLimit) {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("server received %d bytes, want the %d sent", len(got), len(payload))
	}

	// The connection's packets, from the event log.
	c, err := tcptest.Connection(w.Log(), clientAddr, netip.MustParseAddrPort("10.0.0.2:80"))
	if err != nil {
		t.Fatal(err)
	}
	syn, synAck, _, err := c.Handshake()
	if err != nil {
		t.Fatal(err)
	}
	// Relative numbers count from each side's ISN, as tcpdump shows them.
	// A failed check returns an error that shows both packets.
	wantSYN := tcptest.Match(tcptest.Flags(segment.FlagSYN), tcptest.RelSeq(0), tcptest.MSS(1460),
		tcptest.IPHeaderLen(20), tcptest.TTL(64), tcptest.DF(true), tcptest.PayloadLen(0))
	if err := wantSYN.CheckISN(&syn.Packet, c.OutISN()); err != nil {
		t.Error(err)
	}
	wantSYNACK := tcptest.Match(tcptest.Flags(segment.FlagSYN|segment.FlagACK), tcptest.RelAck(1), tcptest.MSS(1460))
	if err := wantSYNACK.CheckISN(&synAck.Packet, c.InISN()); err != nil {
		t.Error(err)
	}

	// Full-sized data: 1448 bytes of payload in 1500-byte IPv4 packets (the
	// MSS, 1460, less the 12 bytes the timestamps option takes in each one).
	first, ok := tcptest.FirstPayload(c.Out)
	if !ok {
		t.Fatal("no data segment")
	}
	wantData := tcptest.Match(tcptest.RelSeq(1), tcptest.PayloadLen(1448), tcptest.TotalLen(1500))
	if err := wantData.CheckISN(&first.Packet, c.OutISN()); err != nil {
		t.Error(err)
	}

	// Every data segment the link dropped was lost to the loss fault and
	// sent again later.
	drops := tcptest.Drops(c.Out)
	if len(drops) == 0 {
		t.Fatal("no packet of the client's was dropped at 5% loss")
	}
	for _, d := range drops {
		if d.DropReason != "loss" {
			t.Errorf("%v dropped for %q, want loss", &d, d.DropReason)
		}
		if len(d.Packet.Payload) == 0 {
			continue
		}
		again := tcptest.Select(c.Out, tcptest.Match(tcptest.Seq(uint32(d.Packet.TCP.Seq))), tcptest.ISN{})
		if last := again[len(again)-1]; last.Time() <= d.Time() {
			t.Errorf("%v lost at %v was not sent again", &d, d.Time())
		}
	}
	if len(tcptest.Retransmissions(c.Out)) == 0 {
		t.Error("no retransmissions")
	}
}

func TestDelayedACKScript(t *testing.T) {
	tcptest.RunScripts(t, "testdata/delayed-ack.pkt")
}

func TestPeerDelayedACK(t *testing.T) {
	p, err := tcptest.NewPeer(tcptest.PeerConfig{TCP: stack.TCPConfig{DisableWindowScale: true, RecvBuffer: 64000}})
	if err != nil {
		t.Fatal(err)
	}
	// Socket calls happen at p.Now(); time stands still until the test
	// moves it.
	if _, err := p.Host().Listen(8080, 1); err != nil {
		t.Fatal(err)
	}
	// The peer's SYN: sequence numbers count from the peer's ISN,
	// acknowledgements from the host's.
	syn := tcptest.SegSpec{Flags: segment.FlagSYN, HasWin: true, Win: 65535,
		Options: segment.Options{HasMSS: true, MSS: 1460}}
	if _, err := p.Inject(&syn); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Expect(0, tcptest.Match(tcptest.Flags(segment.FlagSYN|segment.FlagACK),
		tcptest.RelSeq(0), tcptest.RelAck(1), tcptest.MSS(1460))); err != nil {
		t.Fatal(err)
	}
	if err := p.AdvanceTo(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ack := tcptest.SegSpec{Flags: segment.FlagACK, Seq: 1, HasAck: true, Ack: 1, HasWin: true, Win: 65535}
	data := tcptest.SegSpec{Flags: segment.FlagPSH | segment.FlagACK, Seq: 1, Len: 100,
		HasAck: true, Ack: 1, HasWin: true, Win: 65535}
	for _, s := range []*tcptest.SegSpec{&ack, &data} {
		if _, err := p.Inject(s); err != nil {
			t.Fatal(err)
		}
	}
	// No ACK before the delayed-ACK timer (40 ms) runs out...
	if err := p.ExpectNothingUntil(49 * time.Millisecond); err != nil {
		t.Error(err)
	}
	// ...then exactly at 50 ms, the window shrunk by the 100 unread bytes.
	if _, err := p.Expect(50*time.Millisecond, tcptest.Match(tcptest.Flags(segment.FlagACK),
		tcptest.RelAck(101), tcptest.Window(63900), tcptest.NoOptions())); err != nil {
		t.Error(err)
	}
}

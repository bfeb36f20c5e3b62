package stack

import (
	"net/netip"
	"testing"

	"github.com/tcpsim/tcpsim/segment"
)

const E, W = segment.FlagECE, segment.FlagCWR

// RFC 3168 end to end on one connection: an ECN-setup SYN is answered
// with ECE; new data goes out ECT(0) and ACKs and retransmissions Not-ECT;
// CE on arriving data makes our ACKs carry ECE until CWR; ECE from the
// peer reduces cwnd once per window and our next data carries CWR.
func TestECN(t *testing.T) {
	cfg := scriptCfg()
	cfg.ECN = ECNPassive
	s := newScript(t, cfg)
	s.l, _ = s.h.Listen(80, 1)
	s.inject(seg{flags: S | E | W, win: 65535, mss: 1460})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	if f := s.out[0].pkt.TCP.Flags; f != S|A|E {
		t.Fatalf("SYN-ACK flags %v, want SYN ACK ECE", f)
	}
	if s.out[0].pkt.IP.ECN != 0 {
		t.Fatal("SYN-ACK marked ECT")
	}
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.c, _ = s.l.Accept()
	s.out = nil

	// Data from us: ECT(0).
	s.c.Write(data(2000))
	if len(s.out) != 2 || s.out[0].pkt.IP.ECN != 2 || s.out[1].pkt.IP.ECN != 2 {
		t.Fatalf("data not ECT(0): %d packets", len(s.out))
	}
	cwnd := s.c.Info().Cwnd
	s.out = nil
	// The peer echoes congestion: one reduction, CWR on the next new data.
	s.inject(seg{flags: A | E, seq: 1, ack: 1461, win: 65535})
	s.inject(seg{flags: A | E, seq: 1, ack: 2001, win: 65535})
	if got := s.c.Info().Cwnd; got >= cwnd || s.h.Counters().TCPECNReductions != 1 {
		t.Fatalf("cwnd %d (was %d), reductions %d; want one reduction", got, cwnd, s.h.Counters().TCPECNReductions)
	}
	s.c.Write(data(100))
	if p := s.out[len(s.out)-1].pkt; p.TCP.Flags&W == 0 || p.IP.ECN != 2 {
		t.Fatalf("next data: flags %v ECN %d, want CWR and ECT(0)", p.TCP.Flags, p.IP.ECN)
	}
	s.out = nil

	// CE arrives: ECE on our ACKs until the peer's CWR.
	s.inject(seg{flags: A, seq: 1, ack: 2101, win: 65535, data: data(100), ecn: 3})
	if len(s.out) != 1 || s.out[0].pkt.TCP.Flags&E == 0 || s.out[0].pkt.IP.ECN != 0 {
		t.Fatalf("CE: want one immediate Not-ECT ACK with ECE, got %d packets", len(s.out))
	}
	s.out = nil
	s.inject(seg{flags: A, seq: 101, ack: 2101, win: 65535, data: data(100)})
	s.inject(seg{flags: A, seq: 201, ack: 2101, win: 65535, data: data(100)})
	if len(s.out) == 0 || s.out[len(s.out)-1].pkt.TCP.Flags&E == 0 {
		t.Fatal("ECE stopped before CWR")
	}
	s.out = nil
	s.inject(seg{flags: A | W, seq: 301, ack: 2101, win: 65535, data: data(100)})
	s.inject(seg{flags: A, seq: 401, ack: 2101, win: 65535, data: data(100)})
	if len(s.out) == 0 || s.out[len(s.out)-1].pkt.TCP.Flags&E != 0 {
		t.Fatal("ECE still set after CWR")
	}
	if c := s.h.Counters(); c.TCPECNCEReceived != 1 || c.TCPECNEceReceived != 2 {
		t.Fatalf("CE %d, ECE %d; want 1, 2", c.TCPECNCEReceived, c.TCPECNEceReceived)
	}
}

// ECN is used only when both SYNs agree: off, a plain SYN, or a SYN-ACK
// without ECE leave it off (data Not-ECT).
func TestECNNegotiation(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  int
		syn  segment.Flags
	}{
		{"off", ECNOff, S | E | W},
		{"peer did not ask", ECNPassive, S},
	} {
		cfg := scriptCfg()
		cfg.ECN = c.cfg
		s := newScript(t, cfg)
		s.l, _ = s.h.Listen(80, 1)
		s.inject(seg{flags: c.syn, win: 65535, mss: 1460})
		s.iss = uint32(s.out[0].pkt.TCP.Seq)
		if s.out[0].pkt.TCP.Flags&E != 0 {
			t.Errorf("%s: SYN-ACK carries ECE", c.name)
		}
		s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
		s.c, _ = s.l.Accept()
		s.out = nil
		s.c.Write(data(100))
		if s.out[0].pkt.IP.ECN != 0 {
			t.Errorf("%s: data marked ECT", c.name)
		}
	}
	// Active: ECNOn asks with ECE and CWR.
	cfg := scriptCfg()
	cfg.ECN = ECNOn
	s := newScript(t, cfg)
	c, err := s.h.Connect(netip.Addr{}, s.peer)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.out) != 1 || s.out[0].pkt.TCP.Flags != S|E|W {
		t.Fatalf("ECNOn: SYN %v, want SYN ECE CWR", s.out)
	}
	// A SYN-ACK with ECE alone agrees.
	s.local = c.LocalAddr()
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.inject(seg{flags: S | A | E, ack: 1, win: 65535, mss: 1460})
	if !c.ecn.ok || s.h.Counters().TCPECNNegotiated != 1 {
		t.Fatal("ECN not in use after an ECN-setup SYN-ACK")
	}
	if _, err := NewHost(HostConfig{Env: s, TCP: TCPConfig{ECN: 3}}); err == nil {
		t.Error("ECN 3 accepted")
	}
}

// With CWRReduction (linux profile) an ECN echo reduces cwnd as Linux's CWR
// state does: ssthresh at once, but cwnd brought down by PRR over the
// window outstanding (the echo's own ACK lets one segment go), no growth
// meanwhile, and cwnd = ssthresh once that window is acknowledged.
func TestECN_CWRReductionIsGradual(t *testing.T) {
	cfg := scriptCfg()
	cfg.ECN = ECNPassive
	cfg.CWRReduction = true
	s := newScript(t, cfg)
	s.l, _ = s.h.Listen(80, 1)
	s.inject(seg{flags: S | E | W, win: 65535, mss: 1460})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.c, _ = s.l.Accept()
	s.out = nil

	s.c.Write(data(20 * 1460))
	if len(s.out) != 10 {
		t.Fatalf("%d segments in the initial window, want 10", len(s.out))
	}
	s.out = nil
	prior := s.c.Info().Cwnd
	recover := 1 + 10*1460
	s.inject(seg{flags: A | E, seq: 1, ack: 1461, win: 65535})
	i := s.c.Info()
	if i.Ssthresh != prior/2 || i.CAState != CAWindowReduced {
		t.Fatalf("after the echo: ssthresh %d (want %d), state %v (want CWR)", i.Ssthresh, prior/2, i.CAState)
	}
	if i.Cwnd <= i.Ssthresh || len(s.out) != 1 || s.out[0].pkt.TCP.Flags&W == 0 {
		t.Fatalf("after the echo: cwnd %d, %d segments sent; want cwnd above ssthresh and one segment, with CWR", i.Cwnd, len(s.out))
	}
	s.out = nil
	// The rest of the window, one ACK per segment: PRR sends about one
	// segment for every two delivered (ssthresh/prior cwnd), cwnd never grows.
	sent, last := 0, i.Cwnd
	for ack := 1 + 2*1460; ack < recover; ack += 1460 {
		s.inject(seg{flags: A, seq: 1, ack: uint32(ack), win: 65535})
		if c := s.c.Info().Cwnd; c > last {
			t.Fatalf("cwnd grew from %d to %d during the reduction (ack %d)", last, c, ack)
		} else {
			last = c
		}
		sent += len(s.out)
		s.out = nil
	}
	if sent < 3 || sent > 5 {
		t.Fatalf("%d segments sent for 8 delivered during the reduction, want about half", sent)
	}
	s.inject(seg{flags: A, seq: 1, ack: uint32(recover), win: 65535})
	i = s.c.Info()
	if i.CAState != CAOpen || i.Cwnd < i.Ssthresh || i.Cwnd >= i.Ssthresh+1460 {
		t.Fatalf("after the window: state %v, cwnd %d, ssthresh %d; want Open and cwnd = ssthresh (plus this ACK's growth)", i.CAState, i.Cwnd, i.Ssthresh)
	}
}

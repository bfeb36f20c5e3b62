package stack

import (
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
)

// stormPair opens a connection a → b:80 over links of the given delay, lets
// it go idle, and then injects into b one 10-byte data segment that looks
// as if a had sent it: in window, with an acceptable ACK (the blind
// injection RFC 5961 §5 cannot stop when the attacker guesses well). After
// it, b's RCV.NXT is 10 bytes ahead of a's SND.NXT. It returns the pair,
// both ends and the link counts at the moment of injection.
func stormPair(t *testing.T, delay time.Duration, cfg TCPConfig) (p *pair, cli, srv *Conn, sentBefore int) {
	t.Helper()
	p = newPair(t, 1, delay, faults{}, cfg)
	l, err := p.b.Listen(80, 4)
	if err != nil {
		t.Fatal(err)
	}
	cli, err = p.a.Connect(addrA.Unmap(), netipAP(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	p.n.run(100*time.Millisecond, nil)
	if srv, err = l.Accept(); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if cli.State() != StateEstablished || srv.State() != StateEstablished {
		t.Fatalf("states %v %v", cli.State(), srv.State())
	}
	ci := cli.Info()
	pkt := segment.Packet{
		IP: ippacket.Header{TTL: 64, Protocol: ippacket.ProtocolTCP, Src: ci.Local.Addr(), Dst: ci.Remote.Addr(), Flags: ippacket.FlagDF},
		TCP: segment.Header{
			SrcPort: ci.Local.Port(), DstPort: ci.Remote.Port(),
			Seq: ci.SndNxt, Ack: ci.RcvNxt, Flags: segment.FlagACK | segment.FlagPSH, Window: 1000,
		},
		Payload: []byte("0123456789"),
	}
	b, err := pkt.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	sentBefore = p.ab.sent + p.ba.sent
	p.b.Deliver(0, b)
	if got := srv.Info().RcvNxt.Sub(ci.SndNxt); got != 10 {
		t.Fatalf("the injected segment moved the server's RCV.NXT by %d, want 10", got)
	}
	return p, cli, srv, sentBefore
}

// TestACKStormAfterInjection: one injected segment must not start an
// endless exchange of ACKs. Each end answers the other's ACK as
// unacceptable (b: sequence number below RCV.NXT; a: ACK of data it never
// sent), and without a rate limit that went on at one pair of packets per
// round trip: about 10,000 packets in 10 s on a 1 ms link. With the
// per-connection limit (one such ACK per 500 ms) the exchange dies out.
func TestACKStormAfterInjection(t *testing.T) {
	p, _, _, before := stormPair(t, time.Millisecond, TCPConfig{})
	start := p.n.now
	p.n.run(start+10*time.Second, func() bool { return p.n.events > 2e6 })
	n := p.ab.sent + p.ba.sent - before
	t.Logf("packets in 10 s after one injected segment (1 ms link): %d", n)
	if n > 10 {
		t.Fatalf("%d packets in 10 s after one injected segment; the ACK exchange was not throttled", n)
	}
	ca, cb := p.a.Counters(), p.b.Counters()
	if ca.TCPAckTooNew == 0 || cb.TCPOutOfWindow == 0 {
		t.Fatalf("the storm did not start: a TCPAckTooNew %d, b TCPOutOfWindow %d", ca.TCPAckTooNew, cb.TCPOutOfWindow)
	}
	if ca.TCPACKSkippedSeq+cb.TCPACKSkippedSeq == 0 {
		t.Fatal("no suppressed ACK counted in TCPACKSkippedSeq")
	}
}

// TestACKStormZeroDelay: on a zero-delay link the unthrottled exchange ran
// at one virtual instant for ever, so no time limit could end the run.
// Now the event queue drains and virtual time reaches the limit.
func TestACKStormZeroDelay(t *testing.T) {
	p, _, _, before := stormPair(t, 0, TCPConfig{})
	start := p.n.now
	const maxEvents = 1e6
	p.n.run(start+10*time.Second, func() bool { return p.n.events > maxEvents })
	n := p.ab.sent + p.ba.sent - before
	t.Logf("zero-delay link: %d packets, %d events, virtual time %v", n, p.n.events, p.n.now-start)
	if p.n.events > maxEvents {
		t.Fatalf("%d events without virtual time moving past %v: the world cannot make progress", p.n.events, p.n.now-start)
	}
	if n > 10 {
		t.Fatalf("%d packets after one injected segment", n)
	}
	// The world still moves: a timer 10 s later fires.
	fired := false
	p.n.at(start+10*time.Second, func() { fired = true })
	p.n.run(start+11*time.Second, nil)
	if !fired {
		t.Fatalf("virtual time stuck at %v", p.n.now-start)
	}
}

// The per-connection stage: one clock for every kind of invalid ACK, one
// ACK per InvalidAckInterval; data and FINs out of window are exempt.
func TestInvalidAckLimitPerConnection(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.out = nil
	s.inject(seg{flags: R, seq: 5})                      // challenge ACK: sent
	s.inject(seg{flags: S, seq: 500, win: 100})          // challenge ACK: suppressed
	s.inject(seg{flags: A, seq: 90000, ack: 1, win: 10}) // out of window, no data: suppressed
	s.inject(seg{flags: A, seq: 1, ack: 100, win: 10})   // ACK of unsent data: suppressed
	if len(s.out) != 1 {
		t.Fatalf("%d ACKs within 500 ms, want 1", len(s.out))
	}
	s.expect("Flags [.], ack 1, win 64000, length 0")
	c := s.h.Counters()
	if c.TCPACKSkippedChallenge != 1 || c.TCPACKSkippedSeq != 2 || c.TCPChallengeACKs != 2 || c.TCPOutOfWindow != 1 || c.TCPAckTooNew != 1 {
		t.Fatalf("counters %+v", c)
	}
	// Out-of-window data is answered at once, limit or not.
	s.inject(seg{flags: A, seq: 90000, ack: 1, win: 10, data: data(5)})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	s.advance(499 * time.Millisecond)
	s.inject(seg{flags: R, seq: 5})
	s.none()
	s.advance(time.Millisecond)
	s.inject(seg{flags: R, seq: 5})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	if s.c.State() != StateEstablished {
		t.Fatalf("state %v", s.c.State())
	}
}

// InvalidAckInterval < 0 switches the per-connection stage off.
func TestInvalidAckLimitDisabled(t *testing.T) {
	cfg := scriptCfg()
	cfg.InvalidAckInterval = -1
	cfg.ChallengeAckLimit = -1
	s := newScript(t, cfg)
	s.passiveOpen()
	s.out = nil
	for range 100 {
		s.inject(seg{flags: R, seq: 5})
	}
	if len(s.out) != 100 {
		t.Fatalf("%d challenge ACKs for 100 RSTs with the limits off", len(s.out))
	}
	if h := s.h.Config(); h.InvalidAckInterval != -1 || h.ChallengeAckLimit != -1 {
		t.Fatalf("config %v %v", h.InvalidAckInterval, h.ChallengeAckLimit)
	}
	d, _ := NewHost(HostConfig{Env: s})
	if c := d.Config(); c.InvalidAckInterval != DefaultInvalidAckInterval || c.ChallengeAckLimit != DefaultChallengeAckLimit {
		t.Fatalf("defaults %v %v", c.InvalidAckInterval, c.ChallengeAckLimit)
	}
}

// The host stage: across connections at most about ChallengeAckLimit per
// second (a budget drawn from [⌈L/2⌉, L+⌈L/2⌉)), refilled each second.
func TestInvalidAckLimitPerHost(t *testing.T) {
	const limit, conns = 4, 40
	cfg := scriptCfg()
	cfg.ChallengeAckLimit = limit
	s := newScript(t, cfg)
	if _, err := s.h.Listen(80, conns); err != nil {
		t.Fatal(err)
	}
	ports := make([]uint16, conns)
	for i := range ports {
		ports[i] = uint16(41000 + i)
		s.peer = netipAP(s.peer.Addr(), ports[i])
		s.inject(seg{flags: S, win: 65535})
		if len(s.out) != 1 {
			t.Fatal("no SYN-ACK")
		}
		s.iss = uint32(s.out[0].pkt.TCP.Seq)
		s.out = nil
		s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	}
	round := func() int {
		s.out = nil
		for _, p := range ports {
			s.peer = netipAP(s.peer.Addr(), p)
			s.inject(seg{flags: R, seq: 5})
		}
		return len(s.out)
	}
	var total int
	for r := range 3 {
		n := round()
		if n < (limit+1)/2 || n >= limit+(limit+1)/2 {
			t.Fatalf("round %d: %d challenge ACKs from %d connections, want [%d, %d)", r, n, conns, (limit+1)/2, limit+(limit+1)/2)
		}
		total += n
		s.advance(time.Second)
	}
	if c := s.h.Counters(); c.TCPACKSkippedHostLimit != uint64(3*conns-total) || c.TCPChallengeACKs != 3*conns {
		t.Fatalf("skipped %d challenge %d, sent %d", c.TCPACKSkippedHostLimit, c.TCPChallengeACKs, total)
	}
}

// In TIME_WAIT and SYN_RECEIVED the per-connection limit counts under its
// own name; a retransmitted FIN in TIME_WAIT is always acknowledged (it
// occupies sequence space, so it is exempt) and still restarts 2×MSL.
func TestInvalidAckLimitTimeWaitAndSynRecv(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Close()
	s.inject(seg{flags: FA, seq: 1, ack: 2, win: 65535})
	if s.c.State() != StateTimeWait {
		t.Fatalf("state %v", s.c.State())
	}
	s.out = nil
	s.inject(seg{flags: A, seq: 90000, ack: 2, win: 65535})
	s.inject(seg{flags: A, seq: 90000, ack: 2, win: 65535})
	s.expect("Flags [.], ack 2, win 64000, length 0")
	s.none()
	for range 3 { // the peer's FIN again: answered every time
		s.inject(seg{flags: FA, seq: 1, ack: 2, win: 65535})
		s.expect("Flags [.], ack 2, win 64000, length 0")
	}
	if c := s.h.Counters(); c.TCPACKSkippedTimeWait != 1 || c.TCPACKSkippedSeq != 0 {
		t.Fatalf("TIME_WAIT skipped %d, seq skipped %d", c.TCPACKSkippedTimeWait, c.TCPACKSkippedSeq)
	}
	// 2×MSL is 20 s here; a FIN after 15 s restarts it.
	s.advance(15 * time.Second)
	s.inject(seg{flags: FA, seq: 1, ack: 2, win: 65535})
	s.expect("Flags [.], ack 2, win 64000, length 0")
	s.advance(15 * time.Second)
	if s.c.State() != StateTimeWait {
		t.Fatalf("TIME_WAIT not restarted by the FIN: %v", s.c.State())
	}
	s.advance(6 * time.Second)
	if s.c.State() != StateClosed {
		t.Fatalf("TIME_WAIT outlived 2×MSL: %v", s.c.State())
	}

	s = newScript(t, scriptCfg())
	if _, err := s.h.Listen(80, 8); err != nil {
		t.Fatal(err)
	}
	s.inject(seg{flags: S, win: 65535})
	s.out = nil
	s.inject(seg{flags: A, seq: 90000, ack: 1, win: 65535})
	s.inject(seg{flags: A, seq: 90000, ack: 1, win: 65535})
	if len(s.out) != 1 || s.h.Counters().TCPACKSkippedSynRecv != 1 {
		t.Fatalf("SYN_RECEIVED: %d ACKs, skipped %d", len(s.out), s.h.Counters().TCPACKSkippedSynRecv)
	}
}

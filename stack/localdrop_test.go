package stack

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// queueDropLink is the script's link with a local queue in front of it that
// refuses every packet while drop is set (QueueLink).
type queueDropLink struct {
	s    *script
	drop bool
}

func (d *queueDropLink) Send(pkt []byte) { d.s.Send(pkt) }
func (d *queueDropLink) Refuses() bool   { return d.drop }

// newDropScript is newScript with the host's link behind a queueDropLink.
func newDropScript(t *testing.T, cfg TCPConfig) (*script, *queueDropLink) {
	t.Helper()
	s := &script{t: t, peerISN: 1000}
	h, err := NewHost(HostConfig{Name: "dut", Env: s, Seed: 1, TCP: cfg})
	if err != nil {
		t.Fatal(err)
	}
	d := &queueDropLink{s: s}
	if _, err := h.AddInterface(netip.MustParsePrefix("10.0.0.1/24"), d, 1500); err != nil {
		t.Fatal(err)
	}
	s.h = h
	s.local = netip.MustParseAddrPort("10.0.0.1:80")
	s.peer = netip.MustParseAddrPort("10.0.0.2:40000")
	return s, d
}

// New data the local queue refuses stays unsent; the probe timer tries
// again one RTO later and then every ResourceProbeInterval, counting
// probes, and the data goes once the queue takes packets again.
func TestLocalDrop_NewDataWaitsForTheProbeTimer(t *testing.T) {
	s, d := newDropScript(t, scriptCfg())
	s.passiveOpen()
	rto, ssthresh := s.c.Info().RTO, s.c.Info().Ssthresh
	d.drop = true
	start := s.now
	if _, err := s.c.Write(data(100)); err != nil {
		t.Fatal(err)
	}
	s.none()
	i := s.c.Info()
	if i.SndNxt != i.SndUna || i.BytesInFlight != 0 || i.SendBuffered != 100 {
		t.Fatalf("refused data counted as sent: %+v", i)
	}
	if n := s.h.Counters().IPLocalDrops; n != 1 {
		t.Fatalf("IPLocalDrops %d, want 1", n)
	}
	if i.Ssthresh >= ssthresh {
		t.Fatalf("ssthresh %d after a local drop, was %d: want the window reduced (Linux's tcp_enter_cwr)", i.Ssthresh, ssthresh)
	}
	s.advance(rto - time.Millisecond)
	if p := s.c.Info().Probes; p != 0 {
		t.Fatalf("probes %d before the first RTO", p)
	}
	s.advance(time.Millisecond)
	if p := s.c.Info().Probes; p != 1 {
		t.Fatalf("probes %d after the first probe, want 1", p)
	}
	s.advance(ResourceProbeInterval)
	if p := s.c.Info().Probes; p != 2 {
		t.Fatalf("probes %d after the second probe, want 2", p)
	}
	if b := s.c.Info().Backoff; b != 0 {
		t.Fatalf("backoff %d: a local drop must not back the timer off", b)
	}
	s.none()
	d.drop = false
	s.advance(ResourceProbeInterval)
	s.expect(f("Flags [P.], seq 1:101, ack 1, win 64000, length 100 @%v", start+rto+2*ResourceProbeInterval))
	if i := s.c.Info(); i.Probes != 0 || i.BytesInFlight != 100 {
		t.Fatalf("after the data went: probes %d, in flight %d", i.Probes, i.BytesInFlight)
	}
}

// With a user timeout and nothing in flight, the connection times out the
// user timeout after the first probe (Linux's icsk_probes_tstamp), not
// after the data was written.
func TestLocalDrop_UserTimeoutCountsFromTheFirstProbe(t *testing.T) {
	s, d := newDropScript(t, scriptCfg())
	s.passiveOpen()
	const ut = 2 * time.Second
	if err := s.c.SetUserTimeout(ut); err != nil {
		t.Fatal(err)
	}
	rto := s.c.Info().RTO
	d.drop = true
	if _, err := s.c.Write(data(10)); err != nil {
		t.Fatal(err)
	}
	s.advance(rto + ut - time.Millisecond)
	if st := s.c.State(); st != StateEstablished {
		t.Fatalf("state %v before the user timeout ran from the first probe", st)
	}
	s.advance(time.Millisecond)
	if st := s.c.State(); st != StateClosed {
		t.Fatalf("state %v one user timeout after the first probe, want closed", st)
	}
	var ce *ConnError
	if _, err := s.c.Write(data(1)); !errors.As(err, &ce) || ce.Errno != syscall.ETIMEDOUT {
		t.Fatalf("write after the user timeout: %v, want a timeout", err)
	}
	if p := s.c.Info().Probes; p != int(ut/ResourceProbeInterval) {
		t.Fatalf("probes %d, want %d", p, ut/ResourceProbeInterval)
	}
	s.none()
}

// A retransmission timeout whose retransmission is refused counts the
// attempt but does not back off: it tries again ResourceProbeInterval
// later, and the segment goes when the queue takes it.
func TestLocalDrop_RefusedRetransmissionRetriesWithoutBackoff(t *testing.T) {
	s, d := newDropScript(t, scriptCfg())
	s.passiveOpen()
	if _, err := s.c.Write(data(100)); err != nil {
		t.Fatal(err)
	}
	s.expect("Flags [P.], seq 1:101, ack 1, win 64000, length 100")
	rto := s.c.Info().RTO
	d.drop = true
	sent := s.now
	s.advance(rto)
	s.none()
	i := s.c.Info()
	if i.Retransmits != 1 || i.Backoff != 0 || i.Retrans != 0 {
		t.Fatalf("after a refused RTO retransmission: retransmits %d (want 1), backoff %d (want 0), tcpi_retrans %d (want 0)",
			i.Retransmits, i.Backoff, i.Retrans)
	}
	d.drop = false
	s.advance(ResourceProbeInterval)
	s.expect(f("Flags [P.], seq 1:101, ack 1, win 64000, length 100 @%v", sent+rto+ResourceProbeInterval))
	if b := s.c.Info().Backoff; b != 1 {
		t.Fatalf("backoff %d after the retransmission went, want 1", b)
	}
}

// A datagram the host's own queue drops is lost silently, as Linux's UDP
// reports no error for it without IP_RECVERR; only IPLocalDrops counts it.
func TestLocalDrop_UDPSendSucceedsAndIsLost(t *testing.T) {
	s, d := newDropScript(t, scriptCfg())
	u, err := s.h.ListenUDP(netip.MustParseAddrPort("10.0.0.1:5000"))
	if err != nil {
		t.Fatal(err)
	}
	d.drop = true
	if n, err := u.WriteTo([]byte("hello"), s.peer); n != 5 || err != nil {
		t.Fatalf("WriteTo with a dropping local queue: %d, %v; want 5, nil", n, err)
	}
	if len(s.other) != 0 {
		t.Fatal("the dropped datagram left the host")
	}
	c := s.h.Counters()
	if c.IPLocalDrops != 1 || c.UDPOutDatagrams != 0 || c.IPSent != 0 {
		t.Fatalf("counters: IPLocalDrops %d UDPOutDatagrams %d IPSent %d, want 1 0 0", c.IPLocalDrops, c.UDPOutDatagrams, c.IPSent)
	}
	d.drop = false
	if _, err := u.WriteTo([]byte("hello"), s.peer); err != nil {
		t.Fatal(err)
	}
	if len(s.other) != 1 {
		t.Fatalf("%d datagrams left once the queue takes packets, want 1", len(s.other))
	}
}

// An orphan whose data the local queue keeps refusing is given up after
// OrphanRetries probes, as its zero-window probes are.
func TestLocalDrop_OrphanGivesUpAfterOrphanRetries(t *testing.T) {
	cfg := scriptCfg()
	cfg.OrphanRetries = 2
	s, d := newDropScript(t, cfg)
	s.passiveOpen()
	rto := s.c.Info().RTO
	d.drop = true
	if _, err := s.c.Write(data(10)); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Close(); err != nil {
		t.Fatal(err)
	}
	if s.h.NumOrphans() != 1 {
		t.Fatalf("%d orphans, want 1", s.h.NumOrphans())
	}
	s.advance(rto + 2*ResourceProbeInterval - time.Millisecond)
	if s.h.NumOrphans() != 1 {
		t.Fatal("the orphan went before its second probe")
	}
	s.advance(time.Millisecond)
	if s.h.NumOrphans() != 0 {
		t.Fatalf("the orphan is still there after %d refused probes", cfg.OrphanRetries)
	}
}

package stack

import (
	"crypto/sha256"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// newPairCfgs is newPair with a configuration per host.
func newPairCfgs(t testing.TB, seed uint64, delay time.Duration, ca, cb TCPConfig) *pair {
	t.Helper()
	n := newTestNet(t, seed)
	ea, eb := &hostEnv{n: n}, &hostEnv{n: n}
	a, err := NewHost(HostConfig{Name: "a", Env: ea, Seed: seed*2 + 1, TCP: ca})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewHost(HostConfig{Name: "b", Env: eb, Seed: seed*2 + 2, TCP: cb})
	if err != nil {
		t.Fatal(err)
	}
	ea.h, eb.h = a, b
	p := &pair{n: n, a: a, b: b}
	p.ab = &testLink{n: n, to: b, delay: delay}
	p.ba = &testLink{n: n, to: a, delay: delay}
	if _, err := a.AddInterface(netip.PrefixFrom(addrA, 24), p.ab, 1500); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddInterface(netip.PrefixFrom(addrB, 24), p.ba, 1500); err != nil {
		t.Fatal(err)
	}
	return p
}

const orphanWrite = 200_000

// stuckConns opens n connections from a to b whose server side accepts but
// never reads, so that b's 16 KiB window closes while a still holds most
// of the 200,000 bytes its application wrote. b stays alive and answers
// every zero-window probe with a zero window, which by RFC 1122 §4.2.2.17
// keeps a connection open for as long as it goes on.
func stuckConns(t *testing.T, n int, clientCfg TCPConfig) (p *pair, clis, srvs []*Conn) {
	t.Helper()
	p = newPairCfgs(t, 10, time.Millisecond, clientCfg, TCPConfig{RecvBuffer: 16 << 10})
	l, err := p.b.Listen(80, 64)
	if err != nil {
		t.Fatal(err)
	}
	l.SetNotify(func(Event) {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			srvs = append(srvs, c)
		}
	})
	data := randomBytes(1, orphanWrite)
	for range n {
		c, err := p.a.Connect(addrA, netipAP(addrB, 80))
		if err != nil {
			t.Fatal(err)
		}
		if k, err := c.Write(data); k != orphanWrite || err != nil {
			t.Fatalf("write: %d, %v", k, err)
		}
		clis = append(clis, c)
	}
	p.n.run(10*time.Second, nil)
	if len(srvs) != n {
		t.Fatalf("%d connections accepted, want %d", len(srvs), n)
	}
	for _, c := range clis {
		if c.Info().SndWnd != 0 || c.Info().SendBuffered < 150_000 {
			t.Fatalf("setup: %v window %d, %d bytes buffered", c, c.Info().SndWnd, c.Info().SendBuffered)
		}
	}
	return p, clis, srvs
}

// TestOrphanZeroWindowBounded: a connection closed by its application
// while the peer keeps answering probes with a zero window is reset after
// OrphanRetries probes (about 100 s with the defaults), counted, and the
// peer learns of it. Before orphan limits it probed for ever: still in
// FIN_WAIT_1 after 2 h of virtual time with 184 kB buffered.
func TestOrphanZeroWindowBounded(t *testing.T) {
	p, clis, srvs := stuckConns(t, 1, TCPConfig{})
	c, srv := clis[0], srvs[0]
	closedAt := p.n.now
	buffered := c.Info().SendBuffered
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c.State() != StateFinWait1 || p.a.NumOrphans() != 1 {
		t.Fatalf("after Close: %v, %d orphans", c.State(), p.a.NumOrphans())
	}
	var goneAt time.Duration
	p.n.run(closedAt+2*time.Hour, func() bool {
		if goneAt == 0 && p.a.NumConns() == 0 {
			goneAt = p.n.now
		}
		return false
	})
	if goneAt == 0 {
		t.Fatalf("after 2 h the orphan is still there: %v, %d bytes buffered, %d probes sent",
			c, c.Info().SendBuffered, p.a.Counters().TCPZeroWindowProbes)
	}
	life := goneAt - closedAt
	t.Logf("orphan with %d bytes buffered reset %v after Close; %d probes", buffered, life, p.a.Counters().TCPZeroWindowProbes)
	if life > 5*time.Minute {
		t.Errorf("orphan lived %v", life)
	}
	ca := p.a.Counters()
	if ca.TCPAbortOnTimeout != 1 || ca.TCPAbortOnMemory != 0 || p.a.NumOrphans() != 0 {
		t.Errorf("TCPAbortOnTimeout %d, TCPAbortOnMemory %d, %d orphans", ca.TCPAbortOnTimeout, ca.TCPAbortOnMemory, p.a.NumOrphans())
	}
	if ca.TCPZeroWindowProbes != DefaultOrphanRetries {
		t.Errorf("%d zero-window probes, want %d", ca.TCPZeroWindowProbes, DefaultOrphanRetries)
	}
	if ca.TCPRstSent != 1 {
		t.Errorf("TCPRstSent %d, want 1", ca.TCPRstSent)
	}
	if !errors.Is(srv.Err(), syscall.ECONNRESET) || p.b.NumConns() != 0 {
		t.Errorf("server: err %v, %d conns", srv.Err(), p.b.NumConns())
	}
}

// TestOrphanRetriesOff: a negative OrphanRetries keeps RFC 1122's rule for
// orphans too: the connection probes as long as the peer answers.
func TestOrphanRetriesOff(t *testing.T) {
	p, clis, _ := stuckConns(t, 1, TCPConfig{OrphanRetries: -1})
	clis[0].Close()
	p.n.run(p.n.now+2*time.Hour, nil)
	if clis[0].State() != StateFinWait1 || p.a.NumOrphans() != 1 {
		t.Fatalf("%v, %d orphans", clis[0], p.a.NumOrphans())
	}
}

// TestOrphanRetriesCountRTOs: an orphan whose data is in flight and never
// acknowledged is reset after OrphanRetries timeouts rather than
// DataRetries, even though the peer's window is closed (the zero-window
// exemption of the retransmission timer does not apply to orphans).
func TestOrphanRetriesCountRTOs(t *testing.T) {
	p := newPair(t, 11, time.Millisecond, faults{}, TCPConfig{OrphanRetries: 3})
	l, _ := p.b.Listen(80, 4)
	var srv *Conn
	l.SetNotify(func(Event) {
		if c, err := l.Accept(); err == nil {
			srv = c
		}
	})
	c, _ := p.a.Connect(addrA, netipAP(addrB, 80))
	p.n.run(time.Second, nil)
	if srv == nil {
		t.Fatal("not accepted")
	}
	p.ab.drop = func([]byte) bool { return true } // a's segments are lost from now on
	c.Write(randomBytes(2, 5000))
	c.Close()
	p.n.run(p.n.now+time.Hour, func() bool { return p.a.NumConns() == 0 })
	ca := p.a.Counters()
	if p.a.NumConns() != 0 || ca.TCPAbortOnTimeout != 1 || ca.TCPTimeouts != 3 {
		t.Fatalf("%d conns, TCPAbortOnTimeout %d, TCPTimeouts %d", p.a.NumConns(), ca.TCPAbortOnTimeout, ca.TCPTimeouts)
	}
}

// TestMaxOrphans: a Close that would make more than MaxOrphans orphans
// resets that connection at once (Linux __tcp_close with
// tcp_too_many_orphans), counted in TCPAbortOnMemory.
func TestMaxOrphans(t *testing.T) {
	p, clis, srvs := stuckConns(t, 3, TCPConfig{MaxOrphans: 2})
	for _, c := range clis {
		c.Close()
	}
	ca := p.a.Counters()
	if p.a.NumOrphans() != 2 || ca.TCPAbortOnMemory != 1 || ca.TCPRstSent != 1 || clis[2].State() != StateClosed {
		t.Fatalf("%d orphans, TCPAbortOnMemory %d, TCPRstSent %d, third %v", p.a.NumOrphans(), ca.TCPAbortOnMemory, ca.TCPRstSent, clis[2])
	}
	p.n.run(p.n.now+time.Second, nil)
	if !errors.Is(srvs[2].Err(), syscall.ECONNRESET) {
		t.Fatalf("server of the reset orphan: %v", srvs[2].Err())
	}
	if srvs[0].Err() != nil || srvs[1].Err() != nil {
		t.Fatalf("other servers: %v, %v", srvs[0].Err(), srvs[1].Err())
	}
}

// TestOrphanCountLeavesAtTimeWait: an orphan that closes normally stops
// being counted when it reaches TIME_WAIT or CLOSED.
func TestOrphanCountLeavesAtTimeWait(t *testing.T) {
	p := newPair(t, 12, time.Millisecond, faults{}, TCPConfig{})
	l, _ := p.b.Listen(80, 4)
	var srv *app
	l.SetNotify(func(Event) {
		if c, err := l.Accept(); err == nil {
			srv = &app{c: c, wclosed: true, h: sha256.New(), buf: make([]byte, 64<<10)}
			c.SetNotify(func(Event) { srv.pump() }) // reads, and closes after EOF
		}
	})
	c, _ := p.a.Connect(addrA, netipAP(addrB, 80))
	p.n.run(time.Second, nil)
	c.Write(randomBytes(3, 100_000))
	c.Close()
	if p.a.NumOrphans() != 1 {
		t.Fatalf("%d orphans after Close", p.a.NumOrphans())
	}
	p.n.run(p.n.now+time.Minute, func() bool { return c.State() == StateTimeWait })
	if c.State() != StateTimeWait || p.a.NumOrphans() != 0 || srv.got != 100_000 {
		t.Fatalf("%v, %d orphans, server got %d", c, p.a.NumOrphans(), srv.got)
	}
}

// TestOrphanUserTimeout: with a user timeout the orphan is bounded by it
// instead of OrphanRetries, as in Linux.
func TestOrphanUserTimeout(t *testing.T) {
	p, clis, _ := stuckConns(t, 1, TCPConfig{UserTimeout: 10 * time.Minute})
	closedAt := p.n.now
	clis[0].Close()
	p.n.run(closedAt+5*time.Minute, nil)
	if clis[0].State() != StateFinWait1 {
		t.Fatalf("orphan with a 10 min user timeout gone after 5 min: %v", clis[0])
	}
	p.n.run(closedAt+20*time.Minute, func() bool { return p.a.NumConns() == 0 })
	if p.a.NumConns() != 0 || p.a.NumOrphans() != 0 || p.a.Counters().TCPAbortOnTimeout != 1 {
		t.Fatalf("after 20 min: %v, %d orphans, TCPAbortOnTimeout %d", clis[0], p.a.NumOrphans(), p.a.Counters().TCPAbortOnTimeout)
	}
	t.Logf("gone %v after Close", p.n.now-closedAt)
}

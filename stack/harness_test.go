package stack

import (
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// A small discrete-event world for the package's own tests: a virtual
// clock, an event queue, and links between hosts with optional seeded
// faults. It does not depend on package sim.

type tevent struct {
	at  time.Duration
	seq uint64
	fn  func()
}

type testNet struct {
	t      testing.TB
	now    time.Duration
	q      []tevent
	seq    uint64
	rng    *rand.Rand
	events int
}

func newTestNet(t testing.TB, seed uint64) *testNet {
	return &testNet{t: t, rng: rand.New(rand.NewPCG(seed, 42))}
}

func (n *testNet) at(t time.Duration, fn func()) {
	if t < n.now {
		t = n.now
	}
	n.seq++
	e := tevent{t, n.seq, fn}
	n.q = append(n.q, e)
	i := len(n.q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !evLess(n.q[i], n.q[p]) {
			break
		}
		n.q[i], n.q[p] = n.q[p], n.q[i]
		i = p
	}
}

func evLess(a, b tevent) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (n *testNet) pop() tevent {
	top := n.q[0]
	last := len(n.q) - 1
	n.q[0] = n.q[last]
	n.q = n.q[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && evLess(n.q[l], n.q[m]) {
			m = l
		}
		if r < last && evLess(n.q[r], n.q[m]) {
			m = r
		}
		if m == i {
			break
		}
		n.q[i], n.q[m] = n.q[m], n.q[i]
		i = m
	}
	return top
}

// run processes events until done() is true, the queue empties, or the
// virtual time passes limit. It reports whether done() became true.
func (n *testNet) run(limit time.Duration, done func() bool) bool {
	for {
		if done != nil && done() {
			return true
		}
		if len(n.q) == 0 || n.q[0].at > limit {
			if done == nil {
				return true
			}
			return done()
		}
		e := n.pop()
		n.now = e.at
		n.events++
		e.fn()
	}
}

// hostEnv implements Env for one host on a testNet.
type hostEnv struct {
	n       *testNet
	h       *Host
	pending time.Duration
	has     bool
}

func (e *hostEnv) Now() time.Duration { return e.n.now }
func (e *hostEnv) WakeAt(t time.Duration) {
	if e.has && e.pending <= t && e.pending >= e.n.now {
		return
	}
	e.pending, e.has = t, true
	e.n.at(t, func() {
		if e.pending == t {
			e.has = false
		}
		e.h.Advance()
	})
}

// faults of a testLink, all probabilities in [0, 1].
type faults struct {
	loss, dup, corrupt, reorder float64
	reorderDelay                time.Duration
}

type testLink struct {
	n       *testNet
	to      *Host
	ifIndex int
	delay   time.Duration
	f       faults
	sent    int
	tap     func(pkt []byte) // sees every packet as sent
	drop    func(pkt []byte) bool
}

func (l *testLink) Send(pkt []byte) {
	l.sent++
	if l.tap != nil {
		l.tap(pkt)
	}
	if l.drop != nil && l.drop(pkt) {
		return
	}
	r := l.n.rng
	if l.f.loss > 0 && r.Float64() < l.f.loss {
		return
	}
	copies := 1
	if l.f.dup > 0 && r.Float64() < l.f.dup {
		copies = 2
	}
	for range copies {
		p := append([]byte(nil), pkt...)
		if l.f.corrupt > 0 && r.Float64() < l.f.corrupt {
			i := r.IntN(len(p))
			p[i] ^= byte(1 + r.IntN(255))
		}
		d := l.delay
		if l.f.reorder > 0 && r.Float64() < l.f.reorder {
			d += time.Duration(r.Int64N(int64(l.f.reorderDelay) + 1))
		}
		to, idx := l.to, l.ifIndex
		l.n.at(l.n.now+d, func() { to.Deliver(idx, p) })
	}
}

var (
	addrA = netip.MustParseAddr("10.0.0.1")
	addrB = netip.MustParseAddr("10.0.0.2")
)

// pair is two hosts joined by one link each way.
type pair struct {
	n      *testNet
	a, b   *Host
	ab, ba *testLink
	doneAt time.Duration // transferMTU: when both applications had closed
}

func newPair(t testing.TB, seed uint64, delay time.Duration, f faults, cfg TCPConfig) *pair {
	t.Helper()
	return newPairMTU(t, seed, delay, f, cfg, 1500)
}

// newPairMTU is newPair with both interfaces at the given MTU.
func newPairMTU(t testing.TB, seed uint64, delay time.Duration, f faults, cfg TCPConfig, mtu int) *pair {
	t.Helper()
	n := newTestNet(t, seed)
	ea, eb := &hostEnv{n: n}, &hostEnv{n: n}
	a, err := NewHost(HostConfig{Name: "a", Env: ea, Seed: seed*2 + 1, TCP: cfg})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewHost(HostConfig{Name: "b", Env: eb, Seed: seed*2 + 2, TCP: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ea.h, eb.h = a, b
	p := &pair{n: n, a: a, b: b}
	p.ab = &testLink{n: n, to: b, delay: delay, f: f}
	p.ba = &testLink{n: n, to: a, delay: delay, f: f}
	if _, err := a.AddInterface(netip.PrefixFrom(addrA, 24), p.ab, mtu); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddInterface(netip.PrefixFrom(addrB, 24), p.ba, mtu); err != nil {
		t.Fatal(err)
	}
	return p
}

// app is an event-driven application end: it writes out, reads everything,
// half-closes after writing, and closes after reading EOF.
type app struct {
	c       *Conn
	out     []byte
	off     int
	hash    [32]byte
	h       hashState
	got     int
	eof     bool
	wclosed bool
	closed  bool
	err     error
	buf     []byte
	// readLimit > 0 makes a slow reader: at most readLimit bytes per pump,
	// pumped again every readEvery (zero windows, persist probes).
	readLimit int
	readEvery time.Duration
	inPump    bool
	again     bool
}

// slowReader turns a into a slow reader on n.
func (a *app) slowReader(n *testNet, limit int, every time.Duration) {
	a.readLimit, a.readEvery = limit, every
	var tick func()
	tick = func() {
		a.pump()
		if !a.closed && a.err == nil {
			n.at(n.now+every, tick)
		}
	}
	n.at(n.now+every, tick)
}

type hashState = interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
}

func newApp(c *Conn, out []byte) *app {
	a := &app{c: c, out: out, h: sha256.New(), buf: make([]byte, 64<<10)}
	c.SetNotify(func(Event) { a.pump() })
	a.pump()
	return a
}

// pump is re-entrant safe: a callback can run inside a host call the pump
// itself makes (the host flushes notifications when its outermost call
// returns), so a nested pump only asks the running one to go round again.
func (a *app) pump() {
	if a.inPump {
		a.again = true
		return
	}
	a.inPump = true
	for {
		a.again = false
		a.pumpOnce()
		if !a.again {
			break
		}
	}
	a.inPump = false
}

func (a *app) pumpOnce() {
	if a.closed || a.err != nil {
		return
	}
	for a.off < len(a.out) {
		n, err := a.c.Write(a.out[a.off:])
		a.off += n
		if err != nil {
			if !errors.Is(err, ErrWouldBlock) {
				a.err = err
				return
			}
			break
		}
	}
	if a.off == len(a.out) && !a.wclosed && a.c.State() >= StateEstablished {
		a.wclosed = true
		if err := a.c.CloseWrite(); err != nil {
			a.err = err
			return
		}
	}
	for budget := a.readLimit; a.readLimit == 0 || budget > 0; {
		buf := a.buf
		if a.readLimit > 0 {
			buf = a.buf[:min(len(a.buf), budget)]
		}
		n, err := a.c.Read(buf)
		budget -= n
		if n > 0 {
			a.h.Write(a.buf[:n])
			a.got += n
			continue
		}
		if err == io.EOF {
			a.eof = true
		} else if err != nil && !errors.Is(err, ErrWouldBlock) {
			a.err = err
			return
		}
		break
	}
	if a.eof && a.wclosed && !a.closed {
		a.closed = true
		copy(a.hash[:], a.h.Sum(nil))
		if err := a.c.Close(); err != nil {
			a.err = err
		}
	}
}

func netipAP(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

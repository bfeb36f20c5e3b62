package stack

import (
	"crypto/sha256"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// memSrv is a server application that writes out back at once but reads
// nothing until reading is set: a reader slow enough to fill its host's
// memory.
type memSrv struct {
	c       *Conn
	out     []byte
	off     int
	reading bool
	got     int
	h       hashState
	eof     bool
	closed  bool
	err     error
	buf     []byte
	in      bool
}

func newMemSrv(c *Conn, out []byte) *memSrv {
	s := &memSrv{c: c, out: out, h: sha256.New(), buf: make([]byte, 32<<10)}
	c.SetNotify(func(Event) { s.pump() })
	s.pump()
	return s
}

func (s *memSrv) pump() {
	if s.in || s.closed || s.err != nil {
		return
	}
	s.in = true
	defer func() { s.in = false }()
	for s.off < len(s.out) {
		n, err := s.c.Write(s.out[s.off:])
		s.off += n
		if err != nil {
			if !errors.Is(err, ErrWouldBlock) {
				s.err = err
			}
			break
		}
	}
	for s.reading {
		n, err := s.c.Read(s.buf)
		if n > 0 {
			s.h.Write(s.buf[:n])
			s.got += n
			continue
		}
		if err == io.EOF {
			s.eof = true
		} else if err != nil && !errors.Is(err, ErrWouldBlock) {
			s.err = err
		}
		break
	}
	if s.eof && s.off == len(s.out) && !s.closed {
		s.closed = true
		if err := s.c.Close(); err != nil {
			s.err = err
		}
	}
}

// TestHostMemoryBound: 32 clients each send 400 kB to a server host whose
// applications do not read for 20 s, with 4 MiB of buffer memory (the
// receive buffers alone could take 8 MiB). The server host's memory never
// exceeds MemHigh; it enters pressure, drops new SYNs and refuses Connect
// with ENOBUFS, cuts its own writes, and keeps every right edge it has
// advertised. Once the applications read, memory is given back, a new
// connection succeeds, every byte arrives intact and the account returns
// to zero. Windows opened under pressure are smaller than otherwise.
func TestHostMemoryBound(t *testing.T) {
	const (
		N    = 32
		up   = 400_000
		down = 100_000
		high = 4 << 20
	)
	p := newPairCfgs(t, 20, time.Millisecond, TCPConfig{MSL: time.Second}, TCPConfig{MSL: time.Second, MemHigh: high})
	// Right edges advertised by b never move left (RFC 9293 §3.8.6).
	edges := map[uint16]segment.Seq{}
	shrunk := 0
	// The largest window b offers, moving a right edge on, while under
	// memory pressure and otherwise.
	var offerPressure, offerFree uint32
	var pkt segment.Packet
	p.ba.tap = func(b []byte) {
		if pkt.Decode(b, false) != nil || pkt.TCP.Flags&(segment.FlagSYN|segment.FlagRST) != 0 {
			return
		}
		edge := pkt.TCP.Ack.Add(uint32(pkt.TCP.Window) << 3)
		old, ok := edges[pkt.TCP.DstPort]
		// The window field is scaled by 2^3: rounding it down may show the
		// edge up to 7 bytes left of where the host keeps it (rcvAdv).
		if ok && edge.Add(1<<3).LessThanEq(old) {
			shrunk++
		}
		if !ok || edge.GreaterThan(old) {
			edges[pkt.TCP.DstPort] = edge
			w := edge.Sub(pkt.TCP.Ack)
			if p.b.Memory().UnderPressure {
				offerPressure = max(offerPressure, w)
			} else {
				offerFree = max(offerFree, w)
			}
		}
	}
	l, err := p.b.Listen(80, 64)
	if err != nil {
		t.Fatal(err)
	}
	var srvs []*memSrv
	l.SetNotify(func(Event) {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			srvs = append(srvs, newMemSrv(c, randomBytes(uint64(c.RemoteAddr().Port()), down)))
		}
	})
	var clis []*app
	connect := func(seed uint64) *app {
		c, err := p.a.Connect(addrA, netipAP(addrB, 80))
		if err != nil {
			t.Fatal(err)
		}
		a := newApp(c, randomBytes(seed, up))
		clis = append(clis, a)
		return a
	}
	for i := range N {
		connect(uint64(i))
	}
	p.n.run(20*time.Second, nil)

	m := p.b.Memory()
	cb := p.b.Counters()
	t.Logf("after 20 s: used %d, peak %d of high %d; pressures %d, writes cut %d, in-order drops %d, ooo drops %d, pruned %d",
		m.Used, m.Peak, m.High, cb.TCPMemoryPressures, cb.TCPMemWriteLimited, cb.TCPRcvQDrop, cb.TCPOFODrop, cb.TCPOFOPruned)
	if len(srvs) != N {
		t.Fatalf("%d accepted", len(srvs))
	}
	if m.Peak > high || !m.UnderPressure || cb.TCPMemoryPressures == 0 {
		t.Fatalf("memory %+v, TCPMemoryPressures %d", m, cb.TCPMemoryPressures)
	}
	if m.Used < m.Pressure {
		t.Fatalf("used %d: the test does not fill memory", m.Used)
	}
	if cb.TCPMemWriteLimited == 0 {
		t.Errorf("no write of the server was cut short")
	}
	// New connections are refused, both ways, and counted.
	late := connect(1000)
	if _, err := p.b.Connect(addrB, netipAP(addrA, 81)); !errors.Is(err, syscall.ENOBUFS) || p.b.Counters().TCPMemConnectFails != 1 {
		t.Fatalf("Connect under pressure: %v, TCPMemConnectFails %d", err, p.b.Counters().TCPMemConnectFails)
	}
	p.n.run(p.n.now+5*time.Second, nil)
	if late.c.State() != StateSynSent || p.b.Counters().TCPMemSYNDrops == 0 {
		t.Fatalf("late connection %v, TCPMemSYNDrops %d", late.c, p.b.Counters().TCPMemSYNDrops)
	}
	if p.b.Memory().Peak > high {
		t.Fatalf("peak %d", p.b.Memory().Peak)
	}

	// The applications read: memory is given back and things recover.
	for _, s := range srvs {
		s.reading = true
		s.pump()
	}
	done := func() bool {
		if len(srvs) != N+1 {
			return false
		}
		for _, a := range clis {
			if !a.closed {
				return false
			}
		}
		for _, s := range srvs {
			if !s.closed {
				return false
			}
		}
		return true
	}
	// The late connection is accepted after pressure ends; it needs reading too.
	l.SetNotify(func(Event) {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s := newMemSrv(c, randomBytes(uint64(c.RemoteAddr().Port()), down))
			s.reading = true
			s.pump()
			srvs = append(srvs, s)
		}
	})
	if !p.n.run(p.n.now+10*time.Minute, done) {
		t.Fatalf("not done by %v: %d accepted, memory %+v", p.n.now, len(srvs), p.b.Memory())
	}
	for _, a := range clis {
		want := sha256.Sum256(randomBytes(uint64(a.c.LocalAddr().Port()), down))
		if a.err != nil || a.got != down || a.hash != want {
			t.Fatalf("client %v: err %v, got %d", a.c, a.err, a.got)
		}
	}
	for _, s := range srvs {
		if s.err != nil || s.got != up {
			t.Fatalf("server %v: err %v, got %d", s.c, s.err, s.got)
		}
	}
	if c, err := p.b.Connect(addrB, netipAP(addrA, 81)); err != nil {
		t.Fatalf("Connect after recovery: %v", err)
	} else {
		c.Abort()
	}
	p.n.run(p.n.now+time.Minute, func() bool { return p.a.NumConns() == 0 && p.b.NumConns() == 0 })
	if p.a.NumConns() != 0 || p.b.NumConns() != 0 {
		t.Fatalf("leak: %d, %d conns", p.a.NumConns(), p.b.NumConns())
	}
	if ma, mb := p.a.Memory(), p.b.Memory(); ma.Used != 0 || mb.Used != 0 || mb.UnderPressure {
		t.Fatalf("memory not given back: a %+v, b %+v", ma, mb)
	}
	if shrunk > 0 {
		t.Fatalf("b moved an advertised right edge left %d times", shrunk)
	}
	// Under pressure a window opens only over memory already held (or
	// 4 MSS): here the 128 KiB arrays the readers had filled, against the
	// full 256 KiB buffer otherwise.
	if offerPressure == 0 || offerPressure > offerFree/2 {
		t.Fatalf("largest window offered under pressure %d, otherwise %d", offerPressure, offerFree)
	}
	if p.b.Memory().Peak > high {
		t.Fatalf("peak %d", p.b.Memory().Peak)
	}
	t.Logf("recovered by %v; peak %d; largest window offered under pressure %d, otherwise %d", p.n.now, p.b.Memory().Peak, offerPressure, offerFree)
}

// TestMemoryPruneOFO: in-order data that finds no memory makes the
// connection throw its out-of-order data away (counted) and take what then
// fits; the right edge already advertised stays; reading and the peer's
// ACK give the memory back.
func TestMemoryPruneOFO(t *testing.T) {
	cfg := scriptCfg()
	cfg.MemHigh = 20 << 10 // pressure above 13,652 bytes, ends below 10,240
	s := newScript(t, cfg)
	s.acceptSilently(seg{flags: segment.FlagSYN, win: 65535, mss: 1460})
	A := segment.FlagACK
	s.inject(seg{flags: A, seq: 3001, ack: 1, win: 65535, data: data(1000)}) // beyond a hole: held
	if m := s.h.Memory(); m.Used != 4096 || s.c.Info().OutOfOrderBytes != 1000 {
		t.Fatalf("after the out-of-order segment: %+v, %d bytes held", m, s.c.Info().OutOfOrderBytes)
	}
	if n, err := s.c.Write(data(16384)); n != 16384 || err != nil { // the send ring takes the rest
		t.Fatalf("write: %d %v", n, err)
	}
	if m := s.h.Memory(); m.Used != 20<<10 || !m.UnderPressure {
		t.Fatalf("after the write: %+v", m)
	}
	s.out = nil
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(5000)}) // needs 8 KiB: refused
	c := s.h.Counters()
	if c.TCPPruneCalled != 1 || c.TCPOFOPruned != 1 || c.TCPRcvQDrop != 1 || s.c.Info().OutOfOrderBytes != 0 {
		t.Fatalf("PruneCalled %d, OFOPruned %d, RcvQDrop %d, %d bytes out of order", c.TCPPruneCalled, c.TCPOFOPruned, c.TCPRcvQDrop, s.c.Info().OutOfOrderBytes)
	}
	if s.c.Readable() != 4096 || s.h.Memory().Used > 20<<10 {
		t.Fatalf("%d readable, memory %+v", s.c.Readable(), s.h.Memory())
	}
	last := s.out[len(s.out)-1].pkt.TCP
	if uint32(last.Ack)-s.peerISN != 4097 || last.Window != 64000-4096 {
		t.Fatalf("ACK %d win %d: want 4097 and the old right edge, window %d", uint32(last.Ack)-s.peerISN, last.Window, 64000-4096)
	}
	buf := make([]byte, 8192)
	if n, _ := s.c.Read(buf); n != 4096 || string(buf[:n]) != string(data(5000)[:4096]) {
		t.Fatalf("read %d bytes", n)
	}
	if m := s.h.Memory(); m.Used != 16384 {
		t.Fatalf("after reading under pressure the receive ring is not freed: %+v", m)
	}
	// The initial window let 14,600 of the 16,384 bytes out. Their ACK
	// leaves 1,784 in a 16 KiB ring: under pressure it moves to a 2 KiB one,
	// and the host leaves pressure.
	s.inject(seg{flags: A, seq: 4097, ack: 14601, win: 65535})
	if m := s.h.Memory(); m.Used != 2048 || m.UnderPressure || m.Refused || m.Peak != 20<<10 {
		t.Fatalf("after the ACK: %+v", m)
	}
}

// TestMemoryConfig: the defaults scale with the buffers, the thresholds
// must be ordered, and a negative MemHigh removes the bound.
func TestMemoryConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg             TCPConfig
		low, pres, high int64
		bad             bool
	}{
		{TCPConfig{}, 1 << 29, (1 << 30) / 3 * 2, 1 << 30, false},
		{TCPConfig{SendBuffer: 64 << 20, RecvBuffer: 64 << 20}, 1 << 30, (2 << 30) / 3 * 2, 2 << 30, false},
		{TCPConfig{MemHigh: 3000}, 1500, 2000, 3000, false},
		{TCPConfig{MemHigh: 3000, MemPressure: 1000}, 1000, 1000, 3000, false},
		{TCPConfig{MemHigh: 3000, MemLow: 2500}, 0, 0, 0, true},
		{TCPConfig{MemHigh: 3000, MemPressure: 4000}, 0, 0, 0, true},
		{TCPConfig{MemLow: -1}, 0, 0, 0, true},
		{TCPConfig{MemHigh: -1}, -1, -1, -1, false},
	} {
		cfg := tc.cfg
		err := cfg.applyDefaults()
		if tc.bad {
			if err == nil {
				t.Errorf("%+v accepted", tc.cfg)
			}
			continue
		}
		if err != nil || cfg.MemLow != tc.low || cfg.MemPressure != tc.pres || cfg.MemHigh != tc.high {
			t.Errorf("%+v: %v, %d %d %d", tc.cfg, err, cfg.MemLow, cfg.MemPressure, cfg.MemHigh)
		}
	}
}

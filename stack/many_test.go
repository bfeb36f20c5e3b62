package stack

import (
	"crypto/sha256"
	"net/netip"
	"testing"
	"time"
)

// TestManyConnections: 1,000 concurrent connections from one client to one
// server port are distinct (4-tuple demultiplexing), all transfer their
// bytes, and all are torn down.
func TestManyConnections(t *testing.T) {
	const N = 1000
	p := newPair(t, 77, 2*time.Millisecond, faults{loss: 0.01}, TCPConfig{MSL: time.Second, SendBuffer: 16 << 10, RecvBuffer: 16 << 10})
	l, err := p.b.Listen(80, N)
	if err != nil {
		t.Fatal(err)
	}
	var srvs []*app
	l.SetNotify(func(Event) {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			srvs = append(srvs, newApp(c, randomBytes(uint64(c.RemoteAddr().Port()), 3000)))
		}
	})
	clis := make([]*app, N)
	ports := map[uint16]bool{}
	for i := range clis {
		c, err := p.a.Connect(addrA, netipAP(addrB, 80))
		if err != nil {
			t.Fatal(err)
		}
		port := c.LocalAddr().Port()
		if ports[port] {
			t.Fatalf("port %d reused among concurrent connections", port)
		}
		ports[port] = true
		clis[i] = newApp(c, randomBytes(uint64(i), 5000))
	}
	if p.a.NumConns() != N {
		t.Fatalf("a tracks %d connections", p.a.NumConns())
	}
	allDone := func() bool {
		if len(srvs) < N {
			return false
		}
		for _, a := range clis {
			if !a.closed {
				return false
			}
		}
		for _, a := range srvs {
			if !a.closed {
				return false
			}
		}
		return true
	}
	if !p.n.run(10*time.Minute, allDone) {
		t.Fatalf("not all done by %v: %d accepted", p.n.now, len(srvs))
	}
	for i, a := range clis {
		if a.err != nil || a.got != 3000 || a.hash != sha256.Sum256(randomBytes(uint64(a.c.LocalAddr().Port()), 3000)) {
			t.Fatalf("client %d: err %v got %d", i, a.err, a.got)
		}
	}
	for _, a := range srvs {
		if a.err != nil || a.got != 5000 {
			t.Fatalf("server conn %v: err %v got %d", a.c, a.err, a.got)
		}
	}
	p.n.run(p.n.now+5*time.Minute, func() bool { return p.a.NumConns() == 0 && p.b.NumConns() == 0 })
	if p.a.NumConns() != 0 || p.b.NumConns() != 0 {
		t.Fatalf("leak: %d %d", p.a.NumConns(), p.b.NumConns())
	}
}

// Conns lists the tracked connections in creation order.
func TestHostConnsOrder(t *testing.T) {
	p := newPair(t, 3, time.Millisecond, faults{}, TCPConfig{})
	var want []*Conn
	for range 20 {
		c, err := p.a.Connect(addrA, netipAP(addrB, 9))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, c)
	}
	got := p.a.Conns()
	if len(got) != len(want) {
		t.Fatalf("%d conns", len(got))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("conn %d out of order", i)
		}
	}
}

// syncLink delivers into the peer from inside Send: a host must cope with
// being re-entered through Deliver while it is sending.
type syncLink struct{ to *Host }

func (l *syncLink) Send(pkt []byte) { l.to.Deliver(0, pkt) }

func TestSynchronousLinkReentry(t *testing.T) {
	n := newTestNet(t, 1)
	ea, eb := &hostEnv{n: n}, &hostEnv{n: n}
	a, _ := NewHost(HostConfig{Name: "a", Env: ea, Seed: 1})
	b, _ := NewHost(HostConfig{Name: "b", Env: eb, Seed: 2})
	ea.h, eb.h = a, b
	a.AddInterface(netip.PrefixFrom(addrA, 24), &syncLink{b}, 1500)
	b.AddInterface(netip.PrefixFrom(addrB, 24), &syncLink{a}, 1500)
	l, _ := b.Listen(80, 1)
	var srv *app
	l.SetNotify(func(Event) {
		if c, err := l.Accept(); err == nil {
			srv = newApp(c, randomBytes(2, 300000))
		}
	})
	c, err := a.Connect(addrA, netipAP(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	cli := newApp(c, randomBytes(1, 300000))
	n.run(time.Hour, func() bool { return cli.closed && srv != nil && srv.closed })
	if cli.got != 300000 || srv.got != 300000 || cli.hash != sha256.Sum256(randomBytes(2, 300000)) {
		t.Fatalf("client got %d, server got %d\ncli %+v\nsrv %+v", cli.got, srv.got, cli.c.Info(), srv.c.Info())
	}
}

// A connection that has finished gives RACK's segment list back to its
// host, and the host's next connection sends from it.
func TestRackSegsReused(t *testing.T) {
	p := newPair(t, 5, time.Millisecond, faults{}, TCPConfig{RACK: true, MSL: time.Second})
	l, err := p.b.Listen(80, 4)
	if err != nil {
		t.Fatal(err)
	}
	var srvs []*app
	l.SetNotify(func(Event) {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			srvs = append(srvs, newApp(c, nil))
		}
	})
	transfer := func(seed uint64) *app {
		c, err := p.a.Connect(addrA, netipAP(addrB, 80))
		if err != nil {
			t.Fatal(err)
		}
		a := newApp(c, randomBytes(seed, 50000))
		if !p.n.run(p.n.now+time.Minute, func() bool { return a.closed && c.State() == StateTimeWait }) {
			t.Fatalf("connection %d did not reach TIME_WAIT (state %v)", seed, c.State())
		}
		if c.rack.segs != nil {
			t.Fatalf("connection %d in TIME_WAIT keeps a segment list of capacity %d", seed, cap(c.rack.segs))
		}
		return a
	}
	transfer(1)
	spare := p.a.mem.rackSpare
	if len(spare) != 1 || cap(spare[0]) == 0 {
		t.Fatalf("after one connection the host keeps %d segment lists, want 1", len(spare))
	}
	first := &spare[0][:1][0]
	c2, err := p.a.Connect(addrA, netipAP(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	newApp(c2, randomBytes(2, 50000))
	if !p.n.run(p.n.now+time.Minute, func() bool { return len(c2.rack.segs) > 0 }) {
		t.Fatal("the second connection never had a segment in flight")
	}
	if &c2.rack.segs[0] != first || len(p.a.mem.rackSpare) != 0 {
		t.Fatalf("the second connection did not take the list given back (%d left on the host)", len(p.a.mem.rackSpare))
	}
}

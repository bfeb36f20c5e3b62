package stack

import (
	"crypto/sha256"
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

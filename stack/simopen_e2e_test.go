package stack

import (
	"crypto/sha256"
	"testing"
	"time"
)

// TestSimultaneousOpenEndToEnd: two hosts connect to each other's fixed
// port at the same instant, so their SYNs cross (RFC 9293 §3.5 Figure 8).
// Each completes the open on the other's SYN,ACK; then 256 KiB go each way,
// over a clean link and with loss, duplication and reordering; hashes must
// match and both ends must close and leave no connection.
func TestSimultaneousOpenEndToEnd(t *testing.T) {
	cases := []struct {
		name  string
		f     faults
		seeds int
	}{
		{"clean", faults{}, 1},
		{"impaired", faults{loss: 0.05, dup: 0.02, reorder: 0.05, reorderDelay: 3 * time.Millisecond}, 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= uint64(tc.seeds); seed++ {
				simultaneousTransfer(t, seed, 256<<10, tc.f)
			}
		})
	}
}

func simultaneousTransfer(t *testing.T, seed uint64, size int, f faults) {
	t.Helper()
	p := newPair(t, seed, 5*time.Millisecond, f, TCPConfig{MSL: time.Second})
	ca, err := p.a.ConnectFrom(netipAP(addrA.Unmap(), 5000), netipAP(addrB.Unmap(), 6000))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := p.b.ConnectFrom(netipAP(addrB.Unmap(), 6000), netipAP(addrA.Unmap(), 5000))
	if err != nil {
		t.Fatal(err)
	}
	if f == (faults{}) {
		// The SYNs cross at 5 ms; each SYN,ACK arrives at 10 ms and, by
		// itself, completes the open (no third segment is needed).
		p.n.run(10*time.Millisecond, nil)
		if ca.State() != StateEstablished || cb.State() != StateEstablished {
			t.Fatalf("at %v: a %v, b %v; want both ESTABLISHED", p.n.now, ca.State(), cb.State())
		}
	}
	dataA, dataB := randomBytes(seed, size), randomBytes(seed+1e6, size)
	appA, appB := newApp(ca, dataA), newApp(cb, dataB)
	done := func() bool {
		return appA.closed && appB.closed || appA.err != nil || appB.err != nil
	}
	if !p.n.run(30*time.Minute, done) {
		t.Fatalf("seed %d: not finished by %v: a %v got %d, b %v got %d", seed, p.n.now, ca.State(), appA.got, cb.State(), appB.got)
	}
	if appA.err != nil || appB.err != nil {
		t.Fatalf("seed %d: errors: a %v b %v", seed, appA.err, appB.err)
	}
	if appA.got != size || appA.hash != sha256.Sum256(dataB) || appB.got != size || appB.hash != sha256.Sum256(dataA) {
		t.Fatalf("seed %d: a got %d, b got %d bytes; hashes differ", seed, appA.got, appB.got)
	}
	p.n.run(p.n.now+10*time.Minute, func() bool { return p.a.NumConns() == 0 && p.b.NumConns() == 0 })
	if p.a.NumConns() != 0 || p.b.NumConns() != 0 {
		t.Fatalf("seed %d: state leak: a %d conns, b %d", seed, p.a.NumConns(), p.b.NumConns())
	}
	if f == (faults{}) {
		// Both SYNs crossed: each side went through SYN_RECEIVED, sent a
		// SYN,ACK, and established on the other's, with no RST anywhere.
		for _, h := range []*Host{p.a, p.b} {
			c := h.Counters()
			if c.TCPRstSent != 0 || c.TCPRetransSegs != 0 || c.TCPActiveOpens != 1 {
				t.Fatalf("%+v", c)
			}
		}
	}
}

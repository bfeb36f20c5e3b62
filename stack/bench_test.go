package stack

import (
	"net/netip"
	"testing"
	"time"
)

// A zero-delay, unlimited-rate in-memory network for benchmarks: packets
// are copied into recycled buffers and delivered in FIFO order; the clock
// moves only when nothing is in flight and a host has a timer pending.

type fastNet struct {
	now     time.Duration
	pending []fastPkt
	free    [][]byte
	hosts   []*Host
}

type fastPkt struct {
	to *Host
	b  []byte
}

type fastEnv struct{ n *fastNet }

func (e fastEnv) Now() time.Duration   { return e.n.now }
func (e fastEnv) WakeAt(time.Duration) {}

type fastLink struct {
	n  *fastNet
	to *Host
}

func (l *fastLink) Send(pkt []byte) {
	n := l.n
	var b []byte
	if k := len(n.free); k > 0 {
		b = n.free[k-1][:0]
		n.free = n.free[:k-1]
	} else {
		b = make([]byte, 0, 2048)
	}
	b = append(b, pkt...)
	n.pending = append(n.pending, fastPkt{l.to, b})
}

// drain delivers packets until none is in flight; when idle, it moves the
// clock to the earliest timer. It stops when done() holds.
func (n *fastNet) run(done func() bool) {
	for !done() {
		if len(n.pending) == 0 {
			next := time.Duration(-1)
			for _, h := range n.hosts {
				if t, ok := h.NextTimer(); ok && (next < 0 || t < next) {
					next = t
				}
			}
			if next < 0 {
				panic("fastNet: stuck with nothing in flight and no timer")
			}
			if next > n.now {
				n.now = next
			}
			for _, h := range n.hosts {
				h.Advance()
			}
			continue
		}
		for i := 0; i < len(n.pending); i++ {
			p := n.pending[i]
			p.to.Deliver(0, p.b)
			n.free = append(n.free, p.b)
			n.pending[i] = fastPkt{}
		}
		n.pending = n.pending[:0]
	}
}

// bulk is a one-way transfer harness: the client writes, the server reads.
type bulk struct {
	n      *fastNet
	cli    *Conn
	srv    *Conn
	src    []byte
	sink   []byte
	want   int // bytes the client still has to write in this round
	got    int // bytes the server read in this round
	target int
}

func newBulk(tb testing.TB, mtu int) *bulk { return newBulkCC(tb, mtu, "") }

// newBulkCC is newBulk with the named congestion control on both hosts.
func newBulkCC(tb testing.TB, mtu int, cc string) *bulk {
	tb.Helper()
	n := &fastNet{}
	cfg := TCPConfig{MSL: time.Second, CongestionControl: cc}
	if CongestionControlRequiresECN(cc) {
		cfg.ECN = ECNOn // dctcp
	}
	a, err := NewHost(HostConfig{Name: "a", Env: fastEnv{n}, Seed: 1, TCP: cfg})
	if err != nil {
		tb.Fatal(err)
	}
	bh, err := NewHost(HostConfig{Name: "b", Env: fastEnv{n}, Seed: 2, TCP: cfg})
	if err != nil {
		tb.Fatal(err)
	}
	n.hosts = []*Host{a, bh}
	if _, err := a.AddInterface(netip.PrefixFrom(addrA, 24), &fastLink{n, bh}, mtu); err != nil {
		tb.Fatal(err)
	}
	if _, err := bh.AddInterface(netip.PrefixFrom(addrB, 24), &fastLink{n, a}, mtu); err != nil {
		tb.Fatal(err)
	}
	l, err := bh.Listen(80, 1)
	if err != nil {
		tb.Fatal(err)
	}
	k := &bulk{n: n, src: randomBytes(1, 1<<20), sink: make([]byte, 256<<10)}
	k.cli, err = a.Connect(addrA, netipAP(addrB, 80))
	if err != nil {
		tb.Fatal(err)
	}
	n.run(func() bool { return l.Pending() == 1 })
	k.srv, _ = l.Accept()
	k.cli.SetNotify(func(Event) { k.write() })
	k.srv.SetNotify(func(Event) { k.read() })
	return k
}

func (k *bulk) write() {
	for k.want > 0 {
		off := (k.target - k.want) % len(k.src)
		end := min(len(k.src), off+k.want)
		n, err := k.cli.Write(k.src[off:end])
		k.want -= n
		if err != nil {
			return
		}
	}
}

func (k *bulk) read() {
	for {
		n, err := k.srv.Read(k.sink)
		k.got += n
		if err != nil || n == 0 {
			return
		}
	}
}

// round moves size bytes from client to server.
func (k *bulk) round(size int) {
	k.want, k.got, k.target = size, 0, size
	k.write()
	k.n.run(func() bool { return k.got >= size })
}

// BenchmarkBulk: one-way bulk transfer between two hosts over a zero-delay,
// unlimited-rate in-memory link; one op moves 1 MiB. MB/s is payload.
//
//	go test ./stack -run XXX -bench BenchmarkBulk -benchmem -benchtime 1s
//
// The NewReno cases keep their names (mtu=N); CUBIC's are cubic/mtu=N.
func BenchmarkBulk(b *testing.B) {
	for _, bc := range []struct{ cc, prefix string }{{"", ""}, {CCCubic, "cubic/"}} {
		for _, mtu := range []int{1500, 9000} {
			b.Run(bc.prefix+"mtu="+itoa(mtu), func(b *testing.B) {
				benchBulk(b, newBulkCC(b, mtu, bc.cc))
			})
		}
	}
}

func benchBulk(b *testing.B, k *bulk) {
	k.round(4 << 20) // warm up: buffers, rings and queues reach their working size
	segs0 := k.cli.Info().SegsSent
	b.SetBytes(1 << 20)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		k.round(1 << 20)
	}
	b.StopTimer()
	b.ReportMetric(float64(k.cli.Info().SegsSent-segs0)/float64(b.N), "segs/op")
}

// TestBulkZeroAllocs: in steady state, moving data allocates nothing: not
// per segment, not per ACK, not per timer. Both window algorithms (issue 11: CUBIC's float arithmetic and
// HyStart++'s marks are in the control block, nothing per packet).
func TestBulkZeroAllocs(t *testing.T) {
	for _, cc := range []string{CCNewReno, CCCubic, CCDCTCP, CCBBR} {
		k := newBulkCC(t, 1500, cc)
		k.round(4 << 20)
		allocs := testing.AllocsPerRun(5, func() { k.round(1 << 20) })
		if allocs != 0 {
			t.Fatalf("%s: %.1f allocations per MiB transferred (about %d segments), want 0", cc, allocs, (1<<20)/1460)
		}
		if info := k.cli.Info(); info.Retransmits != 0 || info.CongestionControl != cc {
			t.Fatalf("%s: retransmissions on a perfect link, or the wrong algorithm: %+v", cc, info)
		}
	}
}

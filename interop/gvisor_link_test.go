package interop

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/sim/gvisorpeer"
)

var (
	prefixA = netip.MustParsePrefix("10.0.0.1/24")
	prefixB = netip.MustParsePrefix("10.0.0.2/24")
)

// world is a simulated world on the wall-clock driver, closed at clean-up
// after everything registered with onClose.
type world struct {
	w    *sim.World
	loop *sim.Loop
	link *sim.Link

	mu      sync.Mutex
	closers []func()
}

func newWorld(t testing.TB, seed uint64) *world {
	t.Helper()
	w := sim.New(sim.Config{Seed: seed})
	loop, err := w.StartLoop()
	if err != nil {
		t.Fatal(err)
	}
	wd := &world{w: w, loop: loop}
	t.Cleanup(func() {
		wd.mu.Lock()
		cs := wd.closers
		wd.mu.Unlock()
		for i := len(cs) - 1; i >= 0; i-- {
			cs[i]()
		}
		loop.Close()
	})
	return wd
}

func (wd *world) onClose(f func()) {
	wd.mu.Lock()
	wd.closers = append(wd.closers, f)
	wd.mu.Unlock()
}

// connect links nodes a and b (added under those names) in scheduler
// context.
func (wd *world) connect(t testing.TB, a sim.Node, b sim.Node, cfg sim.LinkConfig) {
	t.Helper()
	var err error
	cerr := wd.loop.Call(func() {
		if err = wd.w.AddNode("a", a); err != nil {
			return
		}
		if err = wd.w.AddNode("b", b); err != nil {
			return
		}
		wd.link, err = wd.w.Connect("a", prefixA, "b", prefixB, cfg)
	})
	if cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// gvisorNode returns a gVisor node driven by wd's loop, closed at clean-up.
func (wd *world) gvisorNode(t testing.TB) *gvisorpeer.Node {
	n, err := gvisorpeer.NewNode(gvisorpeer.Config{}, wd.loop.Do)
	if err != nil {
		t.Fatal(err)
	}
	wd.onClose(func() { n.Close() })
	return n
}

// impaired is the link used by the fault tests: a short delay (so that
// reordering can happen) and loss and reordering in both directions.
func impaired(loss, reorder float64) sim.LinkConfig {
	d := sim.DirConfig{Delay: 2 * time.Millisecond, Rate: 200e6, MTU: 1500}
	if loss > 0 {
		d.Faults = append(d.Faults, sim.Loss{P: loss})
	}
	if reorder > 0 {
		d.Faults = append(d.Faults, sim.Reorder{P: reorder})
	}
	return sim.Symmetric("ab", d)
}

// transfer sends body from a connection made by dial to one accepted on l,
// then a short reply back, and checks both byte for byte.
func transfer(t testing.TB, l net.Listener, dial func(ctx context.Context) (net.Conn, error), body []byte) {
	t.Helper()
	type result struct {
		got []byte
		err error
	}
	res := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			res <- result{nil, err}
			return
		}
		defer c.Close()
		// A deadline, so that a stalled transfer fails the test with what
		// arrived instead of hanging it until the binary's timeout.
		c.SetDeadline(time.Now().Add(time.Minute))
		got, err := io.ReadAll(c)
		if err == nil {
			_, err = c.Write([]byte("done"))
		}
		res <- result{got, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := dial(ctx)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := c.Write(body); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	reply, err := io.ReadAll(c)
	r := <-res
	if r.err != nil {
		t.Fatalf("receiver: %v (after %d of %d bytes)", r.err, len(r.got), len(body))
	}
	if !bytes.Equal(r.got, body) {
		t.Fatalf("receiver got %d bytes, not the %d sent (first difference at %d)", len(r.got), len(body), firstDiff(r.got, body))
	}
	if err != nil || string(reply) != "done" {
		t.Fatalf("reply %q, %v; want \"done\"", reply, err)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func randomBody(seed uint64, n int) []byte {
	b := make([]byte, n)
	io.ReadFull(bodyReader(seed, int64(n)), b)
	return b
}

// TestGVisorOverSimLink validates the bridge on a simulated link: two gVisor
// hosts move data both ways through sim's link, faults included.
func TestGVisorOverSimLink(t *testing.T) {
	for _, tc := range []struct {
		name          string
		loss, reorder float64
	}{
		{"clean", 0, 0},
		{"loss5%+reorder10%", 0.05, 0.10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld(t, 1)
			a, b := wd.gvisorNode(t), wd.gvisorNode(t)
			wd.connect(t, a, b, impaired(tc.loss, tc.reorder))
			l, err := b.Host().Listen(5001)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			transfer(t, l, func(ctx context.Context) (net.Conn, error) {
				return a.Host().Dial(ctx, netip.MustParseAddrPort("10.0.0.2:5001"))
			}, randomBody(5, 512<<10))
			var st sim.DirStats
			wd.loop.Call(func() { st = wd.link.Stats(0) })
			if tc.loss > 0 && st.DropFault == 0 {
				t.Errorf("link stats %+v: the faults dropped nothing", st)
			}
			t.Logf("a→b: %+v", st)
		})
	}
}

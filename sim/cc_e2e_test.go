package sim

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// shareThrough runs one long bulk flow per entry of ccs from a client to a
// server over the bottleneck d (each flow's connection set to its
// algorithm with Conn.SetCongestionControl), all started at 0, and returns
// the bytes the server had read from each after warm and by end.
func shareThrough(t *testing.T, d DirConfig, ccs []string, warm, end time.Duration) (before, after []int) {
	t.Helper()
	w := New(Config{Seed: 1})
	tcp := stack.TCPConfig{SendBuffer: 8 << 20, RecvBuffer: 8 << 20}
	client := newNetHost(t, w, "client", tcp)
	server := newNetHost(t, w, "server", tcp)
	if _, err := w.Connect("client", netClientAddr, "server", netServerAddr, LinkConfig{Name: "bottleneck", AB: d, BA: DirConfig{Delay: d.Delay}}); err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen(80, 8)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint16]int{} // by the client's port
	lq := NewWaitQueue("accept")
	ln.SetNotify(func(stack.Event) { lq.WakeAll() })
	w.Spawn("server", func(tk *Task) {
		for {
			c, err := ln.Accept()
			if err != nil {
				tk.Wait(lq, 0)
				continue
			}
			w.Spawn("conn", func(tk *Task) {
				q := NewWaitQueue("read")
				c.SetNotify(func(stack.Event) { q.WakeAll() })
				b := make([]byte, 64<<10)
				port := c.RemoteAddr().Port()
				for {
					k, err := c.Read(b)
					got[port] += k
					if errors.Is(err, stack.ErrWouldBlock) {
						tk.Wait(q, 0)
					} else if err != nil {
						return
					}
				}
			})
		}
	})
	ports := make([]uint16, len(ccs))
	for i, cc := range ccs {
		w.Spawn("client", func(tk *Task) {
			c, err := client.Connect(netip.Addr{}, netip.AddrPortFrom(netServerAddr.Addr(), 80))
			if err != nil {
				t.Error(err)
				return
			}
			if err := c.SetCongestionControl(cc); err != nil {
				t.Error(err)
				return
			}
			ports[i] = c.LocalAddr().Port()
			q := NewWaitQueue("write")
			c.SetNotify(func(stack.Event) { q.WakeAll() })
			buf := make([]byte, 256<<10)
			for {
				_, err := c.Write(buf)
				if errors.Is(err, stack.ErrWouldBlock) {
					tk.Wait(q, 0)
				} else if err != nil {
					return
				}
			}
		})
	}
	snap := func() []int {
		r := make([]int, len(ccs))
		for i, p := range ports {
			r[i] = got[p]
		}
		return r
	}
	if err := w.RunUntil(warm); err != nil && !errors.Is(err, ErrTimeLimit) {
		t.Fatal(err)
	}
	before = snap()
	if err := w.RunUntil(end); err != nil && !errors.Is(err, ErrTimeLimit) {
		t.Fatal(err)
	}
	after = snap()
	// End the tasks, all still parked (the flows never finish).
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return before, after
}

// BBR and CUBIC sharing a 10 Mbit/s, 40 ms bottleneck (BDP 50 kB, 34
// packets of 1500 bytes) with a FIFO of 0.5, 1, 2 and 8 BDP: the shares of
// the link over 10 s to 40 s. The published shape (Cardwell et al. 2016,
// Hock et al. 2017, Ware et al. 2019, all BBRv1): BBR takes most of a
// shallow buffer, CUBIC gains as the buffer deepens. BBRv3's loss
// response makes ours flatter (docs/queues.md): the test asserts BBR keeps
// at least a quarter of a 0.5 BDP buffer, its share there is at least 0.1 above
// its share at 8 BDP, and the two flows use the link.
func TestBBRCubicShares(t *testing.T) {
	if testing.Short() {
		t.Skip("40 s of virtual time per buffer size")
	}
	share := map[float64]float64{}
	for _, bdps := range []float64{0.5, 1, 2, 8} {
		q := int(bdps*34 + 0.5)
		d := DirConfig{Rate: 10_000_000, Delay: 20 * time.Millisecond, Qdisc: DropTail{Packets: q}}
		b, a := shareThrough(t, d, []string{stack.CCBBR, stack.CCCubic}, 10*time.Second, 40*time.Second)
		bbr, cubic := float64(a[0]-b[0]), float64(a[1]-b[1])
		share[bdps] = bbr / (bbr + cubic)
		t.Logf("%.1f BDP (%d packets): bbr %.2f Mbit/s, cubic %.2f Mbit/s; bbr's share %.2f",
			bdps, q, bbr*8/30e6, cubic*8/30e6, share[bdps])
		if (bbr+cubic)*8/30e6 < 9 {
			t.Errorf("%.1f BDP: the two flows used %.2f Mbit/s of 10", bdps, (bbr+cubic)*8/30e6)
		}
	}
	if share[0.5] < 0.25 {
		t.Errorf("0.5 BDP: bbr's share %.2f, want at least 0.25", share[0.5])
	}
	if share[0.5] < share[8]+0.1 {
		t.Errorf("bbr's share at 0.5 BDP %.2f not 0.1 above its share at 8 BDP %.2f", share[0.5], share[8])
	}
}

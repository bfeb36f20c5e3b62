package sim

import (
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// bulkThrough sends size bytes from a client to a server over one link whose
// client→server direction is the bottleneck d (the reverse direction has
// d's delay and no limit), with TCP buffers of buf bytes. It returns the
// bottleneck's counters and the time the server read the last byte.
func bulkThrough(t *testing.T, d DirConfig, size, buf int) (DirStats, time.Duration) {
	t.Helper()
	w := New(Config{Seed: 1})
	tcp := stack.TCPConfig{SendBuffer: buf, RecvBuffer: buf}
	client := newNetHost(t, w, "client", tcp)
	server := newNetHost(t, w, "server", tcp)
	l, err := w.Connect("client", netClientAddr, "server", netServerAddr, LinkConfig{Name: "bottleneck", AB: d, BA: DirConfig{Delay: d.Delay}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen(80, 8)
	if err != nil {
		t.Fatal(err)
	}
	lq := NewWaitQueue("accept")
	ln.SetNotify(func(stack.Event) { lq.WakeAll() })
	got := 0
	var done time.Duration
	w.Spawn("server", func(tk *Task) {
		var c *stack.Conn
		for {
			if c, err = ln.Accept(); err == nil {
				break
			}
			tk.Wait(lq, 0)
		}
		q := NewWaitQueue("read")
		c.SetNotify(func(stack.Event) { q.WakeAll() })
		b := make([]byte, 64<<10)
		for {
			n, err := c.Read(b)
			got += n
			switch {
			case err == nil:
			case errors.Is(err, stack.ErrWouldBlock):
				tk.Wait(q, 0)
			case err == io.EOF:
				done = w.Now()
				c.Close()
				return
			default:
				t.Errorf("read: %v", err)
				return
			}
		}
	})
	w.Spawn("client", func(tk *Task) {
		c, err := client.Connect(netip.Addr{}, netip.AddrPortFrom(netServerAddr.Addr(), 80))
		if err != nil {
			t.Error(err)
			return
		}
		q := NewWaitQueue("write")
		c.SetNotify(func(stack.Event) { q.WakeAll() })
		rest := make([]byte, size)
		for len(rest) > 0 {
			n, err := c.Write(rest)
			rest = rest[n:]
			if errors.Is(err, stack.ErrWouldBlock) {
				tk.Wait(q, 0)
			} else if err != nil {
				t.Errorf("write: %v", err)
				return
			}
		}
		c.Close()
	})
	if err := w.RunUntil(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if got != size {
		t.Fatalf("server read %d of %d bytes", got, size)
	}
	return l.Stats(0), done
}

// A bulk TCP flow through a 10 Mbit/s bottleneck (20 ms RTT) with a large
// buffer: drop-tail lets the queue grow to what the TCP window allows (well
// over 100 ms of sojourn at the 99th percentile); CoDel, FQ-CoDel and PIE
// keep it near their targets (after the start-up transient: 32 MiB make
// the first slow start's overshoot less than 1 % of the packets), and the
// transfer still runs near the link rate.
func TestQdiscBulkSojourn(t *testing.T) {
	const size = 32 << 20
	const buf = 1 << 20
	base := DirConfig{Rate: 10_000_000, Delay: 10 * time.Millisecond}
	ideal := time.Duration(float64(size*8) / 10e6 * float64(time.Second))
	for _, tc := range []struct {
		name    string
		qdisc   Qdisc
		queue   int
		maxP99  time.Duration // upper bound, or 0
		minP99  time.Duration // lower bound, or 0
		maxMean time.Duration // upper bound, or 0
	}{
		// Measured (seed 1): drop-tail p99 846 ms, mean 805 ms; codel and
		// fq_codel (one flow: the same) p99 10.5 ms, mean 4.3 ms; pie p99
		// 63 ms, mean 18.6 ms (target 15 ms); red p99 34 ms, mean 8 ms.
		{"drop-tail", nil, 1000, 0, 100 * time.Millisecond, 0},
		{"codel", CoDel{}, 0, 15 * time.Millisecond, 0, 8 * time.Millisecond},
		{"fq_codel", FQCoDel{}, 0, 15 * time.Millisecond, 0, 8 * time.Millisecond},
		{"pie", PIE{}, 0, 80 * time.Millisecond, 0, 25 * time.Millisecond},
		{"red", RED{Gentle: true}, 0, 40 * time.Millisecond, 0, 12 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := base
			d.QueuePackets, d.Qdisc = tc.queue, tc.qdisc
			st, done := bulkThrough(t, d, size, buf)
			t.Logf("%s: sojourn min %v mean %v p99 %v max %v; enqueued %d, drops %d (overflow %d, aqm %d), marked %d; max queue %d; done at %v (ideal %v)",
				tc.name, st.SojournMin, st.SojournMean, st.SojournP99, st.SojournMax, st.Enqueued, st.DropQueue, st.DropOverflow, st.DropAQM, st.ECNMarked, st.MaxQueue, done, ideal)
			if tc.minP99 > 0 && st.SojournP99 < tc.minP99 {
				t.Errorf("p99 sojourn %v, want above %v", st.SojournP99, tc.minP99)
			}
			if tc.maxP99 > 0 && st.SojournP99 > tc.maxP99 {
				t.Errorf("p99 sojourn %v, want at most %v", st.SojournP99, tc.maxP99)
			}
			if tc.maxMean > 0 && st.SojournMean > tc.maxMean {
				t.Errorf("mean sojourn %v, want at most %v", st.SojournMean, tc.maxMean)
			}
			if tc.qdisc != nil && st.DropAQM == 0 {
				t.Error("the discipline never dropped")
			}
			// Goodput within 25 % of the link rate (slow start and the
			// AQM's drops cost some).
			if done > ideal*5/4+time.Second/2 {
				t.Errorf("transfer took %v, ideal %v", done, ideal)
			}
		})
	}
}

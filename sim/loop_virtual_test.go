package sim

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// virtualPair is loopPair on a virtual loop: no synctest bubble.
func virtualPair(t *testing.T, cfg Config, d DirConfig) (*netPair, *Loop, *Net, *Net) {
	t.Helper()
	return startPair(t, cfg, d, true)
}

// net/http's own server and client, with their goroutines, run over a
// virtual loop outside any bubble: a path of 2 × 250 ms takes its virtual
// time, and two runs give the same events.
func TestVirtualLoopHTTP(t *testing.T) {
	defer goleak.VerifyNone(t)
	run := func() ([32]byte, time.Duration) {
		p, l, _, _ := virtualPair(t, Config{Seed: 3, Log: true}, DirConfig{Delay: 250 * time.Millisecond, Rate: 10e6,
			QueuePackets: 100, Faults: []Fault{Loss{P: 0.02}}})
		body := payload(60_000)
		hs, err := StartHTTP(l, p.client, p.server, 80, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Date"] = nil // the real clock's date would differ per run
			w.Write(body)
		}))
		if err != nil {
			t.Fatal(err)
		}
		start := l.Now()
		for i := range 4 {
			resp, err := hs.Client.Get(fmt.Sprintf("http://server.example/%d", i))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || len(b) != len(body) {
				t.Fatalf("request %d: %d bytes, %v", i, len(b), err)
			}
		}
		took := l.Now() - start
		if err := hs.Close(); err != nil {
			t.Fatal(err)
		}
		// The handshake and four request/response exchanges, each at
		// least one round trip of 500 ms.
		if took < 5*500*time.Millisecond {
			t.Errorf("4 GETs on a 500 ms round trip took %v of virtual time", took)
		}
		return p.w.Log().Hash(), took
	}
	h1, t1 := run()
	h2, t2 := run()
	if h1 != h2 || t1 != t2 {
		t.Errorf("two runs with seed 3: %x in %v vs %x in %v", h1, t1, h2, t2)
	}
}

// Several goroutines, each with its own connection, at once: the work
// they submit at one instant is serviced in socket order, so the events
// are the same every run.
func TestVirtualLoopParallelDeterministic(t *testing.T) {
	defer goleak.VerifyNone(t)
	run := func() [32]byte {
		p, l, cn, sn := virtualPair(t, Config{Seed: 5, Log: true}, DirConfig{Delay: 10 * time.Millisecond, Rate: 5e6, QueuePackets: 30})
		ln, err := sn.Listen("tcp", ":7")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // echo server
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					io.Copy(c, c)
					c.Close()
				}()
			}
		}()
		conns := make([]net.Conn, 4)
		for i := range conns { // dialled one after another: ports in order
			if conns[i], err = cn.Dial("tcp", "server.example:7"); err != nil {
				t.Fatal(err)
			}
		}
		var cw sync.WaitGroup
		for i, c := range conns {
			cw.Add(1)
			go func() {
				defer cw.Done()
				msg := payload(20_000 + 7_000*i)
				go func() { c.Write(msg); c.(*Conn).CloseWrite() }()
				got, err := io.ReadAll(c)
				if err != nil || len(got) != len(msg) {
					t.Errorf("conn %d: echoed %d of %d bytes, %v", i, len(got), len(msg), err)
				}
				c.Close()
			}()
		}
		cw.Wait()
		ln.Close()
		wg.Wait()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return p.w.Log().Hash()
	}
	if a, b := run(), run(); a != b {
		t.Errorf("two runs with seed 5 gave different event logs: %x vs %x", a, b)
	}
}

// A deadline d from Net.Now is d of virtual time exactly; one from
// time.Now about d, less the real time it took to set it.
func TestVirtualLoopDeadline(t *testing.T) {
	defer goleak.VerifyNone(t)
	_, l, cn, sn := virtualPair(t, Config{}, DirConfig{Delay: time.Millisecond})
	defer l.Close()
	ln, err := sn.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c) // never answers
		}
	}()
	c, err := cn.Dial("tcp", "server.example:80")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := l.Now()
	c.SetReadDeadline(cn.Now().Add(3 * time.Second))
	_, err = c.Read(make([]byte, 10))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want a deadline", err)
	}
	if took := l.Now() - start; took != 3*time.Second {
		t.Errorf("the 3 s deadline from Net.Now came after %v of virtual time", took)
	}
	start = l.Now()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err = c.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want a deadline", err)
	}
	if took := l.Now() - start; took > 2*time.Second || took < 1900*time.Millisecond {
		t.Errorf("the 2 s deadline from time.Now came after %v of virtual time", took)
	}
	// A deadline in the past fails at once.
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read after a past deadline: %v", err)
	}
}

func TestAllBlocked(t *testing.T) {
	dump := func(states ...string) []byte {
		var b []byte
		b = append(b, "goroutine 1 [running]:\nmain.main()\n\t/x.go:1 +0x1\n"...)
		for i, s := range states {
			b = fmt.Appendf(b, "\ngoroutine %d [%s]:\nsome.fn()\n\t/y.go:2 +0x2\n", i+2, s)
		}
		return b
	}
	for _, tc := range []struct {
		states []string
		want   bool
	}{
		{nil, true},
		{[]string{"chan receive", "select", "sync.Mutex.Lock", "IO wait", "sleep", "select (no cases)"}, true},
		{[]string{"chan receive, 3 minutes"}, true},
		{[]string{"chan receive", "runnable"}, false},
		{[]string{"running"}, false},
		{[]string{"syscall"}, false},
		{[]string{"preempted"}, false},
	} {
		if got := allBlocked(dump(tc.states...), false); got != tc.want {
			t.Errorf("states %q: allBlocked %v, want %v", tc.states, got, tc.want)
		}
	}
	sig := []byte("goroutine 1 [running]:\nmain.main()\n\ngoroutine 6 [syscall]:\nos/signal.signal_recv()\n\t/r/sigqueue.go:152 +0x98\n")
	if allBlocked(dump("syscall"), true) != true {
		t.Error("lenient: a goroutine in a system call counted as running")
	}
	prof := []byte("goroutine 1 [running]:\nmain.main()\n\ngoroutine 7 [syscall]:\nruntime/pprof.readProfile()\n\t/r/cpuprof.go:251 +0x4a\n")
	if !allBlocked(prof, false) {
		t.Error("the CPU profiler's reader counted as running")
	}
	if !allBlocked(sig, false) {
		t.Error("os/signal's receiver in a system call counted as running")
	}
	other := []byte("goroutine 1 [running]:\nmain.main()\n\ngoroutine 9 [runnable]:\ngithub.com/tcpsim/tcpsim/sim.(*Loop).settle(0xc000)\n\t/s/quiesce.go:40 +0x1\n")
	if !allBlocked(other, false) {
		t.Error("another virtual loop's settle counted as work")
	}
}

// On a link without delay every event falls within nanoseconds of each
// other, so the writer's and the reader's goroutines run between almost
// every pair of events: the hardest case for the loop's settling. The
// same seed gives the same events.
func TestVirtualLoopZeroDelayDeterministic(t *testing.T) {
	defer goleak.VerifyNone(t)
	run := func() ([32]byte, int64) {
		p, l, cn, sn := virtualPair(t, Config{Seed: 2, Log: true}, DirConfig{MTU: 1500})
		ln, err := sn.Listen("tcp", ":9")
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan int64, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				got <- -1
				return
			}
			n, _ := io.CopyBuffer(io.Discard, c, make([]byte, 32<<10))
			c.Close()
			got <- n
		}()
		c, err := cn.Dial("tcp", "server.example:9")
		if err != nil {
			t.Fatal(err)
		}
		buf := payload(256 << 10)
		for range 8 {
			if _, err := c.Write(buf); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
		n := <-got
		ln.Close()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return p.w.Log().Hash(), n
	}
	h1, n1 := run()
	h2, n2 := run()
	if n1 != 8*256<<10 || n2 != n1 {
		t.Fatalf("received %d and %d bytes, want %d", n1, n2, 8*256<<10)
	}
	if h1 != h2 {
		t.Errorf("two runs with seed 2 gave different event logs: %x vs %x", h1, h2)
	}
}

// A UDP read deadline wakes its reader before the loop moves on, even
// when the next event is far away: the reader times out at its deadline,
// not at the next event.
func TestVirtualLoopUDPDeadlineBeforeLaterEvent(t *testing.T) {
	defer goleak.VerifyNone(t)
	p, l, cn, _ := virtualPair(t, Config{}, DirConfig{Delay: time.Millisecond})
	defer l.Close()
	if err := l.Call(func() { p.w.At(10*time.Minute, func() {}) }); err != nil {
		t.Fatal(err)
	}
	c, err := cn.Dial("udp", "server.example:53")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := l.Now()
	c.SetReadDeadline(cn.Now().Add(time.Second))
	if _, err := c.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want a deadline", err)
	}
	if took := l.Now() - start; took != time.Second {
		t.Errorf("the 1 s deadline came after %v of virtual time (the next event was at 10 min)", took)
	}
}

// Two small writes at one instant reach TCP as two writes, as with a
// kernel: with Nagle's algorithm on, the second waits for the first's ACK.
func TestVirtualLoopWritesStaySeparate(t *testing.T) {
	defer goleak.VerifyNone(t)
	_, l, cn, sn := virtualPair(t, Config{}, DirConfig{Delay: 10 * time.Millisecond})
	defer l.Close()
	ln, err := sn.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type read struct {
		n  int
		at time.Duration
	}
	reads := make(chan read, 2)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 100)
		for range 2 {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			reads <- read{k, l.Now()}
		}
	}()
	c, err := cn.Dial("tcp", "server.example:80")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := l.Now()
	c.Write([]byte("first piece"))
	c.Write([]byte("second"))
	r1, r2 := <-reads, <-reads
	if r1.n != len("first piece") || r2.n != len("second") {
		t.Fatalf("reads of %d and %d bytes: the two writes were sent as one", r1.n, r2.n)
	}
	// The first arrives after one way, the second after the first's ACK
	// came back and it went out: three ways.
	if d1, d2 := r1.at-start, r2.at-start; d1 < 10*time.Millisecond || d2 < 30*time.Millisecond {
		t.Errorf("reads after %v and %v; want the second held by Nagle until the first's ACK (≥ 30 ms)", d1, d2)
	}
}

package simnet_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/simnet"
)

// The yardstick: HTTP over a lossy link in under ten lines of
// set-up (here three), on fake time.
func TestHTTPLossySynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(t, simnet.Options{Link: simnet.Link{Delay: 50 * time.Millisecond, Rate: 10_000_000, Loss: 0.01}})
		n.Host("server").Serve(":80", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 1<<20)) }))
		resp, err := n.Host("client").HTTPClient().Get("http://server/")

		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || len(b) != 1<<20 {
			t.Fatalf("got %d bytes, %v", len(b), err)
		}
	})
}

// recorder captures a test's failures so that a test can check the kit's
// messages.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Error(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprint(args...))
}

func (r *recorder) Errorf(format string, args ...any) { r.Error(errors.New(format)) }

func (r *recorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

// A client waits for an answer its server never sends (the server forgot
// to reply): instead of synctest's deadlock panic, the test fails with a
// line naming the call, the hosts, the connection and both ends' states,
// and the blocked Read returns.
func TestStallReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{TB: t}
		n := simnet.New(rec, simnet.Options{})
		c, s, err := n.Pipe("client", "server")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c.Write([]byte("ping\n"))
		start := time.Now()
		_, err = c.Read(make([]byte, 10)) // the server never answers
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked Read returned %v, want net.ErrClosed", err)
		}
		if d := time.Since(start); d < 10*time.Minute || d > 12*time.Minute {
			t.Errorf("the stall was reported after %v, want about 10m", d)
		}
		msg := rec.all()
		t.Logf("the report:\n%s", msg)
		for _, want := range []string{
			"simnet: the test is stuck",
			"client: Read on client 10.0.0.1:",
			"→ server 10.0.0.2:",
			"[ESTABLISHED, 0 bytes unread, 0 unsent]",
			"waits for data or a FIN from server, whose end is ESTABLISHED",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("the report lacks %q", want)
			}
		}
		if lines := strings.Count(msg, "\n") + 1; lines > 5 {
			t.Errorf("the report has %d lines, want a few", lines)
		}
	})
}

// Misuse gets errors that say what to do.
func TestMisuseErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(t, simnet.Options{})
		_, err := n.Host("client").Dial("nowhere:80")
		var dns *net.DNSError
		if !errors.As(err, &dns) || !dns.IsNotFound || !strings.Contains(err.Error(), `create it with n.Host("nowhere")`) {
			t.Errorf("dial to an unknown host: %v", err)
		}
		if _, err := n.Host("server").Listen(":80"); err != nil {
			t.Fatal(err)
		}
		_, err = n.Host("server").Listen(":80")
		if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "close that listener first") {
			t.Errorf("second Listen: %v", err)
		}
		if _, err := n.Host("server").Listen("80"); err == nil || !strings.Contains(err.Error(), `give ":port"`) {
			t.Errorf("Listen(\"80\"): %v", err)
		}
		_, err = n.Host("client").Dial("server:81")
		if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), `host "server" listens on :80: call n.Host("server").Listen(":81") or Serve first`) {
			t.Errorf("dial to a closed port: %v", err)
		}
		var zero simnet.Net
		if _, err := zero.Host("x").Dial("y:1"); err == nil || !strings.Contains(err.Error(), "simnet.New(t, simnet.Options{})") {
			t.Errorf("zero Net: %v", err)
		}
		if _, err := simnet.Start(simnet.Options{Link: simnet.Link{Loss: 5}}); err == nil || !strings.Contains(err.Error(), "Link.Loss = 5: a probability must be in [0, 1]") {
			t.Errorf("Loss 5: %v", err)
		}
		if _, err := simnet.Start(simnet.Options{Link: simnet.Link{Reorder: 0.1}}); err == nil || !strings.Contains(err.Error(), "needs a non-zero Link.Delay") {
			t.Errorf("Reorder without delay: %v", err)
		}
		rec := &recorder{TB: t}
		m := simnet.New(rec, simnet.Options{})
		m.Host("a")
		m.Partition("a", "b")
		if !strings.Contains(rec.all(), `no host named "b" (hosts: a); create it with n.Host("b") first`) {
			t.Errorf("Partition with an unknown host: %q", rec.all())
		}
	})
}

// Hold queues a direction's packets; Release delivers them in order.
// Partition is one-way on a Path.
func TestHoldReleaseAndOneWayPartition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(t, simnet.Options{Link: simnet.Link{Delay: 10 * time.Millisecond}})
		c, s, err := n.Pipe("client", "server")
		if err != nil {
			t.Fatal(err)
		}
		up := n.Path("client", "server")
		up.Hold()
		c.Write([]byte("held"))
		s.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := s.Read(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read while held: %v, want a deadline error", err)
		}
		if k := up.Held(); k == 0 {
			t.Fatalf("Held() = 0 after a write")
		}
		up.Release()
		s.SetReadDeadline(time.Time{})
		b := make([]byte, 4)
		start := time.Now()
		if _, err := io.ReadFull(s, b); err != nil || string(b) != "held" {
			t.Fatalf("after Release: %q, %v", b, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("the held bytes took %v after Release", d)
		}

		// One way: the server's bytes still reach the client.
		up.Partition()
		s.Write([]byte("down"))
		if _, err := io.ReadFull(c, b); err != nil || string(b) != "down" {
			t.Fatalf("server → client during a client → server partition: %q, %v", b, err)
		}
		up.Repair()
	})
}

// SetDelay and SetRate change a path while connections run. (Each socket
// call costs the loop's service step a nanosecond, hence the margins.)
func TestSetDelayAndRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(t, simnet.Options{Link: simnet.Link{Delay: 10 * time.Millisecond}})
		c, s, err := n.Pipe("client", "server")
		if err != nil {
			t.Fatal(err)
		}
		go io.Copy(s, s)
		rtt := func() time.Duration {
			start := time.Now()
			c.Write([]byte("x"))
			c.Read(make([]byte, 1))
			return time.Since(start)
		}
		if d := rtt(); d < 20*time.Millisecond || d > 21*time.Millisecond {
			t.Errorf("RTT %v, want 20ms", d)
		}
		n.Path("server", "client").SetDelay(100 * time.Millisecond)
		if d := rtt(); d < 120*time.Millisecond || d > 121*time.Millisecond {
			t.Errorf("RTT with 100ms more one way: %v, want 120ms", d)
		}
		n.Path("server", "client").SetDelay(0)
		n.Path("client", "server").SetRate(1_000_000)
		start := time.Now()
		go c.Write(make([]byte, 1<<20))
		if _, err := io.ReadFull(c, make([]byte, 1<<20)); err != nil {
			t.Fatal(err)
		}
		// 1 MiB at 1 Mbit/s takes about 8.4 s plus headers.
		if d := time.Since(start); d < 8*time.Second || d > 12*time.Second {
			t.Errorf("1 MiB at 1 Mbit/s took %v", d)
		}
	})
}

// A silent crash: the peer hears nothing until it sends to the restarted
// host, whose fresh stack resets the stale connection.
func TestSilentCrashRestart(t *testing.T) {
	for _, d := range []simnet.Driver{simnet.Goroutines, simnet.Tasks} {
		t.Run(map[simnet.Driver]string{simnet.Goroutines: "goroutines", simnet.Tasks: "tasks"}[d], func(t *testing.T) { silentCrashRestart(t, d) })
	}
}

func silentCrashRestart(t *testing.T, d simnet.Driver) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(t, simnet.Options{Driver: d, Link: simnet.Link{Delay: 5 * time.Millisecond}})
		c, s, err := n.Pipe("client", "server")
		if err != nil {
			t.Fatal(err)
		}
		blocked := make(chan error, 1)
		go func() {
			_, err := s.Read(make([]byte, 1))
			blocked <- err
		}()
		time.Sleep(time.Millisecond)
		n.Host("server").Crash(simnet.Silently)
		if err := <-blocked; !errors.Is(err, simnet.ErrCrashed) {
			t.Errorf("a Read blocked on the crashed host returned %v, want ErrCrashed", err)
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the peer of a silent crash read %v, want nothing (a deadline)", err)
		}
		if _, err := n.Host("server").Listen(":1"); !errors.Is(err, simnet.ErrCrashed) || !strings.Contains(err.Error(), "call Restart first") {
			t.Errorf("Listen on a crashed host: %v", err)
		}
		n.Host("server").Restart()
		c.SetReadDeadline(time.Time{})
		c.Write([]byte("anyone?"))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("after the restart the stale connection read %v, want a reset", err)
		}
		ln, err := n.Host("server").Listen(":80")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			if c, err := ln.Accept(); err == nil {
				c.Write([]byte("up"))
				c.Close()
			}
		}()
		c2, err := n.Host("client").Dial("server:80")
		if err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(c2); string(b) != "up" || err != nil {
			t.Errorf("after the restart: %q, %v", b, err)
		}
	})
}

// The same seed gives the same run: a lossy transfer takes the same
// virtual time and loses the same packets twice.
func TestDeterministic(t *testing.T) {
	run := func() (time.Duration, sim.DirStats) {
		var took time.Duration
		var st sim.DirStats
		synctest.Test(t, func(t *testing.T) {
			n := simnet.New(t, simnet.Options{Seed: 3, Link: simnet.Link{Delay: 20 * time.Millisecond, Rate: 5_000_000, Loss: 0.03}})
			c, s, err := n.Pipe("client", "server")
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			go func() { c.Write(make([]byte, 300_000)); c.Close() }()
			if b, err := io.ReadAll(s); len(b) != 300_000 || err != nil {
				t.Fatalf("%d bytes, %v", len(b), err)
			}
			took = time.Since(start)
			n.Do(func(w *sim.World) { st = w.Link("simnet-client").Stats(0) })
		})
		return took, st
	}
	d1, s1 := run()
	d2, s2 := run()
	if d1 != d2 || s1 != s2 {
		t.Errorf("two runs with one seed differ: %v %+v / %v %+v", d1, s1, d2, s2)
	}
	if s1.DropFault == 0 {
		t.Errorf("no packet was lost: %+v", s1)
	}
	t.Logf("%v, %+v", d1, s1)
}

// A test that closes nothing: raw connections, a listener with a goroutine
// in Accept, an HTTP client with a keep-alive connection and its server.
// synctest.Test waits for every goroutine of the bubble after the clean-up;
// if the kit's clean-up left one blocked, the test would die in synctest's
// deadlock panic instead of passing.
func TestForgottenCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(t, simnet.Options{Link: simnet.Link{Delay: 5 * time.Millisecond}})
		ln, err := n.Host("server").Listen(":7")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go io.Copy(io.Discard, c) // reads until the client's FIN
			}
		}()
		c, err := n.Host("client").Dial("server:7")
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("never closed"))
		n.Host("server").Serve(":80", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
		resp, err := n.Host("client").HTTPClient().Get("http://server/")
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close() // the keep-alive connection stays open, idle
	})
}

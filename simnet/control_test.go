package simnet_test

import (
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tcpsim/tcpsim/simnet"
)

// Bad arguments to the runtime controls fail the test with a message that
// says what a valid value is, and change nothing.
func TestControlMisuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{TB: t}
		n := simnet.New(rec, simnet.Options{})
		n.Host("a")
		n.Host("b")
		p := n.Path("a", "b")
		p.SetDelay(-time.Millisecond)
		p.SetLoss(2)
		p.SetLoss(math.NaN())
		p.SetRate(-5)
		got := rec.all()
		for _, want := range []string{
			"simnet: SetDelay(-1ms) on a → b: the extra delay must not be negative",
			"simnet: SetLoss(2) on a → b: a probability must be in [0, 1] (0.05 is 5 %)",
			"simnet: SetLoss(NaN) on a → b: a probability must be in [0, 1]",
			"simnet: SetRate(-5) on a → b: bits per second must not be negative (0 removes the limit)",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("missing %q in the reported errors:\n%s", want, got)
			}
		}
		if k := strings.Count(got, "\n") + 1; k != 4 {
			t.Errorf("%d errors reported, want 4:\n%s", k, got)
		}
	})
}

// SetLoss(1) on one path stops that direction only; SetLoss(0) lets TCP's
// retransmission deliver what was lost.
func TestSetLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(t, simnet.Options{Link: simnet.Link{Delay: 10 * time.Millisecond}})
		c, s, err := n.Pipe("client", "server")
		if err != nil {
			t.Fatal(err)
		}
		up := n.Path("client", "server")
		up.SetLoss(1)
		c.Write([]byte("lost"))
		s.SetReadDeadline(time.Now().Add(3 * time.Second))
		b := make([]byte, 4)
		if _, err := s.Read(b); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read across a path with loss 1: %v, want a deadline error", err)
		}
		// The other direction still works.
		s.Write([]byte("down"))
		if _, err := io.ReadFull(c, b); err != nil || string(b) != "down" {
			t.Fatalf("server → client while client → server loses everything: %q, %v", b, err)
		}
		up.SetLoss(0)
		s.SetReadDeadline(time.Time{})
		if _, err := io.ReadFull(s, b); err != nil || string(b) != "lost" {
			t.Fatalf("after SetLoss(0): %q, %v", b, err)
		}
	})
}

// Net.Hold holds both directions; Net.Release delivers both.
func TestHoldReleaseBothWays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(t, simnet.Options{Link: simnet.Link{Delay: 10 * time.Millisecond}})
		c, s, err := n.Pipe("client", "server")
		if err != nil {
			t.Fatal(err)
		}
		n.Hold("client", "server")
		c.Write([]byte("ping"))
		s.Write([]byte("pong"))
		time.Sleep(time.Second)
		if up, down := n.Path("client", "server").Held(), n.Path("server", "client").Held(); up == 0 || down == 0 {
			t.Fatalf("held %d packets up and %d down after a write each way, want both non-zero", up, down)
		}
		n.Release("client", "server")
		b := make([]byte, 4)
		if _, err := io.ReadFull(s, b); err != nil || string(b) != "ping" {
			t.Fatalf("server after Release: %q, %v", b, err)
		}
		if _, err := io.ReadFull(c, b); err != nil || string(b) != "pong" {
			t.Fatalf("client after Release: %q, %v", b, err)
		}
	})
}

// A crash with resets: on both drivers, the peer's blocked Read gets
// ECONNRESET at once, and the crashed host's own Read ErrCrashed.
func TestCrashWithResets(t *testing.T) {
	for _, d := range []simnet.Driver{simnet.Goroutines, simnet.Tasks} {
		t.Run(map[simnet.Driver]string{simnet.Goroutines: "goroutines", simnet.Tasks: "tasks"}[d], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := simnet.New(t, simnet.Options{Driver: d, Link: simnet.Link{Delay: 5 * time.Millisecond}})
				c, s, err := n.Pipe("client", "server")
				if err != nil {
					t.Fatal(err)
				}
				peer := make(chan error, 1)
				go func() {
					_, err := c.Read(make([]byte, 1))
					peer <- err
				}()
				time.Sleep(time.Millisecond)
				start := time.Now()
				n.Host("server").Crash(simnet.WithResets)
				if _, err := s.Read(make([]byte, 1)); !errors.Is(err, simnet.ErrCrashed) {
					t.Errorf("the crashed host's Read: %v, want ErrCrashed", err)
				}
				if err := <-peer; !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("the peer's Read: %v, want ECONNRESET", err)
				}
				// The reset crosses the link once: 5 ms.
				if d := time.Since(start); d > 10*time.Millisecond {
					t.Errorf("the peer heard of the crash after %v, want the link's 5 ms", d)
				}
			})
		})
	}
}

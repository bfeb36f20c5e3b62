package sim

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// Tests of the socket layer's edge cases from issue 10 (items 11 to 13),
// in both drivers.

// aLongTimeAgo is a deadline long past on either driver's clock.
var aLongTimeAgo = time.Unix(1, 0)

// isEPIPE reports whether err is a *net.OpError wrapping syscall.EPIPE.
func isEPIPE(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && errors.Is(err, syscall.EPIPE)
}

// isTimeout reports whether err is os.ErrDeadlineExceeded inside a
// net.Error whose Timeout is true.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}

// Item 11, task driver: a Write blocked because the peer does not read
// fails at the instant another task calls CloseWrite, with EPIPE.
func TestTaskCloseWriteFailsBlockedWrite(t *testing.T) {
	p := newNetPair(t, Config{}, DirConfig{Delay: time.Millisecond, Rate: 100e6})
	sn, cn := NewTaskNet(p.w, p.server), NewTaskNet(p.w, p.client)
	var (
		n             int
		werr, cwerr   error
		wroteAt, cwAt time.Duration
		after         error
	)
	p.w.Spawn("server", func(tk *Task) {
		ln, _ := sn.Listen("tcp", ":80")
		c, _ := ln.Accept()
		tk.Sleep(5 * time.Second) // never reads; the reset frees a stranded writer
		c.(*Conn).Abort()
		ln.Close()
	})
	p.w.Spawn("client", func(tk *Task) {
		c, err := cn.Dial("tcp", "server.example:80")
		if err != nil {
			t.Error(err)
			return
		}
		p.w.Spawn("closer", func(tk *Task) {
			tk.Sleep(time.Second)
			cwAt = tk.Now()
			cwerr = c.(*Conn).CloseWrite()
		})
		n, werr = c.Write(make([]byte, 10<<20))
		wroteAt = tk.Now()
		_, after = c.Write([]byte("x"))
		c.Close()
	})
	if err := p.w.Run(); err != nil {
		t.Fatal(err)
	}
	if cwerr != nil {
		t.Errorf("CloseWrite: %v", cwerr)
	}
	if !isEPIPE(werr) || wroteAt != cwAt {
		t.Errorf("blocked Write returned %v at %v (CloseWrite at %v); want EPIPE at once", werr, wroteAt, cwAt)
	}
	if n == 0 || n >= 10<<20 {
		t.Errorf("blocked Write took %d bytes, want a partial count", n)
	}
	if !isEPIPE(after) {
		t.Errorf("Write after CloseWrite: %v, want EPIPE", after)
	}
}

// Item 11, wall-clock driver: the same with goroutines.
func TestLoopCloseWriteFailsBlockedWrite(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		_, l, cn, sn := loopPair(t, Config{}, DirConfig{Delay: time.Millisecond, Rate: 100e6})
		defer l.Close()
		ln, _ := sn.Listen("tcp", ":80")
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			accepted <- c // never reads
		}()
		c, err := cn.Dial("tcp", "server.example:80")
		if err != nil {
			t.Fatal(err)
		}
		// The deadline only bounds the test if the writer is stranded.
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		type result struct {
			n   int
			err error
			at  time.Time
		}
		done := make(chan result, 1)
		go func() {
			n, err := c.Write(make([]byte, 10<<20))
			done <- result{n, err, time.Now()}
		}()
		time.Sleep(time.Second)
		synctest.Wait() // the writer is blocked
		cwAt := time.Now()
		if err := c.(*Conn).CloseWrite(); err != nil {
			t.Errorf("CloseWrite: %v", err)
		}
		r := <-done
		if !isEPIPE(r.err) || !r.at.Equal(cwAt) {
			t.Errorf("blocked Write returned %v after %v; want EPIPE at once", r.err, r.at.Sub(cwAt))
		}
		if r.n == 0 || r.n >= 10<<20 {
			t.Errorf("blocked Write took %d bytes, want a partial count", r.n)
		}
		if _, err := c.Write([]byte("x")); !isEPIPE(err) {
			t.Errorf("Write after CloseWrite: %v, want EPIPE", err)
		}
		c.(*Conn).Abort()
		(<-accepted).Close()
	})
}

// pastDeadlineChecks runs item 13's checks on a client conn c that has
// "hello" buffered and unread: a deadline in the past fails Read and Write
// at once with nothing transferred, and clearing it gives the data back.
// now is the driver's clock.
func pastDeadlineChecks(t *testing.T, c net.Conn, now time.Time) {
	t.Helper()
	for _, dl := range []time.Time{aLongTimeAgo, now} {
		c.SetDeadline(dl)
		buf := make([]byte, 16)
		if n, err := c.Read(buf); n != 0 || !isTimeout(err) {
			t.Errorf("Read with deadline %v and data buffered: %d, %v; want 0 and a timeout", dl, n, err)
		}
		if n, err := c.Write([]byte("x")); n != 0 || !isTimeout(err) {
			t.Errorf("Write with deadline %v: %d, %v; want 0 and a timeout", dl, n, err)
		}
		if n, err := c.Write(nil); n != 0 || !isTimeout(err) {
			t.Errorf("empty Write with deadline %v: %d, %v; want 0 and a timeout", dl, n, err)
		}
		if n, err := c.Read(nil); n != 0 || err != nil {
			t.Errorf("empty Read with deadline %v: %d, %v; want 0, nil as the net package", dl, n, err)
		}
	}
	c.SetDeadline(time.Time{})
	buf := make([]byte, 16)
	if n, err := io.ReadFull(c, buf[:5]); err != nil || string(buf[:n]) != "hello" {
		t.Errorf("Read after clearing the deadline: %q, %v", buf[:n], err)
	}
	if _, err := c.Write([]byte("bye")); err != nil {
		t.Errorf("Write after clearing the deadline: %v", err)
	}
}

// Item 13, task driver.
func TestTaskPastDeadline(t *testing.T) {
	p := newNetPair(t, Config{}, DirConfig{Delay: time.Millisecond})
	sn, cn := NewTaskNet(p.w, p.server), NewTaskNet(p.w, p.client)
	var got []byte
	p.w.Spawn("server", func(tk *Task) {
		ln, _ := sn.Listen("tcp", ":80")
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		c.Write([]byte("hello"))
		got, _ = io.ReadAll(c)
		c.Close()
	})
	p.w.Spawn("client", func(tk *Task) {
		c, err := cn.Dial("tcp", "server.example:80")
		if err != nil {
			t.Error(err)
			return
		}
		tk.Sleep(100 * time.Millisecond) // "hello" is in the receive buffer
		if c.(*Conn).Stack().Readable() != 5 {
			t.Errorf("%d bytes buffered, want 5", c.(*Conn).Stack().Readable())
		}
		pastDeadlineChecks(t, c, cn.Now())
		c.Close()
	})
	if err := p.w.Run(); err != nil {
		t.Fatal(err)
	}
	if string(got) != "bye" {
		t.Errorf("server read %q, want %q (nothing written under a past deadline)", got, "bye")
	}
}

// Item 13, wall-clock driver.
func TestLoopPastDeadline(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		_, l, cn, sn := loopPair(t, Config{}, DirConfig{Delay: time.Millisecond})
		defer l.Close()
		ln, _ := sn.Listen("tcp", ":80")
		defer ln.Close()
		got := make(chan []byte, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				t.Error(err)
				got <- nil
				return
			}
			c.Write([]byte("hello"))
			b, _ := io.ReadAll(c)
			c.Close()
			got <- b
		}()
		c, err := cn.Dial("tcp", "server.example:80")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait() // "hello" is in the conn's ring
		pastDeadlineChecks(t, c, time.Now())
		c.Close()
		if b := <-got; string(b) != "bye" {
			t.Errorf("server read %q, want %q (nothing written under a past deadline)", b, "bye")
		}
	})
}

// Item 12: closing the Loop fails the calls blocked in Read, Write, Accept
// and Dial with net.ErrClosed at once, and later calls the same way; a
// dial by name after the close is not a DNS failure.
func TestLoopCloseFailsBlockedCalls(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		_, l, cn, sn := loopPair(t, Config{}, DirConfig{Delay: time.Millisecond, Rate: 100e6})
		ln, err := sn.Listen("tcp", ":80")
		if err != nil {
			t.Fatal(err)
		}
		ln2, err := sn.Listen("tcp", ":81")
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			accepted <- c // never reads or writes
		}()
		c, err := cn.Dial("tcp", "server.example:80")
		if err != nil {
			t.Fatal(err)
		}
		srv := <-accepted

		type result struct {
			call string
			err  error
			at   time.Time
		}
		results := make(chan result, 4)
		report := func(call string, err error) { results <- result{call, err, time.Now()} }
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		defer func() { // frees calls a failing test left stranded
			cancel()
			c.Close()
			ln2.Close()
		}()
		go func() { _, err := c.Read(make([]byte, 10)); report("Read", err) }()
		go func() { _, err := c.Write(make([]byte, 10<<20)); report("Write", err) }()
		go func() { _, err := ln2.Accept(); report("Accept", err) }()
		// 10.0.0.3 is on the client's subnet, but no host answers it.
		go func() { _, err := cn.DialContext(ctx, "tcp", "10.0.0.3:80"); report("Dial", err) }()
		time.Sleep(time.Second)
		synctest.Wait() // all four are blocked

		l.Close()
		closedAt := time.Now()
		timeout := time.After(time.Minute)
		for range 4 {
			select {
			case r := <-results:
				var oe *net.OpError
				if !errors.As(r.err, &oe) || !errors.Is(r.err, net.ErrClosed) {
					t.Errorf("%s blocked across Loop.Close: %v, want *net.OpError with net.ErrClosed", r.call, r.err)
				}
				if !r.at.Equal(closedAt) {
					t.Errorf("%s returned %v after Loop.Close, want at once", r.call, r.at.Sub(closedAt))
				}
			case <-timeout:
				t.Fatalf("calls still blocked a minute after Loop.Close")
			}
		}

		// Calls after the close.
		if _, err := c.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Loop.Close: %v, want net.ErrClosed", err)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Write after Loop.Close: %v, want net.ErrClosed", err)
		}
		for _, addr := range []string{"server.example:80", "10.0.0.2:80"} {
			_, err := cn.Dial("tcp", addr)
			var de *net.DNSError
			if errors.As(err, &de) || !errors.Is(err, net.ErrClosed) || !errors.Is(err, ErrClosed) {
				t.Errorf("Dial %s after Loop.Close: %v, want net.ErrClosed and sim.ErrClosed, no DNS error", addr, err)
			}
		}
		if _, err := sn.Listen("tcp", ":82"); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Listen after Loop.Close: %v, want net.ErrClosed", err)
		}
		c.Close()
		srv.Close()
		ln.Close()
		ln2.Close()
	})
}

// Item 12: a Dial, by name or address, after Loop.Close fails with
// net.ErrClosed, not with a DNS error; a name missing from the hosts table
// is still a *net.DNSError while the loop runs.
func TestLoopDialAfterClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		_, l, cn, _ := loopPair(t, Config{}, DirConfig{Delay: time.Millisecond})
		var de *net.DNSError
		if _, err := cn.Dial("tcp", "nowhere.example:80"); !errors.As(err, &de) || !de.IsNotFound {
			t.Errorf("Dial of an unknown name: %v, want *net.DNSError", err)
		}
		l.Close()
		for _, addr := range []string{"server.example:80", "nowhere.example:80", "10.0.0.2:80"} {
			_, err := cn.Dial("tcp", addr)
			var oe *net.OpError
			if errors.As(err, &de) || !errors.As(err, &oe) || !errors.Is(err, net.ErrClosed) || !errors.Is(err, ErrClosed) {
				t.Errorf("Dial %s after Loop.Close: %v, want *net.OpError with net.ErrClosed and sim.ErrClosed, no DNS error", addr, err)
			}
		}
	})
}

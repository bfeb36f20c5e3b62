package sim

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// loopPair builds a netPair inside the bubble and starts its Loop.
func loopPair(t *testing.T, cfg Config, d DirConfig) (*netPair, *Loop, *Net, *Net) {
	t.Helper()
	p := newNetPair(t, cfg, d)
	l, err := p.w.StartLoop()
	if err != nil {
		t.Fatal(err)
	}
	return p, l, NewLoopNet(l, p.client), NewLoopNet(l, p.server)
}

func TestLoopDialErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		_, l, cn, _ := loopPair(t, Config{}, DirConfig{Delay: time.Millisecond})
		defer l.Close()
		_, err := cn.Dial("tcp", "server.example:80")
		var oe *net.OpError
		if !errors.As(err, &oe) || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial without listener: %v, want *net.OpError with ECONNREFUSED", err)
		}
		_, err = cn.Dial("tcp", "nowhere.example:80")
		var de *net.DNSError
		if !errors.As(err, &de) {
			t.Errorf("dial unknown name: %v, want *net.DNSError", err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		_, l, cn, _ := loopPair(t, Config{}, DirConfig{Delay: time.Millisecond, Faults: []Fault{Loss{P: 1}}})
		defer l.Close()
		start := time.Now()
		_, err := cn.Dial("tcp", "server.example:80")
		var ne net.Error
		if !errors.Is(err, syscall.ETIMEDOUT) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("dial over a dead link: %v, want ETIMEDOUT timeout", err)
		}
		if took := time.Since(start); took < 60*time.Second {
			t.Errorf("gave up after %v of fake time", took)
		}
		// A context deadline ends the dial first.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start = time.Now()
		_, err = cn.DialContext(ctx, "tcp", "server.example:80")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("dial with a 3 s context: %v, want context.DeadlineExceeded", err)
		}
		if took := time.Since(start); took != 3*time.Second {
			t.Errorf("context ended the dial after %v, want 3s", took)
		}
	})
}

func TestLoopResetDeadlineHalfClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		_, l, cn, sn := loopPair(t, Config{}, DirConfig{Delay: 5 * time.Millisecond, Rate: 100e6})
		defer l.Close()
		ln, err := sn.Listen("tcp", ":80")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			// 1: echo until EOF, then half-close our side.
			c, err := ln.Accept()
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(c, c)
			c.(*Conn).CloseWrite()
			c.Close()
			// 2: abort at once.
			c, err = ln.Accept()
			if err != nil {
				t.Error(err)
				return
			}
			c.(*Conn).Abort()
			// 3: accept, then stay silent until the client gives up.
			c, err = ln.Accept()
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, c)
			c.Close()
		}()

		// Half-close: the echo arrives after our FIN, then EOF.
		c, err := cn.Dial("tcp", "server.example:80")
		if err != nil {
			t.Fatal(err)
		}
		msg := payload(300_000)
		go func() {
			c.Write(msg)
			c.(*Conn).CloseWrite()
		}()
		got, err := io.ReadAll(c)
		if err != nil || sha256.Sum256(got) != sha256.Sum256(msg) {
			t.Errorf("echo after half-close: %d bytes, err %v", len(got), err)
		}
		c.Close()

		// Reset by the peer.
		c, err = cn.Dial("tcp", "server.example:80")
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Read(make([]byte, 1))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read after peer abort: %v, want ECONNRESET", err)
		}
		c.Close()

		// Read deadline on fake time.
		c, err = cn.Dial("tcp", "server.example:80")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		c.SetReadDeadline(start.Add(250 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("read past deadline: %v", err)
		}
		if took := time.Since(start); took != 250*time.Millisecond {
			t.Errorf("deadline after %v, want 250ms", took)
		}
		// Close unblocks a blocked Read with net.ErrClosed.
		c.SetReadDeadline(time.Time{})
		errc := make(chan error)
		go func() {
			_, err := c.Read(make([]byte, 1))
			errc <- err
		}()
		synctest.Wait()
		c.Close()
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Errorf("read during Close: %v, want net.ErrClosed", err)
		}
		wg.Wait()
		// Close unblocks Accept.
		go func() {
			_, err := ln.Accept()
			errc <- err
		}()
		synctest.Wait()
		ln.Close()
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Errorf("accept during Close: %v, want net.ErrClosed", err)
		}
	})
}

// Many concurrent HTTP clients give the same packets every run.
func TestLoopHTTPDeterministic(t *testing.T) {
	defer goleak.VerifyNone(t)
	hash := func() [32]byte {
		var h [32]byte
		synctest.Test(t, func(t *testing.T) {
			p, l, _, _ := loopPair(t, Config{Seed: 9, Log: true}, DirConfig{Delay: 10 * time.Millisecond, Rate: 20e6,
				QueuePackets: 50, Faults: []Fault{Loss{P: 0.02}}})
			body := payload(40_000)
			hs, err := StartHTTP(l, p.client, p.server, 80, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write(body)
			}))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range 3 {
						resp, err := hs.Client.Get(fmt.Sprintf("http://server.example/%d/%d", i, j))
						if err != nil {
							t.Error(err)
							return
						}
						b, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil || len(b) != len(body) {
							t.Errorf("client %d request %d: %d bytes, %v", i, j, len(b), err)
						}
					}
				}()
			}
			wg.Wait()
			if err := hs.Close(); err != nil {
				t.Fatal(err)
			}
			h = p.w.Log().Hash()
		})
		return h
	}
	a, b := hash(), hash()
	if a != b {
		t.Errorf("two runs with seed 9 gave different event logs: %x vs %x", a, b)
	}
}

func TestLoopWriteDeadline(t *testing.T) {
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
		start := time.Now()
		c.SetWriteDeadline(start.Add(time.Second))
		n, err := c.Write(make([]byte, 10<<20))
		if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n >= 10<<20 {
			t.Errorf("write: %d bytes, %v; want a partial write and a deadline", n, err)
		}
		if took := time.Since(start); took != time.Second {
			t.Errorf("deadline after %v", took)
		}
		c.(*Conn).Abort()
		(<-accepted).Close()
	})
}

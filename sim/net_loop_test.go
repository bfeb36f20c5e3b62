package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
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
	return startPair(t, cfg, d, false)
}

// startPair is loopPair on the wall-clock loop or, with virtual, on a
// virtual loop (StartVirtualLoop).
func startPair(t *testing.T, cfg Config, d DirConfig, virtual bool) (*netPair, *Loop, *Net, *Net) {
	t.Helper()
	p := newNetPair(t, cfg, d)
	start := p.w.StartLoop
	if virtual {
		start = p.w.StartVirtualLoop
	}
	l, err := start()
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

// The ring between goroutines and the loop keeps bytes in order across the
// wrap, and its views cover exactly the held bytes and the free space.
func TestByteRing(t *testing.T) {
	var r byteRing
	src := payload(5 * loopBufSize)
	var out []byte
	in := 0
	step := []int{1, 1447, 9000, loopBufSize, 3, 65000}
	for i := 0; len(out) < len(src); i++ {
		if in < len(src) {
			k := r.write(src[in:min(in+step[i%len(step)], len(src))])
			in += k
		}
		a, b := r.held()
		if len(a)+len(b) != r.n {
			t.Fatalf("round %d: held views have %d+%d bytes, ring holds %d", i, len(a), len(b), r.n)
		}
		if fa, fb := r.space(); len(fa)+len(fb) != r.free() {
			t.Fatalf("round %d: space views have %d+%d bytes, ring has %d free", i, len(fa), len(fb), r.free())
		}
		buf := make([]byte, step[(i+2)%len(step)])
		k := r.read(buf)
		out = append(out, buf[:k]...)
	}
	if !bytes.Equal(out, src) {
		t.Fatalf("bytes out of the ring differ from bytes in (%d bytes)", len(out))
	}
	// A producer's view of the free space stays valid while the consumer
	// drains: commit after consume lands behind the remaining bytes.
	r = byteRing{}
	r.write(src[:100])
	fa, _ := r.space()
	r.read(make([]byte, 60))
	copy(fa, src[100:150])
	r.commit(50)
	got := make([]byte, 200)
	if k := r.read(got); !bytes.Equal(got[:k], src[60:150]) {
		t.Errorf("after a commit behind a concurrent read: got %d bytes, want src[60:150]", k)
	}
}

// A bulk transfer through loop sockets allocates a bounded amount, not a
// multiple of the bytes moved: the per-socket rings are reused.
func TestLoopBulkAllocations(t *testing.T) {
	defer goleak.VerifyNone(t)
	const size = 8 << 20
	var alloc uint64
	synctest.Test(t, func(t *testing.T) {
		_, l, cn, sn := loopPair(t, Config{}, DirConfig{Delay: 100 * time.Microsecond, Rate: 10e9})
		defer l.Close()
		ln, err := sn.Listen("tcp", ":9")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		msg := payload(size)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		done := make(chan []byte)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				t.Error(err)
				done <- nil
				return
			}
			h := sha256.New()
			io.Copy(h, c)
			c.Close()
			done <- h.Sum(nil)
		}()
		c, err := cn.Dial("tcp", "server.example:9")
		if err != nil {
			t.Fatal(err)
		}
		for p := msg; len(p) > 0; p = p[min(len(p), 100_000):] {
			if _, err := c.Write(p[:min(len(p), 100_000)]); err != nil {
				t.Fatal(err)
			}
		}
		c.(*Conn).CloseWrite()
		sum := <-done
		runtime.ReadMemStats(&after)
		c.Close()
		if want := sha256.Sum256(msg); !bytes.Equal(sum, want[:]) {
			t.Fatalf("receiver's hash differs from the sender's")
		}
		alloc = after.TotalAlloc - before.TotalAlloc
	})
	t.Logf("moving %d bytes allocated %d bytes", size, alloc)
	// Two sockets' rings and stack buffers plus the link's frames come to
	// about 1.5 MiB; the old append-based path allocated ~5 bytes per byte.
	if alloc > size/2 {
		t.Errorf("moving %d bytes allocated %d bytes; want under %d", size, alloc, size/2)
	}
}

package sim

import (
	"errors"
	"net"
	"runtime"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Item 3 of issue 10: a wall-clock listener that nobody accepts on takes
// no connection out of the engine. 6,000 clients dial; the engine keeps a
// backlog's worth (listenBacklog, 4,096) established in its accept queue,
// drops the other clients' SYNs (they time out), and the socket layer holds
// nothing for them: no Conn, no ring. Accept then takes exactly what it
// asks for.
func TestLoopListenerBacklog(t *testing.T) {
	defer goleak.VerifyNone(t)
	const clients = 6000
	synctest.Test(t, func(t *testing.T) {
		p, l, cn, sn := loopPair(t, Config{}, DirConfig{Delay: time.Millisecond})
		defer l.Close()
		ln, err := sn.Listen("tcp", ":80")
		if err != nil {
			t.Fatal(err)
		}
		ll := ln.(*Listener).lcl
		before := heapInUse()

		conns := make([]net.Conn, clients)
		errs := make([]error, clients)
		done := make(chan struct{}, clients)
		for i := range clients {
			go func() {
				conns[i], errs[i] = cn.Dial("tcp", "10.0.0.2:80")
				done <- struct{}{}
			}()
		}
		for range clients {
			<-done
		}
		// A client is established one way before the server: let the
		// last ACKs arrive.
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		after := heapInUse()
		growth := int64(after) - int64(before)
		t.Logf("heap growth for %d clients with no Accept: %.1f MiB (%d B per client)",
			clients, float64(growth)/(1<<20), growth/clients)

		established, timedOut := 0, 0
		for i, err := range errs {
			switch {
			case err == nil:
				established++
			case errors.Is(err, syscall.ETIMEDOUT):
				timedOut++
			default:
				t.Fatalf("client %d: %v", i, err)
			}
		}
		var pending int
		var overflows uint64
		l.Call(func() {
			pending = ln.(*Listener).sl.Pending()
			overflows = p.server.Counters().TCPListenOverflows
		})
		ll.mu.Lock()
		pulled := len(ll.queue)
		ll.mu.Unlock()
		t.Logf("established %d, timed out %d; engine accept queue %d, SYNs dropped for the backlog %d, pulled into the socket layer %d",
			established, timedOut, pending, overflows, pulled)
		if pulled != 0 {
			t.Errorf("%d connections pulled into the socket layer with no Accept, want 0", pulled)
		}
		// The server holds at most the backlog. Clients beyond it either
		// time out (their SYNs dropped) or, with SYN cookies (on by
		// default), complete a cookie handshake whose ACK the full accept
		// queue then drops: they believe they are connected while the
		// server keeps nothing for them, as with Linux.
		var serverConns int
		l.Call(func() { serverConns = p.server.NumConns() })
		if pending > listenBacklog || serverConns > listenBacklog || established < pending || overflows == 0 {
			t.Errorf("engine queue %d, server conns %d (backlog %d), %d established, %d timed out, %d overflows: the backlog is not what bounds the server",
				pending, serverConns, listenBacklog, established, timedOut, overflows)
		}
		// An idle connection costs its two engine conns and two small
		// Conns; one 64 KiB ring per connection would be 375 MiB here.
		if limit := int64(64 << 20); growth > limit {
			t.Errorf("heap grew %d MiB for %d unaccepted clients, want at most %d MiB", growth>>20, clients, limit>>20)
		}

		// Accept takes connections one at a time from the engine.
		for i := 1; i <= 10; i++ {
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ll.mu.Lock()
			taken := ll.pulled
			ll.mu.Unlock()
			if taken != i {
				t.Fatalf("after %d Accepts, %d connections taken from the engine", i, taken)
			}
		}
		ln.Close()
		for _, c := range conns {
			if c != nil {
				c.(*Conn).Abort()
			}
		}
		runtime.KeepAlive(conns)
	})
}

package sim

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// closeResults is what the client side of closeScenario saw.
type closeResults struct {
	first                   string // first message read
	eofErr                  error  // Read after the peer's FIN
	readAfterCloseRead      error
	writeAfterCloseRead     error
	writeAfterCloseWrite    error
	closeTwice              error
	serverGotAfterCloseRead string
	emptyRead               error
}

func (r *closeResults) check(t *testing.T) {
	t.Helper()
	if r.emptyRead != nil {
		t.Error(r.emptyRead)
	}
	if r.first != "hello" {
		t.Errorf("first read %q, want hello", r.first)
	}
	if r.eofErr != io.EOF {
		t.Errorf("read after the peer's FIN: %#v, want io.EOF itself (not wrapped)", r.eofErr)
	}
	if r.readAfterCloseRead != io.EOF {
		t.Errorf("read after CloseRead: %v, want io.EOF", r.readAfterCloseRead)
	}
	if r.writeAfterCloseRead != nil || r.serverGotAfterCloseRead != "still writing" {
		t.Errorf("write after CloseRead: %v, server got %q; want the write to arrive", r.writeAfterCloseRead, r.serverGotAfterCloseRead)
	}
	var oe *net.OpError
	if !errors.Is(r.writeAfterCloseWrite, syscall.EPIPE) || !errors.As(r.writeAfterCloseWrite, &oe) || oe.Op != "write" {
		t.Errorf("write after CloseWrite: %v, want a *net.OpError write with EPIPE", r.writeAfterCloseWrite)
	}
	if !errors.Is(r.closeTwice, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed", r.closeTwice)
	}
}

// closeClient runs the client side: two connections to the server, the
// first read to the peer's FIN, the second closed for reading, then for
// writing.
func closeClient(n *Net, r *closeResults) error {
	c, err := n.Dial("tcp", "server.example:80")
	if err != nil {
		return err
	}
	buf := make([]byte, 64)
	// An empty read returns at once, as on a real socket, even before
	// any data.
	before := n.Now()
	if k, err := c.Read(nil); k != 0 || err != nil || n.Now() != before {
		r.emptyRead = fmt.Errorf("Read(nil) = %d, %v after %v", k, err, n.Now().Sub(before))
	}
	k, err := io.ReadFull(c, buf[:5])
	r.first = string(buf[:k])
	if err != nil {
		return err
	}
	_, r.eofErr = c.Read(buf)
	c.Close()

	c, err = n.Dial("tcp", "server.example:80")
	if err != nil {
		return err
	}
	sc := c.(*Conn)
	if err := sc.CloseRead(); err != nil {
		return err
	}
	_, r.readAfterCloseRead = c.Read(buf)
	_, r.writeAfterCloseRead = c.Write([]byte("still writing"))
	if err := sc.CloseWrite(); err != nil {
		return err
	}
	_, r.writeAfterCloseWrite = c.Write([]byte("x"))
	if err := c.Close(); err != nil {
		return err
	}
	r.closeTwice = c.Close()
	return nil
}

// closeServer answers the two connections of closeClient.
func closeServer(ln net.Listener, r *closeResults) error {
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	c.Write([]byte("hello"))
	c.Close()
	c, err = ln.Accept()
	if err != nil {
		return err
	}
	got, err := io.ReadAll(c) // until the client's CloseWrite
	r.serverGotAfterCloseRead = string(got)
	c.Close()
	return err
}

// Read returns io.EOF itself after the peer's FIN; CloseRead makes Read
// return io.EOF while writes go on; Write after CloseWrite is EPIPE; a
// second Close is net.ErrClosed. Tasks on the virtual driver.
func TestTaskCloseReadWriteEOF(t *testing.T) {
	p := newNetPair(t, Config{Seed: 2}, DirConfig{Delay: 5 * time.Millisecond, Rate: 10e6})
	var r closeResults
	var srvErr, cliErr error
	p.w.Spawn("server", func(*Task) {
		ln, err := NewTaskNet(p.w, p.server).Listen("tcp", ":80")
		if err != nil {
			srvErr = err
			return
		}
		defer ln.Close()
		srvErr = closeServer(ln, &r)
	})
	p.w.Spawn("client", func(*Task) { cliErr = closeClient(NewTaskNet(p.w, p.client), &r) })
	if err := p.w.Run(); err != nil {
		t.Fatal(err)
	}
	if srvErr != nil || cliErr != nil {
		t.Fatalf("server: %v; client: %v", srvErr, cliErr)
	}
	r.check(t)
}

// The same with goroutines on the wall-clock driver in a synctest bubble.
func TestLoopCloseReadWriteEOF(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		_, l, cn, sn := loopPair(t, Config{Seed: 2}, DirConfig{Delay: 5 * time.Millisecond, Rate: 10e6})
		defer l.Close()
		ln, err := sn.Listen("tcp", ":80")
		if err != nil {
			t.Fatal(err)
		}
		var r closeResults
		srvErr := make(chan error, 1)
		go func() { srvErr <- closeServer(ln, &r) }()
		if err := closeClient(cn, &r); err != nil {
			t.Fatal(err)
		}
		if err := <-srvErr; err != nil {
			t.Fatal(err)
		}
		ln.Close()
		r.check(t)
	})
}

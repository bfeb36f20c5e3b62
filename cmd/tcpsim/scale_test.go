package main

import (
	"io"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// The connections a run waits for at its end do not pile up: finished ones
// (CLOSED or in TIME_WAIT) leave the list as it grows, and the run still
// waits for one that is open.
func TestConnListForgetsFinished(t *testing.T) {
	o := defaultOptions()
	o.delay = flagval.Duration(time.Millisecond)
	n, err := newNetwork(o, nil, newProgress(nil, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	ln, err := n.server.Listen(transferPort, 16)
	if err != nil {
		t.Fatal(err)
	}
	var serverErrs []error
	added := 0
	ln.SetNotify(func(stack.Event) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.addConn(c)
			added++
			c.SetNotify(func(stack.Event) { drain(c, &serverErrs) })
			drain(c, &serverErrs)
		}
	})
	const conns = 300
	most := 0
	var open *stack.Conn
	n.spawn("dialer", func(*sim.Task) {
		for i := range conns {
			c, err := n.cnet.Dial("tcp", "10.0.0.2:5001")
			if err != nil {
				t.Errorf("connection %d: %v", i+1, err)
				return
			}
			n.track(c)
			added++
			most = max(most, len(n.conns))
			if i == conns-1 {
				open = c.(*sim.Conn).Stack() // left open: the run must wait for it
				break
			}
			c.(*sim.Conn).CloseWrite()
			io.Copy(io.Discard, c)
			c.Close()
		}
	})
	n.w.At(10*time.Second, func() {
		if n.settled() {
			t.Error("settled with a connection still open")
		}
		n.w.Stop()
	})
	if err := n.w.Run(); err != nil {
		t.Fatal(err)
	}
	if added != 2*conns || open == nil || open.State() != stack.StateEstablished {
		t.Fatalf("%d connections tracked, the last one %v; want %d and one established", added, open, 2*conns)
	}
	if most > 2*64 {
		t.Errorf("the list of connections to wait for reached %d of the %d opened; finished ones are kept", most, added)
	}
	if len(serverErrs) > 0 {
		t.Fatal(serverErrs[0])
	}
}

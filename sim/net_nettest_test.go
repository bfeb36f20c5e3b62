package sim

import (
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"
)

// Item 16 of issue 10: golang.org/x/net/nettest.TestConn, the net.Conn
// conformance suite, against the conns of both drivers. It runs goroutines
// on real time (its subtests cannot run inside a synctest bubble), so each
// pipe is a fresh world over a zero-delay link driven by a Loop on the wall
// clock.

// nettestWorld builds a client-server pair whose virtual clock follows the
// wall clock from now on (Epoch = now), so that a time.Time deadline means
// the same instant to both drivers, and starts its Loop.
func nettestWorld(t *testing.T) (*netPair, *Loop, error) {
	p := newNetPair(t, Config{Seed: 1, Epoch: time.Now()}, DirConfig{})
	l, err := p.w.StartLoop()
	return p, l, err
}

// TestNettestLoop: the wall-clock driver's Conn, used from goroutines as
// it is meant to be.
func TestNettestLoop(t *testing.T) {
	defer goleak.VerifyNone(t)
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		p, l, err := nettestWorld(t)
		if err != nil {
			return nil, nil, nil, err
		}
		cn, sn := NewLoopNet(l, p.client), NewLoopNet(l, p.server)
		ln, err := sn.Listen("tcp", ":7")
		if err != nil {
			l.Close()
			return nil, nil, nil, err
		}
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			accepted <- c
		}()
		c1, err = cn.Dial("tcp", "server.example:7")
		c2 = <-accepted
		ln.Close()
		stop = func() {
			if c1 != nil {
				c1.Close()
			}
			if c2 != nil {
				c2.Close()
			}
			l.Close()
		}
		if err == nil && c2 == nil {
			err = net.ErrClosed
		}
		if err != nil {
			stop()
			return nil, nil, nil, err
		}
		return c1, c2, stop, nil
	})
}

// taskBridge lets ordinary goroutines use a virtual-driver Conn, whose
// calls must be made from tasks: each call runs in a task of its own,
// spawned through the Loop that paces the world, and the goroutine waits
// for it. A call that blocks parks its task on the simulator, as the
// application's own task would, and several calls may be parked on one
// Conn at once, so what nettest exercises is the task driver's Conn: its
// wait queues, deadlines, Close and CloseWrite waking, and errors.
type taskBridge struct {
	c *Conn
	l *Loop
}

// run runs fn in a new task and waits for it. It returns false if the loop
// stopped first (the task never ran, or was parked when the loop stopped).
func (b *taskBridge) run(fn func()) bool {
	return runInTask(b.l, fn)
}

func runInTask(l *Loop, fn func()) bool {
	done := make(chan struct{})
	l.Do(func() {
		l.World().Spawn("bridge", func(*Task) {
			fn()
			close(done)
		})
	})
	select {
	case <-done:
		return true
	case <-l.Done():
		return false
	}
}

func (b *taskBridge) Read(p []byte) (n int, err error) {
	if !b.run(func() { n, err = b.c.Read(p) }) {
		return 0, b.c.opErr("read", net.ErrClosed)
	}
	return n, err
}

func (b *taskBridge) Write(p []byte) (n int, err error) {
	if !b.run(func() { n, err = b.c.Write(p) }) {
		return 0, b.c.opErr("write", net.ErrClosed)
	}
	return n, err
}

func (b *taskBridge) Close() (err error) {
	if !b.run(func() { err = b.c.Close() }) {
		return b.c.opErr("close", net.ErrClosed)
	}
	return err
}

func (b *taskBridge) setDeadline(set func(time.Time) error, t time.Time) (err error) {
	if !b.run(func() { err = set(t) }) {
		return b.c.opErr("set", net.ErrClosed)
	}
	return err
}

func (b *taskBridge) SetDeadline(t time.Time) error { return b.setDeadline(b.c.SetDeadline, t) }
func (b *taskBridge) SetReadDeadline(t time.Time) error {
	return b.setDeadline(b.c.SetReadDeadline, t)
}
func (b *taskBridge) SetWriteDeadline(t time.Time) error {
	return b.setDeadline(b.c.SetWriteDeadline, t)
}
func (b *taskBridge) LocalAddr() net.Addr  { return b.c.LocalAddr() }
func (b *taskBridge) RemoteAddr() net.Addr { return b.c.RemoteAddr() }

// TestNettestTask: the virtual driver's Conn, each call made from a task.
func TestNettestTask(t *testing.T) {
	defer goleak.VerifyNone(t)
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		p, l, err := nettestWorld(t)
		if err != nil {
			return nil, nil, nil, err
		}
		cn, sn := NewTaskNet(p.w, p.client), NewTaskNet(p.w, p.server)
		var a, b net.Conn
		var derr, aerr error
		runInTask(l, func() {
			ln, err := sn.Listen("tcp", ":7")
			if err != nil {
				derr = err
				return
			}
			defer ln.Close()
			tk := p.w.CurrentTask()
			accepted := NewWaitQueue("accepted")
			p.w.Spawn("accept", func(*Task) {
				b, aerr = ln.Accept()
				accepted.WakeAll()
			})
			a, derr = cn.Dial("tcp", "server.example:7")
			for b == nil && aerr == nil {
				tk.Wait(accepted, 0)
			}
		})
		stop = func() {
			for _, c := range []net.Conn{a, b} {
				if c != nil {
					runInTask(l, func() { c.Close() })
				}
			}
			l.Close()
			p.w.Close() // ends the tasks of calls still parked
		}
		if derr != nil || aerr != nil {
			stop()
			if derr == nil {
				derr = aerr
			}
			return nil, nil, nil, derr
		}
		return &taskBridge{a.(*Conn), l}, &taskBridge{b.(*Conn), l}, stop, nil
	})
}

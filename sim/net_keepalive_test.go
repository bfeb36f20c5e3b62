package sim

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// Keep-alives through the net.Conn methods of *net.TCPConn: a peer that
// vanishes (a partition) is detected by unanswered probes, and the blocked
// Read fails with ETIMEDOUT; the probes are on the wire.
func TestTaskConnKeepAliveDetectsDeadPeer(t *testing.T) {
	// A partition from 1 s on, both ways: the peer vanishes without a FIN.
	p := newNetPair(t, Config{}, DirConfig{Delay: time.Millisecond,
		Faults: []Fault{Rule{Name: "partition", Match: Between(time.Second, 24*time.Hour), Action: RuleDrop}}})
	w, cn, sn := p.w, NewTaskNet(p.w, p.client), NewTaskNet(p.w, p.server)
	defer w.Close() // ends the server, still blocked in its Read
	var readErr error
	var readAt time.Duration
	w.Spawn("server", func(*Task) {
		ln, err := sn.Listen("tcp", ":80")
		if err != nil {
			t.Error(err)
			return
		}
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		io.Copy(io.Discard, c) // waits for ever once the client is cut off
	})
	w.Spawn("client", func(*Task) {
		c, err := cn.Dial("tcp", "10.0.0.2:80")
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		tc := c.(*Conn)
		if err := tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}); err != nil {
			t.Error(err)
			return
		}
		if err := tc.SetKeepAlivePeriod(-time.Second); err == nil {
			t.Error("negative keep-alive period accepted")
		}
		_, readErr = c.Read(make([]byte, 1))
		readAt = w.Now()
	})
	if err := w.RunFor(10 * time.Minute); err != nil && !errors.Is(err, ErrTimeLimit) {
		t.Fatal(err)
	}
	if !errors.Is(readErr, syscall.ETIMEDOUT) {
		t.Fatalf("Read = %v, want ETIMEDOUT", readErr)
	}
	// Established at about 2 ms; 30 s idle, then probes at 30, 35, 40 s and
	// the reset at 45 s.
	if readAt < 45*time.Second || readAt > 46*time.Second {
		t.Errorf("Read failed at %v, want about 45 s", readAt)
	}
}

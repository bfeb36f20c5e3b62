package sim

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The wall-clock driver outside a synctest bubble: ordinary goroutines on
// real time, over a link without delay (so the test waits only for the
// stack's own timers, such as the 40 ms delayed ACK).
func TestLoopRealTime(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := newNetPair(t, Config{Seed: 3}, DirConfig{})
	l, err := p.w.StartLoop()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cn, sn := NewLoopNet(l, p.client), NewLoopNet(l, p.server)
	ln, err := sn.Listen("tcp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(c, c) // echo until the client's FIN
		c.Close()
		done <- err
	}()
	c, err := cn.Dial("tcp", "server.example:7")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.LocalAddr().(*net.TCPAddr); !ok {
		t.Errorf("LocalAddr is %T, want *net.TCPAddr", c.LocalAddr())
	}
	msg := payload(200_000)
	// A real-time deadline bounds the test if the loop stalls.
	c.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		c.Write(msg)
		c.(*Conn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Errorf("echo: %d of %d bytes, %v", len(got), len(msg), err)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

package gvisorpeer

import (
	"context"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// loopback is a stand-in for a tcpsim link: Send hands the packet to the
// peer node, in the executor's context.
type loopback struct{ peer *Node }

func (l *loopback) Send(p []byte) { l.peer.Deliver(0, p) }

// TestNodeOverExecutor connects two gVisor Nodes through link stand-ins and
// a serial executor playing the scheduler, and moves data between them.
func TestNodeOverExecutor(t *testing.T) {
	work := make(chan func(), 1024)
	var wg sync.WaitGroup
	wg.Go(func() {
		for f := range work {
			f()
		}
	})
	do := func(f func()) { work <- f }
	a, err := NewNode(Config{}, do)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewNode(Config{}, do)
	if a.Host() != nil {
		t.Fatal("host exists before AddInterface")
	}
	if _, err := a.AddInterface(addrA, &loopback{b}, 1500); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddInterface(addrB, &loopback{a}, 1500); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddInterface(addrA, &loopback{b}, 1500); err == nil || !strings.Contains(err.Error(), "only one") {
		t.Errorf("second AddInterface = %v, want an error saying only one interface", err)
	}
	defer func() {
		a.Close()
		b.Close()
		close(work)
		wg.Wait()
	}()

	l, err := b.Host().Listen(7)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want := body(1<<20, 3)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Write(want)
		c.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := a.Host().Dial(ctx, netip.AddrPortFrom(addrB.Addr(), 7))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(got) != string(want) {
		t.Fatalf("got %d bytes (%v), want %d identical bytes", len(got), err, len(want))
	}
}

func TestNewNodeNeedsDo(t *testing.T) {
	if _, err := NewNode(Config{}, nil); err == nil || !strings.Contains(err.Error(), "Do") {
		t.Fatalf("NewNode(nil do) = %v, want an error naming Loop.Do", err)
	}
}

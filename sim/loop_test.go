package sim

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"go.uber.org/goleak"
)

// A packet sent from an ordinary goroutine through Do crosses a 10 ms link
// and reaches another goroutine after exactly 10 ms (+1 ns for the service
// step) of fake time; a scheduler timer fires exactly when due.
func TestLoopFakeTime(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		w := New(Config{Log: true})
		got := make(chan time.Duration, 4)
		a := &testNode{w: w}
		b := &testNode{w: w, onRecv: func(int, []byte) { got <- w.Now() }}
		w.AddNode("a", a)
		w.AddNode("b", b)
		if _, err := w.Connect("a", netip.PrefixFrom(addrA, 24), "b", netip.PrefixFrom(addrB, 24),
			LinkConfig{AB: DirConfig{Delay: 10 * time.Millisecond}}); err != nil {
			t.Fatal(err)
		}
		loop, err := w.StartLoop()
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p := tcpPacket(t, addrA, addrB, segment.FlagSYN, 1, 0)
		time.Sleep(5 * time.Millisecond)
		loop.Do(func() { a.ifaces[0].Send(p) })
		at := <-got
		if want := 15*time.Millisecond + 1; at != want {
			t.Fatalf("delivered at virtual %v, want %v", at, want)
		}
		if el := time.Since(start); el != at {
			t.Fatalf("fake time elapsed %v, virtual %v", el, at)
		}
		// A timer set from scheduler context fires exactly on time.
		fired := make(chan time.Duration, 1)
		if err := loop.Call(func() {
			w.After(time.Second, func() { fired <- w.Now() })
		}); err != nil {
			t.Fatal(err)
		}
		if at := <-fired; at != time.Second+15*time.Millisecond+2 {
			t.Fatalf("timer fired at %v", at)
		}
		if err := loop.Close(); err != nil {
			t.Fatal(err)
		}
		if n := w.Log().Count(Delivered, ""); n != 1 {
			t.Fatalf("log has %d deliveries", n)
		}
		// Once the loop stops, the virtual driver may take over.
		if err := w.Run(); err != nil {
			t.Fatal(err)
		}
	})
}

// Kicks from many goroutines at the same instant run in key order, whatever
// order the goroutines ran in; repeated kicks of one key run once.
func TestLoopKickOrder(t *testing.T) {
	defer goleak.VerifyNone(t)
	for round := 0; round < 5; round++ {
		synctest.Test(t, func(t *testing.T) {
			w := New(Config{})
			loop, _ := w.StartLoop()
			var order []string // touched only in scheduler context
			var wg sync.WaitGroup
			for i := 9; i >= 0; i-- {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := uint64(i)
					loop.Kick(key, func() { order = append(order, fmt.Sprintf("%d@%v", key, w.Now())) })
					if i == 3 {
						loop.Kick(key, func() { order = append(order, fmt.Sprintf("%d'@%v", key, w.Now())) })
					}
				}()
			}
			wg.Wait()
			var got string
			loop.Call(func() { got = strings.Join(order, " ") })
			want := "0@1ns 1@1ns 2@1ns 3'@1ns 4@1ns 5@1ns 6@1ns 7@1ns 8@1ns 9@1ns"
			if got != want {
				t.Fatalf("service order:\n got %s\nwant %s", got, want)
			}
			loop.Close()
		})
	}
}

// Close services work submitted before it, then stops; later work is
// dropped and Call reports ErrClosed.
func TestLoopGracefulClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		w := New(Config{})
		loop, _ := w.StartLoop()
		ran := 0
		for i := 0; i < 3; i++ {
			loop.Do(func() { ran++ })
		}
		loop.Kick(1, func() { ran++ })
		w2 := 0
		loop.Do(func() { w.After(time.Hour, func() { w2++ }) })
		loop.Close()
		if ran != 4 {
			t.Fatalf("%d of 4 submitted functions ran before Close returned", ran)
		}
		if w2 != 0 || w.Len() != 1 {
			t.Fatalf("a future event ran (%d) or was lost (queue %d)", w2, w.Len())
		}
		loop.Do(func() { ran++ })
		if err := loop.Call(func() { ran++ }); !errors.Is(err, ErrClosed) {
			t.Fatalf("Call after Close: %v", err)
		}
		if loop.Dropped() != 1 || ran != 4 {
			t.Fatalf("dropped %d, ran %d", loop.Dropped(), ran)
		}
		if _, err := w.StartLoop(); err != nil {
			t.Fatalf("restarting after Close: %v", err)
		}
		w.loop.Close()
	})
}

// The virtual driver refuses to run while a Loop drives the world.
func TestLoopExclusive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := New(Config{})
		loop, _ := w.StartLoop()
		if _, err := w.StartLoop(); err == nil {
			t.Fatal("second StartLoop succeeded")
		}
		var runErr error
		loop.Call(func() {})
		// Run from outside while the loop runs is misuse; it must say so.
		runErr = w.Run()
		if runErr == nil || !strings.Contains(runErr.Error(), "Loop") {
			t.Fatalf("Run during Loop: %v", runErr)
		}
		loop.Close()
	})
}

package sim

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Events run in (time, priority, insertion) order whatever order they were
// scheduled in.
func TestSchedulerOrder(t *testing.T) {
	w := New(Config{})
	var got []string
	add := func(at time.Duration, p Priority, name string) {
		w.ScheduleFunc(at, p, func() { got = append(got, name) })
	}
	add(2*time.Second, PrioDefault, "t2-first")
	add(1*time.Second, PrioLate, "t1-late")
	add(1*time.Second, PrioDefault, "t1-a")
	add(1*time.Second, PrioService, "t1-service")
	add(1*time.Second, PrioDefault, "t1-b")
	add(2*time.Second, PrioDefault, "t2-second")
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	want := "t1-service t1-a t1-b t1-late t2-first t2-second"
	if g := strings.Join(got, " "); g != want {
		t.Fatalf("order:\n got %s\nwant %s", g, want)
	}
	if w.Now() != 2*time.Second {
		t.Fatalf("Now = %v, want 2s", w.Now())
	}
}

// A large random schedule with cancellations comes out sorted, and a
// cancelled event never runs.
func TestSchedulerHeapRandom(t *testing.T) {
	w := New(Config{Seed: 7})
	r := w.Rand("test")
	var timers []Timer
	cancelled := map[int]bool{}
	var last time.Duration
	var lastSeq = -1
	ran := 0
	for i := 0; i < 5000; i++ {
		i := i
		at := time.Duration(r.IntN(1000))
		timers = append(timers, w.At(at, func() {
			if cancelled[i] {
				t.Errorf("cancelled event %d ran", i)
			}
			if w.Now() < last || (w.Now() == last && i < lastSeq) {
				t.Errorf("event %d at %v ran after %d at %v", i, w.Now(), lastSeq, last)
			}
			last, lastSeq = w.Now(), i
			ran++
		}))
	}
	for i := 0; i < 5000; i += 3 {
		if !w.Cancel(timers[i]) {
			t.Fatalf("Cancel(%d) = false", i)
		}
		cancelled[i] = true
	}
	if w.Cancel(timers[0]) {
		t.Fatal("second Cancel reported true")
	}
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if want := 5000 - len(cancelled); ran != want {
		t.Fatalf("ran %d events, want %d", ran, want)
	}
	if timers[1].Pending() {
		t.Fatal("timer still pending after it ran")
	}
}

// Events scheduled in the past run at Now; the clock never goes back.
func TestSchedulerPastClamped(t *testing.T) {
	w := New(Config{})
	var at time.Duration
	w.At(time.Second, func() {
		w.At(0, func() { at = w.Now() })
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if at != time.Second {
		t.Fatalf("past event ran at %v, want 1s", at)
	}
}

func TestRunUntilAndLimit(t *testing.T) {
	w := New(Config{TimeLimit: 5 * time.Second})
	n := 0
	var tick func()
	tick = func() { n++; w.After(time.Second, tick) }
	w.At(0, tick)
	if err := w.RunUntil(2500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n != 3 || w.Now() != 2500*time.Millisecond {
		t.Fatalf("after RunUntil(2.5s): %d ticks, Now %v; want 3, 2.5s", n, w.Now())
	}
	err := w.Run()
	if !errors.Is(err, ErrTimeLimit) {
		t.Fatalf("Run past the limit: err = %v, want ErrTimeLimit", err)
	}
	if n != 6 || w.Now() != 5*time.Second {
		t.Fatalf("at the limit: %d ticks, Now %v; want 6, 5s", n, w.Now())
	}
}

func TestStop(t *testing.T) {
	w := New(Config{})
	n := 0
	for i := 0; i < 10; i++ {
		w.At(time.Duration(i), func() {
			n++
			if n == 4 {
				w.Stop()
			}
		})
	}
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("ran %d events before Stop took effect, want 4", n)
	}
	if err := w.Run(); err != nil || n != 10 {
		t.Fatalf("second Run: err %v, n %d; want nil, 10", err, n)
	}
}

// HostEnv keeps only the earliest pending wake-up.
func TestHostEnvDedup(t *testing.T) {
	w := New(Config{})
	env := w.NewHostEnv()
	var calls []time.Duration
	env.Bind(advanceFunc(func() { calls = append(calls, env.Now()) }))
	env.WakeAt(3 * time.Second)
	env.WakeAt(5 * time.Second) // later: ignored
	env.WakeAt(2 * time.Second) // earlier: replaces 3s
	env.WakeAt(2 * time.Second)
	if w.Len() != 1 {
		t.Fatalf("%d events queued, want 1", w.Len())
	}
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0] != 2*time.Second {
		t.Fatalf("Advance calls at %v, want [2s]", calls)
	}
}

type advanceFunc func()

func (f advanceFunc) Advance() { f() }

func TestSeedsIndependent(t *testing.T) {
	w1, w2 := New(Config{Seed: 1}), New(Config{Seed: 2})
	if w1.SeedFor("host", "a") == w1.SeedFor("host", "b") {
		t.Fatal("hosts a and b got the same seed")
	}
	if w1.SeedFor("host", "a") == w2.SeedFor("host", "a") {
		t.Fatal("different world seeds gave the same host seed")
	}
	if w1.SeedFor("ab", "c") == w1.SeedFor("a", "bc") {
		t.Fatal("name lists that concatenate equally gave the same seed")
	}
	if New(Config{Seed: 1}).SeedFor("host", "a") != w1.SeedFor("host", "a") {
		t.Fatal("same seed and names gave different seeds")
	}
}

func TestHostsTable(t *testing.T) {
	w := New(Config{})
	if err := w.AddHostEntry("Server.Example.", addrB); err != nil {
		t.Fatal(err)
	}
	got, err := w.Lookup("server.example")
	if err != nil || got != addrB {
		t.Fatalf("Lookup = %v, %v; want %v", got, err, addrB)
	}
	_, err = w.Lookup("nope.example")
	if !errors.Is(err, ErrUnknownHost) || !strings.Contains(err.Error(), "nope.example") {
		t.Fatalf("unknown host: err = %v", err)
	}
	if err := w.AddHostEntry("server.example", addrA); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("conflicting entry: err = %v, want ErrDuplicate", err)
	}
	if _, err := w.Connect("x", netip0, "y", netip0, LinkConfig{}); !errors.Is(err, ErrUnknownHost) || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("Connect unknown node: err = %v", err)
	}
	// A node that cannot take the interface leaves no link behind.
	w.AddNode("n1", &testNode{w: w})
	w.AddNode("r", mustRouter(t, w))
	if _, err := w.Connect("n1", netip.MustParsePrefix("10.0.0.1/24"), "r", netip0, LinkConfig{Name: "l"}); err == nil || !strings.Contains(err.Error(), "not an IPv4 prefix") {
		t.Fatalf("Connect with a bad router address: %v", err)
	}
	if w.Link("l") != nil || len(w.Links()) != 0 {
		t.Fatal("failed Connect left a link")
	}
	if _, err := w.Connect("n1", netip0, "n1", netip0, LinkConfig{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Connect a node to itself: %v", err)
	}
}

var netip0 = netip.Prefix{}

func mustRouter(t *testing.T, w *World) *Router {
	r, err := w.AddRouter("router")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

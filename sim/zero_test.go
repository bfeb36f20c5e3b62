package sim

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// A World or Net that its constructor did not make (a zero value or a nil
// pointer) never fails with a nil-map or nil-pointer panic: methods that
// return an error return ErrInvalid naming the constructor to use, and the
// others panic with that message.
func TestZeroValuesSayWhatToDo(t *testing.T) {
	p := netip.MustParsePrefix("10.0.0.1/24")
	errCalls := map[string]func(w *World) error{
		"AddHost":      func(w *World) error { _, err := w.AddHost("a", p, stack.TCPConfig{}); return err },
		"AddHostEntry": func(w *World) error { return w.AddHostEntry("a", p.Addr()) },
		"AddNode":      func(w *World) error { return w.AddNode("r", &Router{}) },
		"AddRouter":    func(w *World) error { _, err := w.AddRouter("r"); return err },
		"NewLink":      func(w *World) error { _, err := w.NewLink(LinkConfig{}); return err },
		"Connect":      func(w *World) error { _, err := w.Connect("a", p, "b", p, LinkConfig{}); return err },
		"Capture":      func(w *World) error { _, err := w.Capture(nil, nil); return err },
		"Run":          func(w *World) error { return w.Run() },
		"RunUntil":     func(w *World) error { return w.RunUntil(time.Second) },
		"RunFor":       func(w *World) error { return w.RunFor(time.Second) },
		"StartLoop":    func(w *World) error { _, err := w.StartLoop(); return err },
		"Close":        func(w *World) error { return w.Close() },
	}
	panicCalls := map[string]func(w *World){
		"Spawn":      func(w *World) { w.Spawn("x", func(*Task) {}) },
		"NewHostEnv": func(w *World) { w.NewHostEnv() },
		"NewTaskNet": func(w *World) { NewTaskNet(w, nil) },
	}
	for _, zero := range []struct {
		name string
		w    func() *World
	}{{"zero World", func() *World { return new(World) }}, {"nil *World", func() *World { return nil }}} {
		for name, call := range errCalls {
			err := call(zero.w())
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "sim.New(") {
				t.Errorf("%s.%s: error %v; want ErrInvalid naming sim.New", zero.name, name, err)
			}
		}
		for name, call := range panicCalls {
			msg := catchPanic(func() { call(zero.w()) })
			if !strings.Contains(msg, "sim.New(") {
				t.Errorf("%s.%s: panic %q; want a message naming sim.New", zero.name, name, msg)
			}
		}
	}
	var n Net
	for name, call := range map[string]func() error{
		"Dial":   func() error { _, err := n.Dial("tcp", "a:80"); return err },
		"Listen": func() error { _, err := n.Listen("tcp", ":80"); return err },
	} {
		if err := call(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "NewTaskNet") {
			t.Errorf("zero Net.%s: %v; want ErrInvalid naming the constructors", name, err)
		}
	}
	if msg := catchPanic(func() { n.Now() }); !strings.Contains(msg, "NewTaskNet") {
		t.Errorf("zero Net.Now: panic %q; want a message naming the constructors", msg)
	}
	if msg := catchPanic(func() { NewTaskNet(New(Config{}), nil) }); !strings.Contains(msg, "nil *stack.Host") {
		t.Errorf("NewTaskNet(w, nil): panic %q", msg)
	}
}

// catchPanic runs f and returns its panic value as text ("" if none).
func catchPanic(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// The library refuses reordering on a direction without delay, as the CLI
// does (it calls DirConfig.Validate): NewLink, Validate and both pointer and
// value faults agree, and a delay or a zero probability makes it valid.
func TestReorderNeedsDelay(t *testing.T) {
	for _, f := range []Fault{Reorder{P: 0.25}, &Reorder{P: 0.25, Gap: 5}} {
		d := DirConfig{Faults: []Fault{Loss{P: 0.01}, f}}
		if err := d.Validate(); !errors.Is(err, ErrReorderNeedsDelay) || !strings.Contains(err.Error(), "Faults[1] (reorder)") {
			t.Errorf("%T: Validate() = %v; want ErrReorderNeedsDelay naming Faults[1]", f, err)
		}
		if _, err := New(Config{}).NewLink(LinkConfig{BA: d}); !errors.Is(err, ErrReorderNeedsDelay) || !strings.Contains(err.Error(), "B→A") {
			t.Errorf("%T: NewLink = %v; want ErrReorderNeedsDelay naming B→A", f, err)
		}
		d.Delay = time.Millisecond
		if err := d.Validate(); err != nil {
			t.Errorf("%T with a delay: %v", f, err)
		}
	}
	if err := (DirConfig{Faults: []Fault{Reorder{P: 0}}}).Validate(); err != nil {
		t.Errorf("Reorder{P: 0} without delay: %v (it can do nothing, so it is harmless)", err)
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim"
)

// With a terminal the progress line is drawn and cleared; without one
// (every test, every pipe) progress hooks nothing.
func TestProgress(t *testing.T) {
	if newProgress(nil, 100).hook() != nil {
		t.Error("progress without a terminal installs a hook")
	}
	if progressWriter(&bytes.Buffer{}) != nil {
		t.Error("a bytes.Buffer is treated as a terminal")
	}
	var b bytes.Buffer
	p := newProgress(&b, 3000)
	h := p.hook()
	h(&sim.Event{Verdict: sim.Delivered, Len: 1500, Time: time.Second})
	h(&sim.Event{Verdict: sim.Sent, Len: 1500, Time: 2 * time.Second})
	p.done()
	out := b.String()
	if !strings.Contains(out, " 50.0%") || !strings.Contains(out, "1.000 s of virtual time") || !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("progress output %q", out)
	}
}

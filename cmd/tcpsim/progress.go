package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/tcpsim/tcpsim/sim"
)

// progress draws a one-line progress indicator on a terminal: payload bytes
// acknowledged by their receivers (so retransmissions, headers and ACKs do
// not count) against the bytes to move, and virtual time, redrawn at most
// every 100 ms of wall time. With no terminal it does nothing, so that
// output stays reproducible.
type progress struct {
	w     io.Writer
	total int64
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, total int64) *progress { return &progress{w: w, total: total} }

// hook returns the event hook, or nil when there is nothing to draw on. It
// reads the acknowledged payload from an, which must see each event first.
func (p *progress) hook(an *analyzer) func(*sim.Event) {
	if p == nil || p.w == nil {
		return nil
	}
	return func(e *sim.Event) {
		if e.Verdict != sim.Delivered {
			return
		}
		if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
			p.last = now
			p.draw(an.acked(), e.Time)
		}
	}
}

func (p *progress) draw(acked int64, at time.Duration) {
	p.drawn = true
	pct := 100 * float64(acked) / float64(max(1, p.total))
	fmt.Fprintf(p.w, "\r%5.1f%%  %s of %s acknowledged, %.3f s of virtual time ",
		min(100, pct), humanBytes(acked), humanBytes(p.total), at.Seconds())
}

// humanBytes prints n in the largest decimal unit that keeps it at least 1.
func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.2f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// done clears the line.
func (p *progress) done() {
	if p.w != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return slices.Clip(keys)
}

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
// delivered and virtual time, redrawn at most every 100 ms of wall time.
// With no terminal it does nothing, so that output stays reproducible.
type progress struct {
	w       io.Writer
	total   int64
	got     int64
	last    time.Time
	drawn   bool
	virtual time.Duration
}

func newProgress(w io.Writer, total int64) *progress { return &progress{w: w, total: total} }

// hook returns the event hook, or nil when there is nothing to draw on.
func (p *progress) hook() func(*sim.Event) {
	if p.w == nil {
		return nil
	}
	return func(e *sim.Event) {
		if e.Verdict != sim.Delivered {
			return
		}
		p.got += int64(e.Len)
		p.virtual = e.Time
		if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
			p.last = now
			p.drawn = true
			fmt.Fprintf(p.w, "\r%6.1f%%  %d bytes on the wire, %.3f s of virtual time ", min(100, 100*float64(p.got)/float64(max(1, p.total))), p.got, p.virtual.Seconds())
		}
	}
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

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

// RTT samples follow Karn's rule: none from retransmitted segments or from
// ACKs that cover one.
func TestRTTSampler(t *testing.T) {
	var r rttSampler
	ms := time.Millisecond
	r.sent(0, 100, 0)
	r.sent(100, 200, 1*ms)
	r.sent(200, 300, 2*ms)
	r.sent(300, 400, 3*ms)
	r.acked(100, 50*ms) // sample 50 ms
	r.taint(200, 300)   // 200:300 was retransmitted
	r.acked(200, 60*ms) // sample 59 ms
	r.acked(400, 90*ms) // covers the retransmitted segment: none
	r.acked(400, 95*ms) // duplicate ACK: none
	if r.n != 2 || r.min != 50*ms || r.max != 59*ms || r.sum != 109*ms {
		t.Errorf("samples n=%d min=%v max=%v sum=%v, want 2, 50ms, 59ms, 109ms", r.n, r.min, r.max, r.sum)
	}
}

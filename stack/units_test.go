package stack

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// ============================================================
// Building blocks: ring buffer, reassembly ranges, RTT estimator
// ============================================================

// The ring behaves like a byte FIFO under random writes and reads, with
// wrap-around, growth, and a limit that is not a power of two.
func TestRing_FIFOModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, limit := range []int{1000, 4096, 70000} {
		rg := newRing(limit)
		var model []byte
		next := byte(0)
		for range 5000 {
			if r.IntN(2) == 0 {
				p := make([]byte, r.IntN(3000))
				for i := range p {
					p[i] = next
					next++
				}
				n := rg.write(p)
				if want := min(len(p), limit-len(model)); n != want {
					t.Fatalf("limit %d: write took %d, want %d", limit, n, want)
				}
				model = append(model, p[:n]...)
			} else {
				p := make([]byte, r.IntN(3000))
				n := rg.read(p)
				want := min(len(p), len(model))
				if n != want || !bytes.Equal(p[:n], model[:n]) {
					t.Fatalf("limit %d: read %d bytes, want %d (or wrong bytes)", limit, n, want)
				}
				model = model[n:]
			}
			if rg.n != len(model) || len(rg.buf) > limit {
				t.Fatalf("limit %d: n %d, model %d, buf %d", limit, rg.n, len(model), len(rg.buf))
			}
			if len(model) > 0 {
				off := r.IntN(len(model))
				l := r.IntN(len(model) - off + 1)
				a, b := rg.slices(off, l)
				if !bytes.Equal(append(append([]byte{}, a...), b...), model[off:off+l]) {
					t.Fatalf("limit %d: slices(%d, %d) wrong", limit, off, l)
				}
			}
		}
	}
}

// Reassembly ranges merge overlapping and adjacent blocks, stay sorted, and
// advance rcvNxt over everything contiguous; checked against a bitmap.
func TestReassembly_Model(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		base := segment.Seq(r.Uint32()) // wraparound included
		var q reassembly
		have := make([]bool, 2000)
		nxt := 0
		for range 60 {
			s := nxt + 1 + r.IntN(300)
			e := s + 1 + r.IntN(100)
			if e > len(have) {
				continue
			}
			if !q.insert(base.Add(uint32(s)), base.Add(uint32(e))) {
				continue
			}
			for i := s; i < e; i++ {
				have[i] = true
			}
			if r.IntN(4) == 0 {
				// fill up to a random point in order
				fill := nxt + r.IntN(200)
				for i := nxt; i < fill && i < len(have); i++ {
					have[i] = true
				}
				if fill > nxt {
					nxt = int(q.advance(base.Add(uint32(min(fill, len(have))))).Sub(base))
				}
			}
			// model: contiguous from nxt
			want := nxt
			for want < len(have) && have[want] {
				want++
			}
			if want != nxt && !(q.empty() || q.blocks[0].start.GreaterThan(base.Add(uint32(nxt)))) {
				t.Fatalf("trial %d: a block starts at or before rcvNxt without being merged", trial)
			}
			bytesHeld := 0
			for i := nxt; i < len(have); i++ {
				if have[i] {
					bytesHeld++
				}
			}
			if q.bytes != bytesHeld {
				t.Fatalf("trial %d: %d bytes tracked, model %d", trial, q.bytes, bytesHeld)
			}
			for i := 1; i < len(q.blocks); i++ {
				if !q.blocks[i-1].end.LessThan(q.blocks[i].start) {
					t.Fatalf("trial %d: blocks overlap or touch: %v", trial, q.blocks)
				}
			}
		}
	}
}

// RFC 6298 §2: first sample R gives SRTT = R, RTTVAR = R/2, RTO = SRTT +
// max(G, 4·RTTVAR) clamped to [RTOMin, RTOMax]; later samples use
// alpha = 1/8 and beta = 1/4.
func TestRTO_Estimator(t *testing.T) {
	h, _ := NewHost(HostConfig{Env: &script{}, TCP: TCPConfig{RTOMin: time.Millisecond}})
	c := &Conn{h: h}
	c.rttSample(100 * time.Millisecond)
	if c.srtt != 100*time.Millisecond || c.rttvar != 50*time.Millisecond || c.rto != 300*time.Millisecond {
		t.Fatalf("first sample: srtt %v rttvar %v rto %v", c.srtt, c.rttvar, c.rto)
	}
	c.rttSample(200 * time.Millisecond)
	// RTTVAR = 3/4·50 + 1/4·|100−200| = 62.5 ms; SRTT = 7/8·100 + 1/8·200 = 112.5 ms
	if c.rttvar != 62500*time.Microsecond || c.srtt != 112500*time.Microsecond || c.rto != 362500*time.Microsecond {
		t.Fatalf("second sample: srtt %v rttvar %v rto %v", c.srtt, c.rttvar, c.rto)
	}
	c.backoff = 3
	if got := c.currentRTO(); got != 8*362500*time.Microsecond {
		t.Fatalf("backoff 3: %v", got)
	}
	c.backoff = 20
	if got := c.currentRTO(); got != DefaultRTOMax {
		t.Fatalf("backoff 20: %v, want the %v maximum", got, DefaultRTOMax)
	}
	h2, _ := NewHost(HostConfig{Env: &script{}})
	c2 := &Conn{h: h2}
	c2.rttSample(time.Millisecond)
	if c2.rto != DefaultRTOMin {
		t.Fatalf("small RTT: rto %v, want the %v minimum", c2.rto, DefaultRTOMin)
	}
}

// ============================================================
// Congestion window arithmetic (RFC 5681 §3.1, RFC 6928)
// ============================================================

// Slow start grows cwnd by min(acked, SMSS) per ACK up to ssthresh, then
// by one SMSS per cwnd of acknowledged data.
func TestNewReno_SlowStartAndAvoidance(t *testing.T) {
	h, _ := NewHost(HostConfig{Env: &script{}})
	c := &Conn{h: h, tcb: tcb{sndMSS: 1000}}
	r := newNewReno(c)
	r.init()
	if c.cwnd != 10000 {
		t.Fatalf("IW %d, want 10 segments for MSS 1000 (RFC 6928)", c.cwnd)
	}
	c.ssthresh = 12000
	r.onAck(3000) // slow start: + min(3000, 1000)
	if c.cwnd != 11000 {
		t.Fatalf("cwnd %d", c.cwnd)
	}
	r.onAck(1000)
	r.onAck(1000) // now ≥ ssthresh: congestion avoidance
	if c.cwnd != 13000 && c.cwnd != 12000 {
		t.Fatalf("cwnd %d", c.cwnd)
	}
	before := c.cwnd
	for acked := uint32(0); acked+1000 <= before; acked += 1000 {
		r.onAck(1000)
	}
	if c.cwnd != before+1000 {
		t.Fatalf("congestion avoidance: cwnd %d after one window, want %d", c.cwnd, before+1000)
	}
	c2 := &Conn{h: h, tcb: tcb{sndMSS: 4000}}
	newNewReno(c2).init()
	if c2.cwnd != 14600 {
		t.Fatalf("IW for MSS 4000: %d, want max(2·MSS, 14600)", c2.cwnd)
	}
}

// Sender SWS avoidance (RFC 9293 §3.8.6.2.1): with a window smaller than
// an MSS and under half the peer's largest window, data waits; the
// override (persist) timer then sends what fits.
func TestEstablished_SenderSWSOverride(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 300})
	s.c.Write(data(2000))
	s.none()
	s.advance(300 * time.Millisecond)
	s.expect("Flags [.], seq 1:301, ack 1, win 64000, length 300 @210ms")
	s.none()
	// Its retransmission covers only what was sent, not a full MSS.
	s.advance(200 * time.Millisecond)
	s.expect("Flags [.], seq 1:301, ack 1, win 64000, length 300 @410ms")
	s.inject(seg{flags: A, seq: 1, ack: 301, win: 40000})
	s.expect("Flags [.], seq 301:1761, ack 1, win 64000, length 1460")
	s.expect("Flags [P.], seq 1761:2001, ack 1, win 64000, length 240")
}

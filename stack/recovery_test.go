package stack

import (
	"math/rand/v2"
	"testing"
	"time"
)

// ============================================================
// Issue 11, loss recovery: SACK blocks on our ACKs (RFC 2018 §4),
// RFC 6675 for the sender, PRR (RFC 6937), D-SACK (RFC 2883).
// ============================================================

// oooAck injects 100 bytes at seq and returns the SACK blocks of the ACK
// that answers.
func oooAck(s *script, seq uint32) [][2]uint32 {
	s.t.Helper()
	s.inject(seg{flags: A, seq: seq, ack: 1, win: 65535, data: data(100)})
	if len(s.out) != 1 {
		s.t.Fatalf("%d segments answer the segment at %d, want one ACK", len(s.out), seq)
	}
	c := s.out[0]
	s.out = nil
	return sackBlocks(s, c)
}

// RFC 2018 §4: after the first block (the segment just received), the
// blocks most recently reported come next, not the highest ones. Six
// segments arriving from the top down with holes between them: when the
// sixth opens a block above all others, the block first reported one ACK
// earlier (101) must be repeated; ordering the rest from the highest down
// dropped it after a single report.
func TestSACK_BlocksRepeatMostRecentlyReported(t *testing.T) {
	s := sackScript(t)
	for _, seq := range []uint32{901, 701, 501, 301, 101} {
		oooAck(s, seq)
	}
	got := oooAck(s, 1101)
	want := [][2]uint32{{1101, 1201}, {101, 201}, {301, 401}, {501, 601}}
	if len(got) != len(want) {
		t.Fatalf("blocks %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("blocks %v, want %v", got, want)
		}
	}
}

// RFC 2018 §4 as a property: whatever the arrival order, a block reported
// first is reported again (at its current extent, which may have grown by
// merging) in each of the next two ACKs, unless RCV.NXT has reached it.
func TestSACK_EachBlockReportedThreeTimes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := 0; round < 200; round++ {
		s := sackScript(t)
		n := 6 + rng.IntN(10)
		order := rng.Perm(n)
		var firsts [][2]uint32 // first block of each ACK so far
		acked := uint32(1)
		for k, i := range order {
			seq := uint32(1 + 100*i)
			s.inject(seg{flags: A, seq: seq, ack: 1, win: 65535, data: data(100)})
			if len(s.out) == 0 {
				s.advance(time.Second) // in order, no gap: the delayed ACK
			}
			if len(s.out) != 1 {
				t.Fatalf("round %d: %d segments answer one", round, len(s.out))
			}
			c := s.out[0]
			s.out = nil
			acked = uint32(c.pkt.TCP.Ack) - s.peerISN
			got := sackBlocks(s, c)
			for back := 1; back <= 2 && back <= len(firsts); back++ {
				f := firsts[len(firsts)-back]
				if f[0] < acked {
					continue // delivered in order since
				}
				found := false
				for _, b := range got {
					found = found || (b[0] <= f[0] && f[1] <= b[1])
				}
				if !found {
					t.Fatalf("round %d, arrival %d (order %v): block %v reported %d ACKs ago is missing from %v",
						round, k, order, f, back, got)
				}
			}
			if len(got) > 0 {
				firsts = append(firsts, got[0])
			}
		}
		if acked != uint32(1+100*n) {
			t.Fatalf("round %d: ack %d after all segments", round, acked)
		}
	}
}

package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// ============================================================
// SACK (RFC 2018), on by default
// ============================================================

func sackScript(t *testing.T) *script {
	cfg := scriptCfg()
	s := newScript(t, cfg)
	s.l, _ = s.h.Listen(80, 1)
	s.injectSYNWithSACK(seg{flags: S, win: 65535, mss: 1460})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	// RFC 2018 §2: SACK-permitted only in reply to a SYN that offered it.
	s.expect("Flags [S.], seq 0, ack 1, win 64000, options [mss 1460,nop,nop,sackOK], length 0")
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.c, _ = s.l.Accept()
	if !s.c.Info().SACK {
		t.Fatal("SACK not in use")
	}
	return s
}

// injectSYNWithSACK sends a SYN carrying MSS and SACK-permitted.
func (s *script) injectSYNWithSACK(g seg) {
	s.sackPermitted = true
	s.inject(g)
	s.sackPermitted = false
}

func sackBlocks(s *script, c captured) [][2]uint32 {
	var out [][2]uint32
	for _, b := range c.pkt.TCP.Options.SACKBlocks() {
		out = append(out, [2]uint32{uint32(b.Left) - s.peerISN, uint32(b.Right) - s.peerISN})
	}
	return out
}

// The receiver reports out-of-order blocks, the most recent first (§4).
func TestSACK_ReceiverBlocks(t *testing.T) {
	s := sackScript(t)
	s.inject(seg{flags: A, seq: 101, ack: 1, win: 65535, data: data(100)})
	s.expect("Flags [.], ack 1, win 64000, options [nop,nop,sack 1 {1101:1201}], length 0")
	s.inject(seg{flags: A, seq: 301, ack: 1, win: 65535, data: data(100)})
	c := s.out[0]
	s.out = nil
	if got := sackBlocks(s, c); len(got) != 2 || got[0] != [2]uint32{301, 401} || got[1] != [2]uint32{101, 201} {
		t.Fatalf("blocks %v", got)
	}
	s.inject(seg{flags: A, seq: 201, ack: 1, win: 65535, data: data(50)})
	c = s.out[0]
	s.out = nil
	if got := sackBlocks(s, c); len(got) != 2 || got[0] != [2]uint32{101, 251} || got[1] != [2]uint32{301, 401} {
		t.Fatalf("blocks %v", got)
	}
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(100)})
	c = s.out[0]
	s.out = nil
	if got := sackBlocks(s, c); len(got) != 1 || got[0] != [2]uint32{301, 401} {
		t.Fatalf("blocks %v", got)
	}
}

// The sender retransmits the holes SACK reveals, one per duplicate ACK,
// after the fast retransmit of the first.
func TestSACK_SenderRetransmitsHoles(t *testing.T) {
	s := sackScript(t)
	s.c.Write(data(10 * 1460))
	s.out = nil
	seg := func(i int) uint32 { return uint32(1 + 1460*i) }
	dup := func(blocks ...[2]uint32) {
		s.sack = blocks
		s.inject(seg2(A, 1, 1, 65535))
		s.sack = nil
	}
	dup([2]uint32{seg(1), seg(2)})
	dup([2]uint32{seg(3), seg(4)}, [2]uint32{seg(1), seg(2)})
	s.none() // limited transmit has nothing new to send: all data is out
	dup([2]uint32{seg(3), seg(5)}, [2]uint32{seg(1), seg(2)})
	s.expect(f("Flags [.], seq 1:%d, ack 1, win 64000, length 1460", seg(1)))
	// RFC 6675 with PRR: ssthresh = 5 segments and pipe is 5 (the
	// retransmission and segments 6-9; segment 2 is lost now): the
	// reduction bound lets nothing go.
	dup([2]uint32{seg(3), seg(6)}, [2]uint32{seg(1), seg(2)})
	s.none()
	// Segment 6 SACKed: pipe 4, room for the lost hole.
	dup([2]uint32{seg(3), seg(7)}, [2]uint32{seg(1), seg(2)})
	s.expect(f("Flags [.], seq %d:%d, ack 1, win 64000, length 1460", seg(2), seg(3)))
	dup([2]uint32{seg(3), seg(8)}, [2]uint32{seg(1), seg(2)})
	s.none() // no hole left below the highest SACKed byte, no rescue before a partial ACK
}

func seg2(flags segment.Flags, seq, ack uint32, win uint16) seg {
	return seg{flags: flags, seq: seq, ack: ack, win: win}
}

// RFC 6675 §5: with more than 2·SMSS SACKed above SND.UNA, the first
// duplicate ACK already starts fast retransmit.
func TestSACK_LossDetectedBySACKedBytes(t *testing.T) {
	s := sackScript(t)
	s.c.Write(data(10 * 1460))
	s.out = nil
	s.sack = [][2]uint32{{1 + 1460, 1 + 4*1460}}
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.sack = nil
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460")
	if !s.c.Info().InRecovery {
		t.Fatal("not in recovery")
	}
}

// RFC 2018 §2: SACK-permitted is offered on our SYN by default, and not
// at all with DisableSACK.
func TestSACK_OfferedByDefaultNotWhenDisabled(t *testing.T) {
	for _, off := range []bool{false, true} {
		cfg := scriptCfg()
		cfg.DisableSACK = off
		s := newScript(t, cfg)
		c, err := s.h.Connect(netip.Addr{}, s.peer)
		if err != nil {
			t.Fatal(err)
		}
		s.local = c.LocalAddr()
		s.iss = uint32(s.out[0].pkt.TCP.Seq)
		if off {
			s.expect("Flags [S], seq 0, win 64000, options [mss 1460,nop,nop,TS val 1603323636 ecr 0], length 0")
		} else {
			s.expect("Flags [S], seq 0, win 64000, options [mss 1460,sackOK,TS val 1603323636 ecr 0], length 0")
		}
	}
}

// RFC 2018 §2: without SACK-permitted on the peer's SYN, the blocks the
// peer sends anyway are ignored and our ACKs carry none.
func TestSACK_IgnoredWhenNotNegotiated(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen() // the peer's SYN has no SACK-permitted
	if s.c.Info().SACK {
		t.Fatal("SACK in use without the peer's SACK-permitted")
	}
	s.inject(seg{flags: A, seq: 101, ack: 1, win: 65535, data: data(100)})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	s.c.Write(data(10 * 1460))
	s.out = nil
	// 4·SMSS "SACKed": with SACK this starts fast retransmit at once.
	s.sack = [][2]uint32{{1 + 1460, 1 + 5*1460}}
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.sack = nil
	s.none()
	if s.c.Info().InRecovery {
		t.Fatal("in recovery after one duplicate ACK with unnegotiated SACK blocks")
	}
}

// RFC 6675 §5.1 (and RFC 2018 §3, which leaves them to the sender): blocks
// not inside (SND.UNA, SND.MAX] are ignored; they neither count as SACKed
// bytes nor start recovery.
func TestSACK_InvalidBlocksIgnored(t *testing.T) {
	s := sackScript(t)
	s.c.Write(data(10 * 1460))
	s.out = nil
	sndMax := uint32(1 + 10*1460)
	for _, blk := range [][2]uint32{
		{1 + 1460, sndMax + 1},        // right edge beyond SND.MAX
		{1, 1 + 4*1460},               // left edge at SND.UNA
		{1 + 5*1460, 1 + 1460},        // left above right
		{sndMax + 100, sndMax + 5000}, // entirely above SND.MAX
	} {
		s.sack = [][2]uint32{blk}
		s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
		s.sack = nil
		if s.c.Info().InRecovery {
			t.Fatalf("block %v started recovery", blk)
		}
		s.dupReset()
	}
	s.none()
}

// dupReset clears the duplicate-ACK count (as a new cumulative ACK would)
// so that each case above is judged on its block alone.
func (s *script) dupReset() { s.c.dupAcks = 0 }

// RFC 2018 §8: SACKed data is never freed before it is cumulatively
// acknowledged, since the receiver may renege. An ACK that stops at the
// left edge of SACKed data shows it has: the scoreboard is cleared and the
// data the peer had SACKed is sent again.
func TestSACK_RenegingTolerated(t *testing.T) {
	s := sackScript(t)
	s.c.Write(data(4 * 1460))
	s.out = nil
	s.sack = [][2]uint32{{1 + 1460, 1 + 4*1460}} // all but the first segment SACKed
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.sack = nil
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460") // IsLost: fast retransmit
	// The peer reneges: the retransmission is lost and nothing else is
	// acknowledged, so the timer fires.
	for len(s.out) == 0 {
		s.advance(10 * time.Millisecond)
	}
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460")
	s.out = nil
	// Only the first segment is acknowledged: the peer no longer holds the
	// SACKed ones (it would have acknowledged them). As Linux, the
	// retransmission timer fires 10 ms later (max(SRTT/2, 10 ms)) and they
	// go out again.
	s.inject(seg{flags: A, seq: 1, ack: 1461, win: 65535})
	s.none()
	s.advance(10 * time.Millisecond)
	s.expect("Flags [.], seq 1461:2921, ack 1, win 64000, length 1460")
	if n := s.h.Counters().TCPSACKReneging; n != 1 {
		t.Fatalf("TCPSACKReneging = %d", n)
	}
}

// RFC 6675 §5 (HighRxt): a partial ACK does not retransmit a segment
// already retransmitted as a hole in this recovery; the next hole not yet
// retransmitted, if any, goes instead.
func TestSACK_PartialAckNoSpuriousRetransmit(t *testing.T) {
	s := sackScript(t)
	s.c.Write(data(10 * 1460))
	s.out = nil
	sg := func(i int) uint32 { return uint32(1 + 1460*i) }
	dup := func(ack uint32, blocks ...[2]uint32) {
		s.sack = blocks
		s.inject(seg2(A, 1, ack, 65535))
		s.sack = nil
	}
	// Segments 0 and 2 are lost.
	dup(1, [2]uint32{sg(1), sg(2)})
	dup(1, [2]uint32{sg(3), sg(4)}, [2]uint32{sg(1), sg(2)})
	s.none()
	dup(1, [2]uint32{sg(3), sg(5)}, [2]uint32{sg(1), sg(2)})
	s.expect(f("Flags [.], seq 1:%d, ack 1, win 64000, length 1460", sg(1)))
	dup(1, [2]uint32{sg(3), sg(6)}, [2]uint32{sg(1), sg(2)})
	s.none() // pipe = cwnd (see TestSACK_SenderRetransmitsHoles)
	dup(1, [2]uint32{sg(3), sg(7)}, [2]uint32{sg(1), sg(2)})
	s.expect(f("Flags [.], seq %d:%d, ack 1, win 64000, length 1460", sg(2), sg(3)))
	// Segment 0's retransmission arrives: a partial ACK up to the hole at
	// segment 2, whose retransmission is already on its way. It is not
	// sent again; with nothing else to send, the rescue retransmission
	// (RFC 6675 NextSeg rule 4) resends the last segment instead.
	dup(sg(2), [2]uint32{sg(3), sg(8)})
	s.expect(f("Flags [P.], seq %d:%d, ack 1, win 64000, length 1460", sg(9), sg(10)))
	s.none()
	if !s.c.Info().InRecovery {
		t.Fatal("left recovery on a partial ACK")
	}
}

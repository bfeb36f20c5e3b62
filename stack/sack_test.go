package stack

import (
	"testing"

	"github.com/tcpsim/tcpsim/segment"
)

// ============================================================
// SACK (RFC 2018), with TCPConfig.SACK set
// ============================================================

func sackScript(t *testing.T) *script {
	cfg := scriptCfg()
	cfg.SACK = true
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
	dup([2]uint32{seg(3), seg(6)}, [2]uint32{seg(1), seg(2)})
	s.expect(f("Flags [.], seq %d:%d, ack 1, win 64000, length 1460", seg(2), seg(3)))
	dup([2]uint32{seg(3), seg(7)}, [2]uint32{seg(1), seg(2)})
	s.none() // no hole left below the highest SACKed byte
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

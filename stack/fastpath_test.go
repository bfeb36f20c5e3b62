package stack

import (
	"reflect"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// TestFastPathInvariants: the checks input and processAck make before
// calling pawsAccept and onSACKAck skip them only where they would do
// nothing (h7-perf: the bulk-transfer fast paths).
func TestFastPathInvariants(t *testing.T) {
	k := newBulk(t, 1500)
	k.round(64 << 10)
	c := k.cli
	if !c.tsOK || !c.sackOK {
		t.Fatal("the bulk connection should have timestamps and SACK")
	}
	// PAWS: input calls pawsAccept only for a TSVal older than TS.Recent.
	for _, tsOK := range []bool{false, true} {
		for _, has := range []bool{false, true} {
			for _, d := range []int32{-5, 0, 7} {
				for _, f := range []segment.Flags{segment.FlagACK, segment.FlagACK | segment.FlagRST} {
					c.tsOK = tsOK
					th := segment.Header{Seq: c.rcvNxt, Ack: c.sndUna, Flags: f}
					th.Options.HasTimestamps, th.Options.TSVal = has, c.tsRecent+uint32(d)
					skipped := !(c.tsOK && has && int32(th.Options.TSVal-c.tsRecent) < 0)
					if skipped && !c.pawsAccept(&th, 0) {
						t.Fatalf("tsOK %v ts %v delta %d flags %v: pawsAccept rejects what input skips", tsOK, has, d, f)
					}
				}
			}
		}
	}
	c.tsOK = true
	// sendOne: with nothing SACKed, no RACK and no recovery, sackUsable is
	// min(SND.WND, cwnd) − (SND.NXT − SND.UNA), floored at 0.
	nxt, una, wnd0, cwnd0 := c.sndNxt, c.sndUna, c.sndWnd, c.cwnd
	for _, out := range []uint32{0, 1, 1460, 100000, 300000} {
		for _, wnd := range []uint32{0, 1000, 65535, 262144} {
			for _, cw := range []uint32{0, 2920, 1 << 20} {
				c.sndNxt, c.sndWnd, c.cwnd = c.sndUna.Add(out), wnd, cw
				var want uint32
				if l := min(wnd, cw); l > out {
					want = l - out
				}
				if got := c.sackUsable(c.cwnd); got != want {
					t.Fatalf("out %d wnd %d cwnd %d: sackUsable %d, want %d", out, wnd, cw, got, want)
				}
			}
		}
	}
	c.sndNxt, c.sndUna, c.sndWnd, c.cwnd = nxt, una, wnd0, cwnd0
	// onSACKAck: an ACK at SND.UNA without SACK blocks, RACK or recovery
	// leaves the connection as it was.
	if c.rackOn() || c.cc.inRecovery() {
		t.Fatal("want RACK off and no recovery")
	}
	before := *c
	th := segment.Header{Seq: c.rcvNxt, Ack: c.sndUna, Flags: segment.FlagACK, Window: 100}
	c.onSACKAck(&th)
	if c.sndUna != before.sndUna || c.dupAcks != before.dupAcks || c.stats != before.stats || c.cwnd != before.cwnd ||
		c.sacked.bytes != before.sacked.bytes || len(c.sacked.blocks) != len(before.sacked.blocks) || c.tm != before.tm {
		t.Fatal("onSACKAck changed the connection for an ACK that brings nothing")
	}
}

// TestFastPathMemShortcuts: writeReady takes limit − n for memWritable
// when the send array holds the limit, and armSendTimers handles data in
// flight with the retransmission timer running itself; both must agree
// with the functions they skip (h8-perf). (The rcvMemMayCut and noGrowth
// shortcuts are the first checks of rcvWndMem and memClip themselves.)
func TestFastPathMemShortcuts(t *testing.T) {
	k := newBulk(t, 1500)
	k.round(64 << 10)
	c := k.cli
	m := c.sndBuf.mem
	if m == nil {
		t.Fatal("the bulk connection's rings should be charged to the host")
	}
	saved, sndBuf := *m, c.sndBuf
	checked := 0
	for _, high := range []int64{-1, 0, 1 << 16, 1 << 20, 1 << 30} {
		for _, used := range []int64{0, 1 << 15, 1 << 20, 1 << 29} {
			for _, n := range []int{0, 1, len(sndBuf.buf) / 2, len(sndBuf.buf)} {
				for _, limit := range []int{len(sndBuf.buf) / 2, len(sndBuf.buf), 2 * len(sndBuf.buf)} {
					m.high, m.used = high, used
					c.sndBuf.n, c.sndBuf.limit = min(n, limit), limit
					if c.sndBuf.limit > len(c.sndBuf.buf) {
						continue
					}
					checked++
					if got, want := c.memWritable(), c.sndBuf.limit-c.sndBuf.n; got != want {
						t.Fatalf("high %d used %d n %d limit %d: memWritable %d, want %d", high, used, n, limit, got, want)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no case had the array holding the limit")
	}
	*m, c.sndBuf = saved, sndBuf
	// armSendTimers: with data in flight and the retransmission timer
	// running, armSendTimersAll only stops the persist timer.
	if c.sndMax == c.sndUna || c.tm.rtxAt == 0 {
		t.Fatal("want data in flight and the retransmission timer running")
	}
	tm := c.tm
	want := tm
	want.persistAt = 0
	c.tm.persistAt = 12345
	c.armSendTimersAll()
	if c.tm != want {
		t.Fatalf("armSendTimersAll: timers %+v, want %+v", c.tm, want)
	}
	c.tm = tm
}

// TestFastPathGuards: the flags that let the h9-perf guards skip a call
// stay in step with what they summarise: ccSent's sendHook with the
// algorithm's observers (for every algorithm), the host's queues with its
// interfaces; and addSACKBlocks' guard skips only when the full function
// would add no block.
func TestFastPathGuards(t *testing.T) {
	for _, cc := range []string{CCNewReno, CCCubic, CCDCTCP, CCBBR} {
		k := newBulkCC(t, 1500, cc)
		k.round(64 << 10)
		for _, c := range []*Conn{k.cli, k.srv} {
			if want := c.ccx.sendObs != nil || c.ccx.rateObs != nil; c.ccx.sendHook != want {
				t.Fatalf("%s: sendHook %v, want %v", cc, c.ccx.sendHook, want)
			}
			queues := false
			for _, f := range c.h.ifaces {
				queues = queues || f.queue != nil
			}
			if c.h.queues != queues {
				t.Fatalf("%s: host queues %v, want %v", cc, c.h.queues, queues)
			}
		}
	}
	k := newBulk(t, 1500)
	k.round(64 << 10)
	c := k.srv
	if !c.reasm.empty() || c.dsackValid {
		t.Fatal("the receiver should hold no out-of-order data")
	}
	for _, sack := range []bool{false, true} {
		c.sackOK = sack
		var o segment.Options
		c.addSACKBlocksAll(&o, segment.MaxOptionsLen)
		if o.NumSACK != 0 || c.nSackSent != 0 {
			t.Fatalf("sackOK %v: addSACKBlocksAll added %d blocks with nothing held", sack, o.NumSACK)
		}
	}
	c.sackOK = true
	// send skips armSendTimers with nothing in flight or waiting and no
	// timer running: armSendTimersAll would leave the timers as they are.
	if c.sndMax != c.sndUna || c.tm.rtxAt|c.tm.persistAt != 0 || c.dataEnd().GreaterThan(c.sndNxt) {
		t.Fatal("the receiver should have nothing to send and no send timer")
	}
	tm := c.tm
	c.armSendTimersAll()
	if c.tm != tm {
		t.Fatal("armSendTimersAll changed the timers where send skips it")
	}
}

// TestFastPathSendIdle: where sendIdle holds, output's sendIdlePass sends
// the same packets and leaves the connection and its host exactly as the
// full send pass would (h10-perf), for ACK, delayed-ACK, burst and
// chronograph states around the ones a bulk transfer's receiver and sender
// reach, with and without a RateObserver.
func TestFastPathSendIdle(t *testing.T) {
	type outcome struct {
		c        Conn
		pkts     [][]byte
		counters Counters
		ipID     uint16
		timers   timerHeap
	}
	idle, acks, delacks := 0, 0, 0
	for _, cc := range []string{CCCubic, CCBBR} {
		k := newBulkCC(t, 1500, cc)
		k.round(64 << 10)
		for _, c := range []*Conn{k.srv, k.cli} {
			h := c.h
			base, n0 := *c, len(k.n.pending)
			counters, ipID, timers := h.counters, h.ipID, append(timerHeap(nil), h.timers...)
			run := func(pass func()) outcome {
				pass()
				o := outcome{c: *c, counters: h.counters, ipID: h.ipID, timers: append(timerHeap(nil), h.timers...)}
				for _, p := range k.n.pending[n0:] {
					o.pkts = append(o.pkts, append([]byte(nil), p.b...))
				}
				o.c.notify = nil
				return o
			}
			for i := 0; i < 1<<6; i++ {
				*c = base
				c.ackNow, c.dupAckNow = i&1 != 0, i&2 != 0
				if i&4 != 0 {
					c.rcvUnacked = 1
				}
				if i&8 != 0 && c.tm.delackAt == 0 {
					c.tm.delackAt = h.env.Now() + time.Millisecond
				}
				if i&16 != 0 {
					c.burst.sent, c.burst.rtxSet = 3, true
				}
				if i&32 != 0 {
					c.chrono.kind = chronoBusy
				}
				if !c.sendIdle() {
					continue
				}
				idle++
				before := *c
				restore := func() {
					*c = before
					h.counters, h.ipID, h.timers = counters, ipID, append(h.timers[:0], timers...)
					k.n.pending = k.n.pending[:n0]
				}
				full := run(c.send)
				restore()
				fast := run(c.sendIdlePass)
				restore()
				if len(full.pkts) > 0 {
					acks++
				}
				if full.c.tm.delackAt != before.tm.delackAt {
					delacks++
				}
				if !reflect.DeepEqual(full, fast) {
					t.Fatalf("%s case %d: sendIdlePass and send differ:\nfull %+v\nfast %+v", cc, i, full, fast)
				}
			}
			*c = base
		}
	}
	if idle == 0 || acks == 0 || delacks == 0 {
		t.Fatalf("idle cases %d, with an ACK %d, arming the delayed ACK %d: the test misses a path", idle, acks, delacks)
	}
}

package stack

import (
	"testing"
	"time"
)

// ownerAlg is countingAlg that owns cwnd in recovery (RecoveryCwndOwner):
// it sets cwnd to in flight + 1 SMSS when one starts and to in flight +
// what the ACK delivered on each ACK of it (packet conservation), and
// checks that the engine changed nothing in between: cwnd at each OnAck of
// the recovery is what the algorithm last set.
type ownerAlg struct {
	countingAlg
	starts, ends, checked int
	inRec                 bool
	set                   uint32 // cwnd as the algorithm last set it in the recovery
	violations            []string
}

func (a *ownerAlg) OnRecoveryStart(cc *CCConn) {
	if a.inRec {
		a.violations = append(a.violations, "a recovery started inside another")
	}
	a.starts++
	a.inRec = true
	cc.SetCwnd(cc.InFlight() + cc.MSS())
	a.set = cc.Cwnd()
}

func (a *ownerAlg) OnRecoveryEnd(cc *CCConn) {
	if !a.inRec {
		a.violations = append(a.violations, "a recovery ended that had not started")
	}
	a.ends++
	a.inRec = false
}

func (a *ownerAlg) OnAck(cc *CCConn, s AckSample) {
	if !a.inRec {
		a.countingAlg.OnAck(cc, s)
		return
	}
	a.checked++
	if cc.Cwnd() != a.set && len(a.violations) < 5 {
		a.violations = append(a.violations, "the engine changed cwnd in a recovery")
	}
	cc.SetCwnd(max(cc.InFlight()+s.Acked, cc.Cwnd()))
	a.set = cc.Cwnd()
}

var owners []*ownerAlg

func init() {
	mustRegister("owner-test", func() CongestionAlgorithm {
		a := &ownerAlg{}
		owners = append(owners, a)
		return a
	})
}

// A RecoveryCwndOwner's cwnd is its own through a recovery, with and
// without SACK: the engine starts and ends each recovery exactly once with
// it, never changes cwnd between its calls (no PRR, no RFC 6582 inflation),
// and the transfer completes (transfer checks the data).
func TestRecoveryCwndOwner(t *testing.T) {
	for _, noSACK := range []bool{false, true} {
		owners = nil
		p := transfer(t, 21, 400_000, faults{loss: 0.03}, TCPConfig{MSL: time.Second, CongestionControl: "owner-test", DisableSACK: noSACK})
		starts, ends, checked := 0, 0, 0
		for _, a := range owners {
			for _, v := range a.violations {
				t.Errorf("SACK off %v: %s", noSACK, v)
			}
			starts += a.starts
			checked += a.checked
			ends += a.ends
			if a.inRec {
				ends++ // the connection closed during a recovery (after its data): counted as ended
			}
		}
		cs := p.a.Counters()
		if starts == 0 || checked == 0 || starts != ends {
			t.Fatalf("SACK off %v: %d recoveries started, %d ended, %d ACKs checked in them (fast retransmits %d)",
				noSACK, starts, ends, checked, cs.TCPFastRetrans)
		}
		t.Logf("SACK off %v: %d recoveries, %d ACKs in them with cwnd the algorithm's", noSACK, starts, checked)
	}
}

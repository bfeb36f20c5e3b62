package stack

import (
	"strings"
	"testing"
	"time"
)

// The profiles are valid configs with their defining settings, transfers
// under each survive loss and reordering intact, and an unknown name is an
// error naming the known ones.
func TestProfiles(t *testing.T) {
	if got := strings.Join(Profiles(), ","); got != "linux,rfc" {
		t.Fatalf("profiles %s", got)
	}
	lin, err := Profile(ProfileLinux)
	if err != nil || lin.CongestionControl != CCCubic || lin.QuickAcks != 16 || lin.RTOMax != 120*time.Second || lin.RTOMin != 200*time.Millisecond ||
		!lin.Undo || !lin.FRTO {
		t.Fatalf("linux: %+v %v", lin, err)
	}
	rfc, err := Profile(ProfileRFC)
	if err != nil || rfc.CongestionControl != CCNewReno || rfc.QuickAcks != 0 || rfc.RTOMin != time.Second || rfc.MSL != 2*time.Minute ||
		rfc.Undo || rfc.FRTO {
		t.Fatalf("rfc: %+v %v", rfc, err)
	}
	if _, err := Profile("bsd"); err == nil || !strings.Contains(err.Error(), "linux") {
		t.Fatalf("unknown profile: %v", err)
	}
	for _, name := range Profiles() {
		cfg, _ := Profile(name)
		for seed := uint64(1); seed <= 5; seed++ {
			transfer(t, seed, 100000, faults{loss: 0.03, reorder: 0.03, reorderDelay: 5 * time.Millisecond}, cfg)
		}
	}
}

// With CwndLimitedGrowth, an application that sends half of what cwnd
// allows does not grow cwnd (Linux's tcp_is_cwnd_limited: slow start up to
// twice the largest flight); without it, every ACK of new data does.
func TestCwndLimitedGrowth(t *testing.T) {
	for _, limit := range []bool{false, true} {
		cfg := scriptCfg()
		cfg.CwndLimitedGrowth = limit
		s := newScript(t, cfg)
		s.passiveOpen()
		iw := s.c.Info().Cwnd
		s.c.Write(data(5 * 1460)) // half of the initial window of 10
		s.inject(seg{flags: A, seq: 1, ack: 2*1460 + 1, win: 65535})
		s.inject(seg{flags: A, seq: 1, ack: 4*1460 + 1, win: 65535})
		got := s.c.Info().Cwnd
		switch {
		case limit && got != iw:
			t.Errorf("limited: cwnd %d after ACKs of an app-limited flight of 5, want %d", got, iw)
		case !limit && got <= iw:
			t.Errorf("not limited: cwnd %d, want growth above %d", got, iw)
		}
	}
}

// LinuxRTO floors the variance term (SRTT + max(4·RTTVAR, RTOMin)), RFC
// 6298 the sum (max(SRTT + 4·RTTVAR, RTOMin)).
func TestLinuxRTO(t *testing.T) {
	for _, c := range []struct {
		linux bool
		want  time.Duration
	}{{false, 200 * time.Millisecond}, {true, 0}} { // linux: SRTT + 200 ms, checked as a range
		cfg := scriptCfg()
		cfg.LinuxRTO = c.linux
		s := newScript(t, cfg)
		s.passiveOpen() // one 10 ms sample: SRTT 10 ms, RTTVAR 5 ms
		s.c.rttSample(20 * time.Millisecond)
		s.c.rttSample(20 * time.Millisecond)
		// SRTT ≈ 12.3 ms, 4·RTTVAR small: RFC 6298 floors the sum at
		// 200 ms; Linux adds SRTT to the 200 ms floor of the variance term.
		got := s.c.Info().RTO
		if c.linux && (got < 210*time.Millisecond || got > 215*time.Millisecond) || !c.linux && got != c.want {
			t.Errorf("LinuxRTO %v: RTO %v", c.linux, got)
		}
	}
}

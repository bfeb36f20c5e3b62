package stack

import (
	"fmt"
	"sort"
	"time"
)

// Profiles are named TCPConfig presets. A zero TCPConfig is tcpsim's own
// defaults (the "Defaults compared" table of docs/tcp.md); a profile fills
// in the fields where Linux and the RFCs part ways, so that one can run
// the same experiment as Linux would and as the RFCs say.
//
//   - linux: Linux 6.x defaults as far as tcpsim models them: CUBIC with
//     HyStart++ (Linux's HyStart), RACK-TLP, quick-ACK mode (16), RTO 1 s initial,
//     200 ms minimum, 120 s maximum, 60 s TIME_WAIT (MSL 30 s), timestamps,
//     SACK, window scale, initial window 10, delayed ACK 40 ms, the undo
//     of spurious reductions (Eifel and D-SACK) and F-RTO. What Linux does
//     and tcpsim does not yet (pacing, auto-tuned buffers and its fixed
//     window scale of 7) is listed in docs/tcp.md.
//   - rfc: the RFCs' text where Linux departs from it: NewReno (RFC 5681,
//     RFC 6582), minimum RTO 1 s (RFC 6298 §2.4), maximum RTO 60 s
//     (§2.5), MSL 2 minutes (RFC 9293 §3.4.2, so TIME_WAIT is 4 minutes),
//     no quick-ACK mode, delayed ACKs of at most every second full segment,
//     and no undo or F-RTO (RFC 3522, RFC 3708 and RFC 5682 are
//     Experimental; RFC 5681's reductions stand).
//     Both keep what hardening needs (the invalid-ACK limiter of RFC 5961
//     §7, SYN cookies, PAWS): without it, one injected segment starts an
//     endless ACK exchange even under the RFCs' rules.

// Profile names.
const (
	ProfileLinux = "linux"
	ProfileRFC   = "rfc"
)

var profiles = map[string]func() TCPConfig{
	ProfileLinux: func() TCPConfig {
		return TCPConfig{
			CongestionControl:    CCCubic,
			QuickAcks:            DefaultQuickAcks,
			RACK:                 true,
			CwndLimitedGrowth:    true,
			LinuxRTO:             true,
			TSOBurst:             DefaultTSOBurst,
			DeliveredGrowth:      true,
			RecoveryExitSsthresh: true,
			CWRReduction:         true,
			LinuxRACK:            true,
			SlowStartUncapped:    true,
			SendBufferPerChunk:   true,
			Undo:                 true,
			FRTO:                 true,
			ECN:                  ECNPassive,
			RTOInitial:           time.Second,
			RTOMin:               200 * time.Millisecond,
			RTOMax:               120 * time.Second,
			MSL:                  30 * time.Second,
			DelayedAck:           40 * time.Millisecond,
			InitialWindow:        10,
		}
	},
	ProfileRFC: func() TCPConfig {
		return TCPConfig{
			CongestionControl: CCNewReno,
			RTOInitial:        time.Second,
			RTOMin:            time.Second,
			RTOMax:            60 * time.Second,
			MSL:               2 * time.Minute,
			DelayedAck:        200 * time.Millisecond,
		}
	},
}

// Profile returns the TCPConfig preset named name.
func Profile(name string) (TCPConfig, error) {
	f, ok := profiles[name]
	if !ok {
		return TCPConfig{}, fmt.Errorf("stack: unknown profile %q (known: %v)", name, Profiles())
	}
	return f(), nil
}

// Profiles lists the profile names.
func Profiles() []string {
	var names []string
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

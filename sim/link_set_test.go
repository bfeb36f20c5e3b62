package sim

import (
	"errors"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// SetRate and SetDelay change a direction for the packets that enter it
// afterwards; packets already in it keep their times.
func TestLinkSetRateAndDelay(t *testing.T) {
	w, l, a, b := pair(t, Config{}, Symmetric("", DirConfig{Delay: 10 * time.Millisecond, Rate: 8_000_000}))
	p := tcpPacket(t, addrA, addrB, segment.FlagACK, 1, 960) // 1000 bytes: 1 ms at 8 Mbit/s
	a.ifaces[0].Send(p)
	w.ScheduleFunc(5*time.Millisecond, PrioDefault, func() {
		if err := l.SetRate(0, 4_000_000); err != nil { // 2 ms per packet
			t.Error(err)
		}
		if err := l.SetDelay(0, 20*time.Millisecond); err != nil {
			t.Error(err)
		}
		a.ifaces[0].Send(p)
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	sameTimes(t, "a→b", arrivals(b), []time.Duration{11 * time.Millisecond, 27 * time.Millisecond})
	if l.ends[1].out.cfg.Rate != 8_000_000 || l.ends[1].out.cfg.Delay != 10*time.Millisecond {
		t.Error("changing A→B changed B→A")
	}
	if err := l.SetRate(0, -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetRate(-1): %v", err)
	}
	if err := l.SetDelay(1, -time.Second); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetDelay(-1s): %v", err)
	}
	_, l2, _, _ := pair(t, Config{}, Symmetric("", DirConfig{Delay: time.Millisecond, Faults: []Fault{Reorder{P: 0.5}}}))
	if err := l2.SetDelay(0, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetDelay(0) under a reorder fault: %v", err)
	}
}

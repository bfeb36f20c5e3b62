package sim

import (
	"fmt"
	"time"
)

// Changing a link while the world runs (scenario events: "the bottleneck
// drops to 2 Mbit/s at t = 5 s"). A change applies to packets that enter
// the direction from then on: packets already queued or on the wire keep
// the times computed when they entered, as a real transmitter finishes the
// frame it is sending.

// SetRate sets the bit rate of the direction leaving end from (0 = A, 1 =
// B); zero means infinitely fast. Call it in scheduler context.
func (l *Link) SetRate(from int, bps int64) error {
	if bps < 0 {
		return fmt.Errorf("%w: link %q: SetRate(%d, %d): rate must not be negative", ErrInvalid, l.name, from, bps)
	}
	l.ends[from&1].out.cfg.Rate = bps
	return nil
}

// SetDelay sets the propagation delay of the direction leaving end from. A
// shorter delay lets packets sent after the change arrive before packets
// sent earlier, as on a real path whose delay drops. Call it in scheduler
// context.
func (l *Link) SetDelay(from int, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: link %q: SetDelay(%d, %v): delay must not be negative", ErrInvalid, l.name, from, d)
	}
	dir := l.ends[from&1].out
	if d == 0 {
		for _, f := range dir.cfg.Faults {
			if reorders(f) {
				return fmt.Errorf("%w: link %q: SetDelay(%d, 0): the direction has a reorder fault, which needs a delay", ErrInvalid, l.name, from)
			}
		}
	}
	dir.cfg.Delay = d
	return nil
}

// Rate returns the rate in bit/s of the direction leaving end from, as set
// by its DirConfig or the last SetRate; zero means unlimited.
func (l *Link) Rate(from int) int64 { return l.ends[from&1].out.cfg.Rate }

package stack

import "fmt"

// Settings a running host may change, as Linux's sysctls may be written at
// any time. Each takes effect for what the host does from then on
// (connections already open keep what they negotiated).

// SetTimestamps turns the RFC 7323 timestamps option on or off for SYNs
// sent from now on (TCPConfig.DisableTimestamps; Linux's tcp_timestamps).
func (h *Host) SetTimestamps(on bool) { h.cfg.DisableTimestamps = !on }

// SetECN changes TCPConfig.ECN (ECNOff, ECNOn or ECNPassive; Linux's
// tcp_ecn 0, 1 and 2) for connections opened from now on.
func (h *Host) SetECN(mode int) error {
	switch mode {
	case ECNOff, ECNOn, ECNPassive:
		h.cfg.ECN = mode
		return nil
	}
	return fmt.Errorf("stack: host %q: ECN mode %d is not ECNOff, ECNOn or ECNPassive", h.name, mode)
}

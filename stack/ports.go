package stack

import (
	"fmt"
	"time"
)

// PortRange is the range of local ports a host picks from when a socket
// leaves its port to the stack (Linux's net.ipv4.ip_local_port_range):
// TCP connects, port-0 listeners and unbound UDP sockets. The zero value
// means the IANA range 49152–65535 (RFC 6335 §6).
type PortRange struct {
	Low, High uint16
}

// String prints the range as Linux's sysctl does, "low-high".
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Low, r.High) }

// Count is how many ports the range holds.
func (r PortRange) Count() int { return int(r.High) - int(r.Low) + 1 }

// portRangeDefaults fills the zero range and rejects an empty or
// reversed one.
func (c *TCPConfig) portRangeDefaults() error {
	r := &c.EphemeralPorts
	if *r == (PortRange{}) {
		*r = PortRange{ephemeralLow, ephemeralHigh}
		return nil
	}
	if r.Low == 0 || r.Low > r.High {
		return fmt.Errorf("stack: TCPConfig.EphemeralPorts %v: want 1 <= low <= high <= 65535", *r)
	}
	return nil
}

// ephemeralPort is the i-th port of the host's range, i taken modulo its size.
func (h *Host) ephemeralPort(i uint32) uint16 {
	r := h.cfg.EphemeralPorts
	return uint16(uint32(r.Low) + i%uint32(r.Count()))
}

// TimeWaitEnds returns when the connection's TIME_WAIT expires and the
// 4-tuple is free again, and false when it is not in TIME_WAIT.
func (c *Conn) TimeWaitEnds() (time.Duration, bool) {
	if c.state != StateTimeWait || c.tm.closeAt == 0 {
		return 0, false
	}
	return c.tm.closeAt, true
}

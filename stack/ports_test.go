package stack

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A host given a small port range picks every port of it, and only those,
// then fails the next connect with ErrNoPorts naming the range.
func TestEphemeralPortRangeExhausted(t *testing.T) {
	cfg := TCPConfig{EphemeralPorts: PortRange{40000, 40002}}
	p := newPair(t, 3, time.Millisecond, faults{}, cfg)
	seen := map[uint16]bool{}
	for i := range 3 {
		c, err := p.a.Connect(addrA, netipAP(addrB, 80))
		if err != nil {
			t.Fatalf("connect %d: %v", i+1, err)
		}
		port := c.LocalAddr().Port()
		if port < 40000 || port > 40002 || seen[port] {
			t.Fatalf("connect %d: port %d outside 40000-40002 or already used (%v)", i+1, port, seen)
		}
		seen[port] = true
	}
	_, err := p.a.Connect(addrA, netipAP(addrB, 80))
	if !errors.Is(err, ErrNoPorts) || !strings.Contains(err.Error(), "40000-40002") {
		t.Fatalf("fourth connect: %v, want ErrNoPorts in 40000-40002", err)
	}
	// Another destination port is another 4-tuple: the range serves it again.
	if _, err := p.a.Connect(addrA, netipAP(addrB, 81)); err != nil {
		t.Fatalf("connect to port 81: %v", err)
	}
}

func TestEphemeralPortRangeRejected(t *testing.T) {
	for _, r := range []PortRange{{0, 10}, {5000, 4000}} {
		cfg := TCPConfig{EphemeralPorts: r}
		if err := cfg.applyDefaults(); err == nil || !strings.Contains(err.Error(), "EphemeralPorts") {
			t.Errorf("range %v: error %v, want one naming EphemeralPorts", r, err)
		}
	}
	var cfg TCPConfig
	if err := cfg.applyDefaults(); err != nil || cfg.EphemeralPorts != (PortRange{49152, 65535}) {
		t.Fatalf("default range %v (%v), want 49152-65535", cfg.EphemeralPorts, err)
	}
}

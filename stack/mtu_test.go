package stack

import (
	"net/netip"
	"testing"
)

// RFC 791's least MTU, 68 bytes, is a valid interface MTU: a transfer over
// it completes intact with an MSS of 28, every packet (SYNs with their
// options, bare ACKs with SACK blocks under loss) fits, and 67 is refused.
func TestLeastMTU(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		p := transferMTU(t, seed, 20000, faults{loss: 0.05}, TCPConfig{}, 0, 68)
		if p.a.Counters().TCPRetransSegs+p.b.Counters().TCPRetransSegs == 0 {
			t.Errorf("seed %d: 5%% loss caused no retransmission; the test did not exercise recovery", seed)
		}
	}
	h, err := NewHost(HostConfig{Name: "h", Env: &hostEnv{n: newTestNet(t, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.AddInterface(netip.MustParsePrefix("10.9.0.1/24"), &testLink{}, 67); err == nil {
		t.Error("AddInterface accepted MTU 67, below RFC 791's 68")
	}
	if _, err := h.AddInterface(netip.MustParsePrefix("10.9.0.1/24"), &testLink{}, 68); err != nil {
		t.Errorf("AddInterface refused MTU 68: %v", err)
	}
}

package stack

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// countingAlg is a registered algorithm that counts the API's calls and
// grows cwnd by one SMSS per ACK (a crude slow start without end).
type countingAlg struct {
	inits, acks, congestions, idles int
	acked                           uint64
	events                          []CongestionEvent
}

func (a *countingAlg) Init(cc *CCConn) { a.inits++ }
func (a *countingAlg) OnAck(cc *CCConn, s AckSample) {
	a.acks++
	a.acked += uint64(s.Acked)
	if !s.InRecovery && s.CwndLimited {
		cc.SetCwnd(cc.Cwnd() + min(s.Acked, cc.MSS()))
	}
}
func (a *countingAlg) OnCongestion(cc *CCConn, ev CongestionEvent) uint32 {
	a.congestions++
	a.events = append(a.events, ev)
	return max(cc.FlightSize()/2, 2*cc.MSS())
}
func (a *countingAlg) AfterIdle(cc *CCConn) { a.idles++ }

var counting []*countingAlg

func init() {
	mustRegister("counting-test", func() CongestionAlgorithm {
		a := &countingAlg{}
		counting = append(counting, a)
		return a
	})
}

// The registry: bad names, a nil constructor and a taken name are errors;
// the built-ins come first in order; an unknown name in TCPConfig is an
// error listing the known ones.
func TestRegisterCongestionControl(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"", "want 1 to 32"},
		{"Vegas", "want 1 to 32"},
		{"has space", "want 1 to 32"},
		{strings.Repeat("x", 33), "want 1 to 32"},
		{"cubic", "already registered"},
		{"counting-test", "already registered"},
	} {
		err := RegisterCongestionControl(tc.name, func() CongestionAlgorithm { return &countingAlg{} })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RegisterCongestionControl(%q) = %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := RegisterCongestionControl("nil-ctor", nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("nil constructor: %v", err)
	}
	names := CongestionControls()
	if !slices.Equal(names[:4], []string{CCNewReno, CCCubic, CCDCTCP, CCBBR}) || !slices.Contains(names, "counting-test") {
		t.Fatalf("CongestionControls() = %v", names)
	}
	_, err := NewHost(HostConfig{Env: &script{t: t}, TCP: TCPConfig{CongestionControl: "nope"}})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "counting-test") {
		t.Fatalf("unknown name: %v", err)
	}
}

// A registered algorithm runs a lossy transfer by name: each connection
// gets its own instance, Init runs once per connection, OnAck sees every
// byte acknowledged, losses reach OnCongestion, and Info names it.
func TestRegisteredAlgorithmTransfer(t *testing.T) {
	counting = nil
	transfer(t, 11, 300_000, faults{loss: 0.03}, TCPConfig{MSL: time.Second, CongestionControl: "counting-test"})
	var acked uint64
	congestions, used := 0, 0
	for _, a := range counting {
		if a.inits > 1 {
			t.Errorf("instance initialised %d times", a.inits)
		}
		if a.inits == 0 {
			continue // made by TCPConfig validation, to look at its optional interfaces
		}
		used++
		acked += a.acked
		congestions += a.congestions
	}
	if used != 2 {
		t.Fatalf("%d instances initialised, want one per connection (2)", used)
	}
	if acked < 2*300_000 || congestions == 0 {
		t.Fatalf("OnAck saw %d bytes acknowledged (want at least 600000), %d congestion events", acked, congestions)
	}
}

// BBR and DCTCP survive impaired paths: loss, duplication, reordering,
// with and without SACK; hashes match and both ends close.
func TestTransferNewAlgorithmsLossy(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 4
	}
	for _, cc := range []string{CCBBR, CCDCTCP} {
		for s := range seeds {
			seed := uint64(s + 9100)
			f := faults{loss: []float64{0.01, 0.05, 0.1}[s%3], dup: 0.01, reorder: 0.02, reorderDelay: 10 * time.Millisecond}
			p := transfer(t, seed, 1<<20, f, TCPConfig{MSL: time.Second, CongestionControl: cc, ECN: ECNOn, DisableSACK: s%2 == 1})
			if cs := p.a.Counters(); cs.TCPRetransSegs == 0 {
				t.Errorf("%s seed %d: no retransmissions at %v loss: the test did not test recovery", cc, seed, f.loss)
			}
		}
	}
}

// Conn.SetCongestionControl (TCP_CONGESTION): an unknown name and DCTCP
// without ECN are refused and change nothing; a switch after ESTABLISHED
// runs the new algorithm's Init at once, and Info names it.
func TestSetCongestionControl(t *testing.T) {
	p := newPair(t, 3, 5*time.Millisecond, faults{}, TCPConfig{})
	l, err := p.b.Listen(80, 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.a.Connect(addrA.Unmap(), netipAP(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetCongestionControl("nope"); err == nil || !strings.Contains(err.Error(), "known algorithms: newreno") {
		t.Fatalf("unknown name: %v", err)
	}
	if err := c.SetCongestionControl(CCDCTCP); err == nil || !strings.Contains(err.Error(), "requires ECN") {
		t.Fatalf("dctcp without ECN: %v", err)
	}
	if c.CongestionControl() != CCNewReno {
		t.Fatalf("a refused switch changed the algorithm to %q", c.CongestionControl())
	}
	p.n.run(time.Second, func() bool { return c.State() == StateEstablished })
	counting = nil
	if err := c.SetCongestionControl("counting-test"); err != nil {
		t.Fatal(err)
	}
	if len(counting) != 1 || counting[0].inits != 1 || c.Info().CongestionControl != "counting-test" {
		t.Fatalf("after the switch: %d instances, Info %q", len(counting), c.Info().CongestionControl)
	}
	_ = l
}

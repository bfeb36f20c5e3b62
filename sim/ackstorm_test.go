package sim

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/stack"
)

// stopAfter is a pass-through fault that counts packets and stops the
// world after n of them: a guard so that a run that cannot end fails the
// test instead of hanging it.
type stopAfter struct {
	w     *World
	n     int
	count *int
}

func (stopAfter) FaultName() string                          { return "stopafter" }
func (stopAfter) Validate() error                            { return nil }
func (f stopAfter) NewInjector(*rand.Rand) (Injector, error) { return f, nil }
func (f stopAfter) Inject(*FaultPacket) Action {
	*f.count++
	if *f.count >= f.n {
		f.w.Stop()
	}
	return Action{}
}

// TestACKStormZeroDelayTimeLimit (issue 10 item 1): on a link with the
// DirConfig zero value (no delay), one injected in-window segment made
// client and server answer each other's ACK as unacceptable for ever at one
// virtual instant, so Config.TimeLimit could never end Run. With the
// stack's invalid-ACK limiter the exchange stops after a few packets and
// Run ends at the time limit.
func TestACKStormZeroDelayTimeLimit(t *testing.T) {
	const limit = 20 * time.Second
	w := New(Config{Seed: 1, TimeLimit: limit})
	pa, pb := netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("10.0.0.2/24")
	cli, err := w.AddHost("client", pa, stack.TCPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := w.AddHost("server", pb, stack.TCPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var packets int
	guard := stopAfter{w: w, n: 100000, count: &packets}
	if _, err := w.Connect("client", pa, "server", pb, LinkConfig{
		AB: DirConfig{Faults: []Fault{guard}}, BA: DirConfig{Faults: []Fault{guard}},
	}); err != nil {
		t.Fatal(err)
	}
	l, err := srv.Listen(80, 4)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cli.Connect(netip.Addr{}, netip.AddrPortFrom(pb.Addr(), 80))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.RunFor(time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Accept(); err != nil || c.State() != stack.StateEstablished {
		t.Fatalf("accept: %v, client %v", err, c.State())
	}
	i := c.Info()
	pkt := segment.Packet{
		IP: ippacket.Header{TTL: 64, Protocol: ippacket.ProtocolTCP, Src: i.Local.Addr(), Dst: i.Remote.Addr(), Flags: ippacket.FlagDF},
		TCP: segment.Header{SrcPort: i.Local.Port(), DstPort: i.Remote.Port(),
			Seq: i.SndNxt, Ack: i.RcvNxt, Flags: segment.FlagACK | segment.FlagPSH, Window: 1000},
		Payload: []byte("0123456789"),
	}
	b, err := pkt.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	packets = 0
	w.After(0, func() { srv.Deliver(0, b) })
	w.At(limit+time.Second, func() {}) // something beyond the limit
	err = w.Run()
	t.Logf("after one injected segment: %d packets, Run returned %v at %v", packets, err, w.Now())
	if !errors.Is(err, ErrTimeLimit) || w.Now() != limit {
		t.Fatalf("Run returned %v at %v after %d packets; want ErrTimeLimit at %v", err, w.Now(), packets, limit)
	}
	if packets > 10 {
		t.Fatalf("%d packets after one injected segment", packets)
	}
}

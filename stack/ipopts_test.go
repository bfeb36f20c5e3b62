package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
)

// TestConnTOSAndDF: SetTOS puts its DSCP bits on every packet the
// connection sends (the ECN bits stay the engine's: ECT(0) on data with
// ECN on), SetDontFragment(false) clears DF; the header checksum stays
// right, the peer reads every byte, and the other direction is untouched.
func TestConnTOSAndDF(t *testing.T) {
	p := newPair(t, 1, 5*time.Millisecond, faults{}, TCPConfig{ECN: ECNOn})
	type hdr struct{ dscp, ecn, flags uint8 }
	var ab, ba []hdr
	check := func(pkt []byte) hdr {
		v := ippacket.View(pkt)
		if err := v.Check(true); err != nil {
			t.Fatalf("bad IPv4 header: %v", err)
		}
		return hdr{v.DSCP(), v.ECN(), v.Flags()}
	}
	p.ab.tap = func(pkt []byte) { ab = append(ab, check(pkt)) }
	p.ba.tap = func(pkt []byte) { ba = append(ba, check(pkt)) }
	l, err := p.b.Listen(80, 4)
	if err != nil {
		t.Fatal(err)
	}
	var srv *app
	l.SetNotify(func(Event) {
		if c, err := l.Accept(); err == nil {
			srv = newApp(c, nil)
		}
	})
	c, err := p.a.Connect(addrA.Unmap(), netipAP(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	before := len(ab)  // the SYN, sent by Connect
	c.SetTOS(0x28 | 3) // DSCP 10 (AF11); the ECN bits asked for are ignored
	c.SetDontFragment(false)
	if c.TOS() != 0x28 || c.DontFragment() {
		t.Fatalf("TOS %#x DontFragment %v, want 0x28 and false", c.TOS(), c.DontFragment())
	}
	cli := newApp(c, randomBytes(1, 20000))
	if !p.n.run(10*time.Second, func() bool { return srv != nil && srv.got == 20000 }) || cli.err != nil {
		t.Fatalf("transfer did not complete (%+v)", c.Info())
	}
	data := 0
	if before != 1 || ab[0].dscp != 0 || ab[0].flags&ippacket.FlagDF == 0 {
		t.Fatalf("%d packets before SetTOS, the first %+v; want the SYN alone with DSCP 0 and DF", before, ab[0])
	}
	for _, h := range ab[before:] {
		if h.dscp != 10 || h.flags&ippacket.FlagDF != 0 {
			t.Fatalf("a→b packet with DSCP %d flags %d, want 10 and no DF", h.dscp, h.flags)
		}
		if h.ecn == 2 {
			data++
		}
	}
	if data == 0 {
		t.Fatal("no a→b packet carries ECT(0): the ECN bits were lost")
	}
	for _, h := range ba {
		if h.dscp != 0 || h.flags&ippacket.FlagDF == 0 {
			t.Fatalf("b→a packet with DSCP %d flags %d, want 0 and DF", h.dscp, h.flags)
		}
	}
}

// TestConnectOptionsTOS: ConnectOptions.TOS and NoDontFragment apply from
// the SYN on, as IP_TOS and IP_MTU_DISCOVER set before connect do.
func TestConnectOptionsTOS(t *testing.T) {
	p := newPair(t, 1, 5*time.Millisecond, faults{}, TCPConfig{})
	var first []byte
	p.ab.tap = func(pkt []byte) {
		if first == nil {
			first = append([]byte(nil), pkt...)
		}
	}
	if _, err := p.b.Listen(80, 4); err != nil {
		t.Fatal(err)
	}
	c, err := p.a.ConnectWith(netip.AddrPortFrom(addrA.Unmap(), 0), netipAP(addrB, 80), ConnectOptions{TOS: 0xb8, NoDontFragment: true})
	if err != nil {
		t.Fatal(err)
	}
	p.n.run(time.Second, func() bool { return c.State() == StateEstablished })
	v := ippacket.View(first)
	if first == nil || v.DSCP() != 0xb8>>2 || v.Flags()&ippacket.FlagDF != 0 || c.TOS() != 0xb8 || c.DontFragment() {
		t.Fatalf("SYN DSCP %d flags %d (conn TOS %#x, DF %v); want DSCP 46 (EF) without DF", v.DSCP(), v.Flags(), c.TOS(), c.DontFragment())
	}
}

package stack

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
)

// ============================================================
// IPv4 input checks (RFC 791, RFC 1122 §3.2.1): drop and count by reason
// ============================================================

func TestIPv4_InputDropsCounted(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.l, _ = s.h.Listen(80, 4)
	good := func() []byte {
		p := segment.Packet{
			IP:  ippacket.Header{TTL: 64, Protocol: ippacket.ProtocolTCP, Src: s.peer.Addr(), Dst: s.local.Addr()},
			TCP: segment.Header{SrcPort: 40000, DstPort: 80, Seq: 1, Flags: S, Window: 100},
		}
		b, err := p.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type tc struct {
		name    string
		mutate  func([]byte) []byte
		counter func(Counters) uint64
	}
	reIP := func(b []byte) {
		b[10], b[11] = 0, 0
		c := ippacket.Checksum(b[:20], 0)
		b[10], b[11] = byte(c>>8), byte(c)
	}
	cases := []tc{
		{"truncated", func(b []byte) []byte { return b[:10] }, func(c Counters) uint64 { return c.IPDropTruncated }},
		{"version 6", func(b []byte) []byte { b[0] = 0x65; return b }, func(c Counters) uint64 { return c.IPDropVersion }},
		{"IHL 4", func(b []byte) []byte { b[0] = 0x44; return b }, func(c Counters) uint64 { return c.IPDropHeaderLen }},
		{"total length beyond packet", func(b []byte) []byte { b[3] = 200; reIP(b); return b }, func(c Counters) uint64 { return c.IPDropTotalLen }},
		{"header checksum", func(b []byte) []byte { b[10] ^= 1; return b }, func(c Counters) uint64 { return c.IPDropChecksum }},
		{"not for us", func(b []byte) []byte { b[19] = 9; reIP(b); return b }, func(c Counters) uint64 { return c.IPDropNotForUs }},
		{"source multicast", func(b []byte) []byte { b[12] = 224; reIP(b); return b }, func(c Counters) uint64 { return c.IPDropBadSource }},
		{"fragment", func(b []byte) []byte { b[6] |= 0x20; reIP(b); return b }, func(c Counters) uint64 { return c.IPDropFragment }},
		// The TCP header read as UDP: its length field (the sequence
		// number's high half) is 0, below UDP's 8.
		{"UDP length", func(b []byte) []byte { b[9] = 17; reIP(b); return b }, func(c Counters) uint64 { return c.UDPDropLength }},
		{"TCP checksum", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, func(c Counters) uint64 { return c.TCPDropChecksum }},
		{"TCP truncated", func(b []byte) []byte { b[3] = 30; reIP(b); return b[:30] }, func(c Counters) uint64 { return c.TCPDropTruncated }},
	}
	for _, c := range cases {
		before := c.counter(s.h.Counters())
		s.h.Deliver(0, c.mutate(good()))
		if c.counter(s.h.Counters()) != before+1 {
			t.Errorf("%s: not counted (%+v)", c.name, s.h.Counters())
		}
	}
	s.h.Deliver(7, good())
	if s.h.Counters().IPDropNoInterface != 1 {
		t.Error("unknown interface not counted")
	}
	s.none()
	s.h.Deliver(0, good())
	if len(s.out) != 1 {
		t.Fatal("the unmodified packet was not accepted")
	}
}

// ============================================================
// API misuse returns errors naming the field and value
// ============================================================

func TestAPI_Errors(t *testing.T) {
	if _, err := NewHost(HostConfig{Name: "x"}); err == nil || !strings.Contains(err.Error(), "Env") {
		t.Errorf("nil Env: %v", err)
	}
	if _, err := NewHost(HostConfig{Env: &script{}, TCP: TCPConfig{RTOMin: -1}}); err == nil || !strings.Contains(err.Error(), "RTOMin") {
		t.Errorf("negative RTOMin: %v", err)
	}
	if _, err := NewHost(HostConfig{Env: &script{}, TCP: TCPConfig{RecvBuffer: 10}}); err == nil || !strings.Contains(err.Error(), "RecvBuffer is 10") {
		t.Errorf("tiny RecvBuffer: %v", err)
	}
	s := newScript(t, scriptCfg())
	if _, err := s.h.AddInterface(netip.MustParsePrefix("10.0.1.1/24"), s, 67); err == nil || !strings.Contains(err.Error(), "mtu 67") {
		t.Errorf("mtu: %v", err)
	}
	if _, err := s.h.AddInterface(netip.MustParsePrefix("10.0.0.1/24"), s, 1500); err == nil {
		t.Error("duplicate address accepted")
	}
	if err := s.h.AddRoute(netip.MustParsePrefix("10.9.0.0/16"), netip.Addr{}, 3); err == nil || !strings.Contains(err.Error(), "ifIndex 3") {
		t.Errorf("route: %v", err)
	}
	if _, err := s.h.Listen(80, 0); err == nil || !strings.Contains(err.Error(), "backlog 0") {
		t.Errorf("backlog: %v", err)
	}
	if _, err := s.h.ListenAddr(netip.MustParseAddrPort("10.0.0.9:80"), 1); err == nil {
		t.Error("listen on a foreign address accepted")
	}
	if _, err := s.h.Listen(80, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.h.Listen(80, 1); !errors.Is(err, ErrAddrInUse) {
		t.Errorf("second listen: %v", err)
	}
	if _, err := s.h.Connect(netip.Addr{}, netip.MustParseAddrPort("10.0.0.2:0")); err == nil {
		t.Error("connect to port 0 accepted")
	}
	h2, _ := NewHost(HostConfig{Env: &script{}})
	if _, err := h2.Connect(netip.Addr{}, netip.MustParseAddrPort("10.0.0.2:80")); !errors.Is(err, ErrNoRoute) {
		t.Errorf("no route: %v", err)
	}
}

// Routes: longest prefix match picks the interface.
func TestIPv4_Routes(t *testing.T) {
	s := newScript(t, scriptCfg())
	other := &script{t: t}
	idx, err := s.h.AddInterface(netip.MustParsePrefix("192.168.1.1/24"), other, 1500)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.h.AddRoute(netip.MustParsePrefix("172.16.0.0/12"), netip.MustParseAddr("192.168.1.254"), idx); err != nil {
		t.Fatal(err)
	}
	c, err := s.h.Connect(netip.Addr{}, netip.MustParseAddrPort("172.16.5.5:80"))
	if err != nil {
		t.Fatal(err)
	}
	if len(other.out) != 1 || len(s.out) != 0 || c.LocalAddr().Addr() != netip.MustParseAddr("192.168.1.1") {
		t.Fatalf("SYN went out the wrong interface (%d, %d) from %v", len(other.out), len(s.out), c.LocalAddr())
	}
	if _, err := s.h.Connect(netip.Addr{}, netip.MustParseAddrPort("8.8.8.8:53")); err != nil || len(s.out) != 1 {
		t.Fatalf("default route: %v", err)
	}
}

// ============================================================
// Seeded randomness: RFC 6528 ISNs and RFC 6056 ports
// ============================================================

func TestSeeded_ISNAndPorts(t *testing.T) {
	syn := func(seed uint64) (uint32, uint16) {
		s := &script{t: t}
		h, _ := NewHost(HostConfig{Env: s, Seed: seed})
		h.AddInterface(netip.MustParsePrefix("10.0.0.1/24"), s, 1500)
		h.Connect(netip.Addr{}, netip.MustParseAddrPort("10.0.0.2:80"))
		return uint32(s.out[0].pkt.TCP.Seq), s.out[0].pkt.TCP.SrcPort
	}
	i1, p1 := syn(1)
	i2, p2 := syn(1)
	i3, p3 := syn(2)
	if i1 != i2 || p1 != p2 {
		t.Fatal("same seed, different ISN or port")
	}
	if i1 == i3 || p1 == p3 {
		t.Fatal("different seeds, same ISN and port")
	}
	for _, p := range []uint16{p1, p3} {
		if p < 49152 {
			t.Fatalf("port %d outside 49152-65535", p)
		}
	}
}

// ============================================================
// More SYN_SENT / SYN_RECEIVED rules
// ============================================================

func TestSynSent_ConnectTimeout(t *testing.T) {
	cfg := scriptCfg()
	cfg.ConnectTimeout = 2500 * time.Millisecond
	s := newScript(t, cfg)
	s.c, _ = s.h.Connect(netip.Addr{}, s.peer)
	s.advance(10 * time.Second)
	if len(s.out) != 2 || !errors.Is(s.c.Err(), syscall.ETIMEDOUT) { // SYNs at 0 s and 1 s; the next would be at 3 s
		t.Fatalf("%d SYNs, err %v", len(s.out), s.c.Err())
	}
	var ne interface{ Timeout() bool }
	if !errors.As(s.c.Err(), &ne) || !ne.Timeout() {
		t.Fatal("timeout error does not report Timeout()")
	}
}

// RST in SYN_RECEIVED of an active (simultaneous) open: connection refused.
func TestSynReceived_RSTActiveRefused(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.c, _ = s.h.Connect(addrA, s.peer)
	s.local = s.c.LocalAddr()
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.inject(seg{flags: S, seq: 0, win: 100})
	s.inject(seg{flags: R, seq: 1})
	if !errors.Is(s.c.Err(), syscall.ECONNREFUSED) || s.h.NumConns() != 0 {
		t.Fatalf("err %v", s.c.Err())
	}
}

// ============================================================
// More ESTABLISHED / closing rules
// ============================================================

// DataRetries exhausted: ETIMEDOUT, connection gone (RFC 9293 §3.8.3 R2).
func TestEstablished_DataRetriesTimeout(t *testing.T) {
	cfg := scriptCfg()
	cfg.DataRetries = 2
	s := newScript(t, cfg)
	s.passiveOpen()
	s.c.Write(data(10))
	s.advance(5 * time.Second)
	s.expect("Flags [P.], seq 1:11, ack 1, win 64000, length 10 @10ms")
	s.expect("Flags [P.], seq 1:11, ack 1, win 64000, length 10 @210ms")
	s.expect("Flags [P.], seq 1:11, ack 1, win 64000, length 10 @610ms")
	s.none()
	if !errors.Is(s.c.Err(), syscall.ETIMEDOUT) || s.h.NumConns() != 0 {
		t.Fatalf("err %v", s.c.Err())
	}
}

// An out-of-order FIN is held until the gap before it fills.
func TestEstablished_OutOfOrderFIN(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: FA, seq: 11, ack: 1, win: 65535, data: data(5)})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	if s.c.State() != StateEstablished {
		t.Fatal(s.c.State())
	}
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(10)})
	s.expect("Flags [.], ack 17, win 63985, length 0")
	if s.c.State() != StateCloseWait || len(s.read()) != 15 {
		t.Fatal(s.c.State())
	}
	if _, err := s.c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatal(err)
	}
}

// Half-close the other way: after our CloseWrite the peer keeps sending and
// we keep reading in FIN_WAIT_2.
func TestClose_HalfCloseReadAfterFIN(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.CloseWrite()
	s.expect("Flags [F.], seq 1, ack 1, win 64000, length 0")
	s.inject(seg{flags: A, seq: 1, ack: 2, win: 65535})
	s.inject(seg{flags: PA, seq: 1, ack: 2, win: 65535, data: data(26)})
	if s.c.State() != StateFinWait2 || s.read() != "abcdefghijklmnopqrstuvwxyz" {
		t.Fatal(s.c.State())
	}
	if _, err := s.c.Write([]byte("x")); err != ErrShutdown {
		t.Fatalf("write after CloseWrite: %v", err)
	}
}

// An orphaned FIN_WAIT_2 (the application closed) ends after FinWait2Timeout.
func TestClose_FinWait2Timeout(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Close()
	s.inject(seg{flags: A, seq: 1, ack: 2, win: 65535})
	s.advance(59 * time.Second)
	if s.c.State() != StateFinWait2 {
		t.Fatal(s.c.State())
	}
	s.advance(2 * time.Second)
	if s.c.State() != StateClosed || s.h.NumConns() != 0 {
		t.Fatal(s.c.State())
	}
}

// Closing a listener resets the connections nobody accepted.
func TestListen_CloseResetsQueue(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.l, _ = s.h.Listen(80, 4)
	s.inject(seg{flags: S, win: 65535})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.out = nil
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	if s.l.Pending() != 1 {
		t.Fatal("not queued")
	}
	s.l.Close()
	s.expect("Flags [R.], seq 1, ack 1, win 0, length 0")
	if s.h.NumConns() != 0 || s.h.NumListeners() != 0 {
		t.Fatal("state left")
	}
	if _, err := s.l.Accept(); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

// DelayedAck < 0: every data segment is acknowledged at once.
func TestEstablished_NoDelayedAck(t *testing.T) {
	cfg := scriptCfg()
	cfg.DelayedAck = -1
	s := newScript(t, cfg)
	s.passiveOpen()
	s.inject(seg{flags: PA, seq: 1, ack: 1, win: 65535, data: data(10)})
	s.expect("Flags [.], ack 11, win 63990, length 0 @10ms")
}

// Events: readable on data, EOF, writable when space frees, closed at the end.
func TestEvents(t *testing.T) {
	s := newScript(t, TCPConfig{DisableWindowScale: true, RecvBuffer: 64000, SendBuffer: 1000, MSL: time.Second})
	s.passiveOpen()
	s.events = nil
	s.inject(seg{flags: PA, seq: 1, ack: 1, win: 65535, data: data(10)})
	if len(s.events) != 1 || s.events[0] != EventReadable {
		t.Fatalf("events %v", s.events)
	}
	n, err := s.c.Write(data(2000))
	if n != 1000 || err != nil {
		t.Fatal(n, err)
	}
	if _, err := s.c.Write(data(1)); err != ErrWouldBlock {
		t.Fatal(err)
	}
	s.events = nil
	s.inject(seg{flags: A, seq: 11, ack: 1001, win: 65535})
	if len(s.events) != 1 || s.events[0]&EventWritable == 0 || s.c.Writable() != 1000 {
		t.Fatalf("events %v writable %d", s.events, s.c.Writable())
	}
	s.events = nil
	s.inject(seg{flags: RA, seq: 11, ack: 1001})
	if len(s.events) != 1 || s.events[0] != EventReadable|EventWritable|EventError|EventClosed {
		t.Fatalf("events %v", s.events)
	}
}

// The advertised window never exceeds the receive buffer, whatever the
// peer's ISN (a regression: rcvAdv started at 0 and, with an IRS in the
// upper half of the sequence space, looked far ahead of rcvNxt).
func TestHandshake_WindowWithinBufferAnyIRS(t *testing.T) {
	for _, irs := range []uint32{0, 0x10000000, 0x7fffffff, 0x90000000, 0xfffffff0} {
		for _, active := range []bool{true, false} {
			cfg := scriptCfg()
			cfg.DisableWindowScale = false
			cfg.RecvBuffer = 256 << 10
			s := newScript(t, cfg)
			s.peerISN = irs
			if active {
				s.c, _ = s.h.Connect(addrA, s.peer)
				s.local = s.c.LocalAddr()
				s.iss = uint32(s.out[0].pkt.TCP.Seq)
				s.out = nil
				s.inject(seg{flags: SA, seq: 0, ack: 1, win: 65535, mss: 1460, hasWS: true, wscale: 7})
			} else {
				s.l, _ = s.h.Listen(80, 1)
				s.inject(seg{flags: S, seq: 0, win: 65535, mss: 1460, hasWS: true, wscale: 7})
				s.iss = uint32(s.out[0].pkt.TCP.Seq)
				s.out = nil
				s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
				s.c, _ = s.l.Accept()
				s.c.Write(data(10))
			}
			if len(s.out) != 1 {
				t.Fatalf("irs %#x active %v: %d packets", irs, active, len(s.out))
			}
			adv := int(s.out[0].pkt.TCP.Window) << s.c.Info().RcvWndScale
			if adv > cfg.RecvBuffer || adv < cfg.RecvBuffer-8 || int(s.c.Info().RcvWnd) > cfg.RecvBuffer {
				t.Errorf("irs %#x active %v: advertised %d with a %d-byte buffer", irs, active, adv, cfg.RecvBuffer)
			}
		}
	}
}

// RFC 5961 §5.2: an ACK below SND.UNA − MAX.SND.WND draws an ACK and the
// segment (with its data) is dropped.
func TestEstablished_AckTooOld(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: A, seq: 1, ack: uint32(1 - 70000 + 1<<32), win: 65535, data: data(10)})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	if s.c.Readable() != 0 || s.h.Counters().TCPAckTooOld != 1 {
		t.Fatal("old ACK accepted")
	}
	s.inject(seg{flags: A, seq: 1, ack: uint32(1 - 60000 + 1<<32), win: 65535, data: data(10)})
	if s.c.Readable() != 10 {
		t.Fatal("ACK within MAX.SND.WND rejected")
	}
}

// RFC 3042 limited transmit: the first and second duplicate ACKs each let
// one new segment out beyond cwnd; the third triggers fast retransmit.
func TestEstablished_LimitedTransmit(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Write(data(14 * 1460))
	if len(s.out) != 10 {
		t.Fatalf("initial window sent %d segments, want 10 (RFC 6928)", len(s.out))
	}
	s.out = nil
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.expect(f("Flags [.], seq %d:%d, ack 1, win 64000, length 1460", 1+10*1460, 1+11*1460))
	s.none()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.expect(f("Flags [.], seq %d:%d, ack 1, win 64000, length 1460", 1+11*1460, 1+12*1460))
	s.none()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460")
}

// Zero receive window: data at RCV.NXT is dropped (its ACK is processed),
// and a FIN riding behind that data is not taken either.
func TestEstablished_ZeroWindowDropsDataAndItsFIN(t *testing.T) {
	cfg := scriptCfg()
	cfg.RecvBuffer = 1000
	s := newScript(t, cfg)
	s.acceptSilently(seg{flags: S, win: 65535, mss: 1460})
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(1000)})
	s.advance(50 * time.Millisecond)
	s.expect("Flags [.], ack 1001, win 0, length 0 @40ms") // delayed ACK
	s.inject(seg{flags: FA, seq: 1001, ack: 1, win: 65535, data: data(10)})
	s.expect("Flags [.], ack 1001, win 0, length 0")
	if s.c.State() != StateEstablished {
		t.Fatalf("FIN behind undeliverable data accepted: %v", s.c.State())
	}
	// A bare FIN needs no buffer space and is taken at a zero window.
	s.inject(seg{flags: FA, seq: 1001, ack: 1, win: 65535})
	s.expect("Flags [.], ack 1002, win 0, length 0")
	if s.c.State() != StateCloseWait {
		t.Fatal(s.c.State())
	}
}

// RFC 5681 §4.2 and §2: the duplicate ACK for an out-of-order segment is a
// bare ACK even when we have data to send, because the sender does not
// count data-carrying segments as duplicates.
func TestEstablished_DupAckIsBareWhenSending(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 0})
	s.c.Write(data(10)) // held by the zero window
	s.none()
	// Out of order, and opening the window: the bare dupack goes first,
	// then the data (whose ACK field repeats it).
	s.inject(seg{flags: A, seq: 101, ack: 1, win: 65535, data: data(10)})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	s.expect("Flags [P.], seq 1:11, ack 1, win 64000, length 10")
	s.none()
}

// New data after Close resets the connection with the reset of the
// segment, as Linux's tcp_v4_send_reset: <SEQ=SEG.ACK><CTL=RST>, here
// SEG.ACK 1 (the peer has not acknowledged our FIN), not SND.NXT 2.
func TestClose_DataAfterCloseResetOfSegment(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	if err := s.c.Close(); err != nil {
		t.Fatal(err)
	}
	s.expect("Flags [F.], seq 1, ack 1, win 64000, length 0")
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(10)})
	s.expect("Flags [R], seq 1, win 0, length 0")
	if s.c.State() != StateClosed {
		t.Fatalf("state %v, want CLOSED", s.c.State())
	}
}

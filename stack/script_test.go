package stack

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
)

// A packetdrill-style script harness: one host under test, a scripted peer
// that injects exact segments at exact virtual times, and a capture of
// every packet the host sends, compared field by field in tcpdump's words.

type captured struct {
	at  time.Duration
	pkt segment.Packet
}

type script struct {
	t       *testing.T
	now     time.Duration
	h       *Host
	out     []captured
	other   [][]byte       // packets sent that are not TCP
	local   netip.AddrPort // the host's end (10.0.0.1:80 unless Connect chose)
	peer    netip.AddrPort // the scripted peer (10.0.0.2:40000)
	peerISN uint32
	iss     uint32 // the host's ISS, learnt from its SYN or SYN-ACK
	c       *Conn
	l       *Listener
	events  []Event
	// sackPermitted and sack add options to the next injected segment
	// (sack blocks are relative to the host's ISS).
	sackPermitted bool
	sack          [][2]uint32
}

func (s *script) Now() time.Duration   { return s.now }
func (s *script) WakeAt(time.Duration) {}
func (s *script) Send(pkt []byte) {
	b := append([]byte(nil), pkt...)
	if v := ippacket.View(b); len(b) >= ippacket.HeaderLen && v.Protocol() != ippacket.ProtocolTCP {
		// ICMP the host sends about a hostile non-TCP packet (icmp.go).
		s.other = append(s.other, b)
		return
	}
	p, err := segment.ParsePacket(b)
	if err != nil {
		s.t.Fatalf("host sent a malformed packet: %v", err)
	}
	if v := ippacket.View(b); v.TTL() != 64 || v.Flags()&ippacket.FlagDF == 0 {
		s.t.Fatalf("host sent TTL %d flags %d, want TTL 64 and DF", v.TTL(), v.Flags())
	}
	s.out = append(s.out, captured{s.now, p})
}

// scriptCfg is the configuration most scripts use: no window scaling and a
// 64000-byte receive buffer, so that windows read as plain numbers.
func scriptCfg() TCPConfig {
	return TCPConfig{DisableWindowScale: true, RecvBuffer: 64000, SendBuffer: 64000, MSL: 10 * time.Second}
}

func newScript(t *testing.T, cfg TCPConfig) *script {
	t.Helper()
	s := &script{t: t, peerISN: 1000}
	h, err := NewHost(HostConfig{Name: "dut", Env: s, Seed: 1, TCP: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.AddInterface(netip.MustParsePrefix("10.0.0.1/24"), s, 1500); err != nil {
		t.Fatal(err)
	}
	s.h = h
	s.local = netip.MustParseAddrPort("10.0.0.1:80")
	s.peer = netip.MustParseAddrPort("10.0.0.2:40000")
	return s
}

// advance moves the clock by d, firing the host's timers on the way.
func (s *script) advance(d time.Duration) {
	target := s.now + d
	for {
		at, ok := s.h.NextTimer()
		if !ok || at > target {
			break
		}
		if at > s.now {
			s.now = at
		}
		s.h.Advance()
	}
	s.now = target
}

// seg describes a segment the peer sends.
type seg struct {
	flags  segment.Flags
	seq    uint32 // relative to the peer's ISN
	ack    uint32 // relative to the host's ISS
	win    uint16
	data   []byte
	mss    uint16 // MSS option when non-zero
	wscale int    // window scale option when ≥ 0 (set -1 for none; zero value means none too)
	hasWS  bool
	absSeq bool // seq is absolute
	// RFC 7323 timestamps option when ts is set (TSecr is absolute).
	ts           bool
	tsval, tsecr uint32
	ecn          uint8 // the IP ECN field (3: CE)
}

func (s *script) inject(g seg) {
	s.t.Helper()
	th := segment.Header{
		SrcPort: s.peer.Port(), DstPort: s.local.Port(),
		Seq: segment.Seq(g.seq), Ack: segment.Seq(g.ack + s.iss),
		Flags: g.flags, Window: g.win,
	}
	if !g.absSeq {
		th.Seq = segment.Seq(s.peerISN + g.seq)
	}
	if g.flags&segment.FlagACK == 0 {
		th.Ack = 0
	}
	if g.mss != 0 {
		th.Options.HasMSS, th.Options.MSS = true, g.mss
	}
	th.Options.SACKPermitted = s.sackPermitted
	for _, b := range s.sack {
		th.Options.AddSACK(segment.SACKBlock{Left: segment.Seq(b[0] + s.iss), Right: segment.Seq(b[1] + s.iss)})
	}
	if g.hasWS {
		th.Options.HasWindowScale, th.Options.WindowScale = true, uint8(g.wscale)
	}
	if g.ts {
		th.Options.HasTimestamps, th.Options.TSVal, th.Options.TSEcr = true, g.tsval, g.tsecr
	}
	p := segment.Packet{
		IP:      ippacket.Header{TTL: 64, ECN: g.ecn, Protocol: ippacket.ProtocolTCP, Src: s.peer.Addr(), Dst: s.local.Addr(), Flags: ippacket.FlagDF},
		TCP:     th,
		Payload: g.data,
	}
	b, err := p.Encode(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	s.h.Deliver(0, b)
}

// rel formats a captured segment with sequence numbers relative to the ISNs
// ("seq" relative to the host's ISS, "ack" to the peer's ISN), like
// tcpdump without -S.
func (s *script) rel(c captured) string {
	th := c.pkt.TCP
	th.Seq -= segment.Seq(s.iss)
	if th.Flags&segment.FlagACK != 0 {
		th.Ack -= segment.Seq(s.peerISN)
	}
	return string(th.AppendString(nil, len(c.pkt.Payload)))
}

// expect asserts that the next packet the host sent matches want, given in
// tcpdump's words with relative numbers, e.g. "Flags [.], seq 1, ack 1,
// win 64000, length 0"; with want ending in "@<duration>" it also checks
// the virtual time at which it was sent.
func (s *script) expect(want string) captured {
	s.t.Helper()
	wantAt := time.Duration(-1)
	if i := strings.LastIndex(want, " @"); i >= 0 {
		d, err := time.ParseDuration(want[i+2:])
		if err != nil {
			s.t.Fatalf("bad time in %q", want)
		}
		wantAt, want = d, want[:i]
	}
	if len(s.out) == 0 {
		s.t.Fatalf("at %v: expected %q, host sent nothing", s.now, want)
	}
	c := s.out[0]
	s.out = s.out[1:]
	if c.pkt.IP.Src != s.local.Addr() || c.pkt.IP.Dst != s.peer.Addr() ||
		c.pkt.TCP.SrcPort != s.local.Port() || c.pkt.TCP.DstPort != s.peer.Port() {
		s.t.Fatalf("packet on the wrong 4-tuple: %v", c.pkt)
	}
	if got := s.rel(c); got != want {
		s.t.Fatalf("at %v:\n got  %s\n want %s", c.at, got, want)
	}
	if wantAt >= 0 && c.at != wantAt {
		s.t.Fatalf("%q sent at %v, want %v", want, c.at, wantAt)
	}
	return c
}

// none asserts that the host sent nothing since the last expect.
func (s *script) none() {
	s.t.Helper()
	if len(s.out) > 0 {
		s.t.Fatalf("at %v: unexpected packet %s (sent at %v)", s.now, s.rel(s.out[0]), s.out[0].at)
	}
}

// passiveOpen runs LISTEN → SYN_RECEIVED → ESTABLISHED with a peer SYN
// carrying MSS 1460 and window 65535 at t=0, the SYN-ACK, and the peer's
// ACK 10 ms later; it accepts the connection.
func (s *script) passiveOpen() {
	s.t.Helper()
	var err error
	s.l, err = s.h.Listen(80, 8)
	if err != nil {
		s.t.Fatal(err)
	}
	s.inject(seg{flags: segment.FlagSYN, seq: 0, win: 65535, mss: 1460})
	if len(s.out) != 1 {
		s.t.Fatalf("no SYN-ACK")
	}
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect("Flags [S.], seq 0, ack 1, win 64000, options [mss 1460], length 0 @0s")
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	s.none()
	s.c, err = s.l.Accept()
	if err != nil {
		s.t.Fatalf("accept: %v", err)
	}
	s.c.SetNotify(func(e Event) { s.events = append(s.events, e) })
	if st := s.c.State(); st != StateEstablished {
		s.t.Fatalf("state %v", st)
	}
}

// acceptSilently is passiveOpen without its expectations: it listens,
// injects syn, drops the SYN-ACK from the output, completes the handshake at
// the same instant and accepts. For tests about what happens afterwards.
func (s *script) acceptSilently(syn seg) {
	s.t.Helper()
	var err error
	if s.l, err = s.h.Listen(80, 1); err != nil {
		s.t.Fatal(err)
	}
	s.inject(syn)
	if len(s.out) != 1 {
		s.t.Fatalf("%d packets answer the SYN, want one SYN-ACK", len(s.out))
	}
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.out = nil
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	if s.c, err = s.l.Accept(); err != nil {
		s.t.Fatalf("accept: %v", err)
	}
}

// activeOpen runs Connect → SYN_SENT → ESTABLISHED with the peer answering
// after 10 ms; the host's port is learnt from its SYN.
func (s *script) activeOpen() {
	s.t.Helper()
	var err error
	s.c, err = s.h.Connect(netip.Addr{}, s.peer)
	if err != nil {
		s.t.Fatal(err)
	}
	s.c.SetNotify(func(e Event) { s.events = append(s.events, e) })
	s.local = s.c.LocalAddr()
	if len(s.out) != 1 {
		s.t.Fatal("no SYN")
	}
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect("Flags [S], seq 0, win 64000, options [mss 1460,sackOK,TS val 1603323636 ecr 0], length 0 @0s")
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: segment.FlagSYN | segment.FlagACK, seq: 0, ack: 1, win: 65535, mss: 1460})
	s.expect("Flags [.], ack 1, win 64000, length 0 @10ms")
	if st := s.c.State(); st != StateEstablished {
		s.t.Fatalf("state %v", st)
	}
}

func (s *script) read() string {
	s.t.Helper()
	buf := make([]byte, 1<<20)
	n, err := s.c.Read(buf)
	if err != nil && n == 0 {
		return "err: " + err.Error()
	}
	return string(buf[:n])
}

func data(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func f(format string, a ...any) string { return fmt.Sprintf(format, a...) }

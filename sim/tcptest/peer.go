package tcptest

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/stack"
)

// PeerConfig describes a Peer and the host it drives. Zero fields take the
// defaults shown.
type PeerConfig struct {
	// Host is the host's address and port (DefaultHost); Peer is the
	// scripted endpoint's (DefaultPeer).
	Host, Peer netip.AddrPort
	// MTU of the host's interface (1500).
	MTU int
	// PeerISN is the peer's initial sequence number, the base of the
	// relative numbers in injected segments (DefaultPeerISN).
	PeerISN uint32
	// Seed is the host's seed (stack.HostConfig.Seed).
	Seed uint64
	// TCP holds the host's TCP tunables.
	TCP stack.TCPConfig
	// Tolerance is how far from its expected time a segment may leave the
	// host in Expect (0: exactly on time).
	Tolerance time.Duration
}

// Peer is a scripted remote endpoint: it owns a *stack.Host, is its clock
// (Peer implements stack.Env) and its only link, and lets a test exchange
// segments with it one by one on virtual time. Nothing runs unless the test
// calls a method: time stands still between calls.
//
// Sequence numbers are relative where the methods say so: to the peer's ISN
// (PeerConfig.PeerISN) in injected segments, and to the host's ISN, which
// the Peer learns from the first SYN the host sends, in expected ones.
// Until the host has sent a SYN its ISN counts as 0, so numbers in its
// sequence space are absolute (a RST answering a stray ACK, for instance).
type Peer struct {
	cfg     PeerConfig
	host    *stack.Host
	ifIndex int

	now        time.Duration
	wake       time.Duration
	wakeSet    bool
	stuckCount int

	queue []Sent // the host's segments not yet consumed by Expect
	trace []TraceLine

	localDrop bool // the host's own queue drops every packet (SetLocalDrop)

	hostISN      segment.Seq
	hostISNKnown bool
	lastTSVal    uint32 // the host's latest TSval, echoed by "TS ecr *"
	ipID         uint16
}

// Sent is a packet the host sent, with the virtual time it left.
type Sent struct {
	Time   time.Duration
	Packet segment.Packet
	// Err is set when the bytes did not parse as IPv4+TCP with correct
	// checksums; Packet is then partial and Raw holds the bytes.
	Err error
	Raw []byte
}

// TraceLine is one line of a Peer's transcript.
type TraceLine struct {
	Time time.Duration
	Text string
}

// NewPeer creates a host wired to a new Peer: one interface with
// cfg.Host's address (a /24), whose link leads to the Peer.
func NewPeer(cfg PeerConfig) (*Peer, error) {
	if !cfg.Host.IsValid() {
		cfg.Host = DefaultHost
	}
	if !cfg.Peer.IsValid() {
		cfg.Peer = DefaultPeer
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1500
	}
	if cfg.PeerISN == 0 {
		cfg.PeerISN = DefaultPeerISN
	}
	if cfg.Tolerance < 0 {
		return nil, fmt.Errorf("tcptest: PeerConfig.Tolerance is %v; it must not be negative", cfg.Tolerance)
	}
	p := &Peer{cfg: cfg, ipID: 1}
	h, err := stack.NewHost(stack.HostConfig{Name: "host", Env: p, Seed: cfg.Seed, TCP: cfg.TCP})
	if err != nil {
		return nil, err
	}
	p.host = h
	idx, err := h.AddInterface(netip.PrefixFrom(cfg.Host.Addr(), 24), peerLink{p}, cfg.MTU)
	if err != nil {
		return nil, err
	}
	p.ifIndex = idx
	return p, nil
}

// Host returns the host under test. Call its socket API between Peer calls:
// the call happens at the Peer's current time.
func (p *Peer) Host() *stack.Host { return p.host }

// Config returns the Peer's configuration with defaults filled in.
func (p *Peer) Config() PeerConfig { return p.cfg }

// Now returns the virtual time (stack.Env).
func (p *Peer) Now() time.Duration { return p.now }

// WakeAt records the host's request to be advanced at t (stack.Env).
func (p *Peer) WakeAt(t time.Duration) {
	if !p.wakeSet || t < p.wake {
		p.wake, p.wakeSet = t, true
	}
}

// HostISN returns the host's initial sequence number and whether it is
// known yet.
func (p *Peer) HostISN() (segment.Seq, bool) { return p.hostISN, p.hostISNKnown }

// SetHostISN sets the base of relative numbers in the host's sequence space,
// for tests that start from a connection made elsewhere.
func (p *Peer) SetHostISN(isn segment.Seq) { p.hostISN, p.hostISNKnown = isn, true }

// PeerISN returns the peer's initial sequence number.
func (p *Peer) PeerISN() segment.Seq { return segment.Seq(p.cfg.PeerISN) }

// Trace returns the transcript so far: every injected and sent segment and
// every note, with times.
func (p *Peer) Trace() []TraceLine { return p.trace }

// TraceString formats the last n lines of the transcript (all when n <= 0).
func (p *Peer) TraceString(n int) string {
	lines := p.trace
	if n > 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s %s\n", fmtTime(l.Time), l.Text)
	}
	return b.String()
}

// Note adds a line to the transcript at the current time.
func (p *Peer) Note(format string, args ...any) {
	p.trace = append(p.trace, TraceLine{p.now, fmt.Sprintf(format, args...)})
}

// SetLocalDrop makes the host's own queue in front of its link drop every
// packet the host offers (on), as a pfifo qdisc with limit 0 on the
// device does on Linux, or restores the queue that takes every packet
// (off). The host learns of each refusal (stack.QueueLink) and its TCP
// reacts to a local drop, not a loss; nothing reaches the Peer meanwhile.
func (p *Peer) SetLocalDrop(on bool) {
	switch {
	case on && !p.localDrop:
		p.Note("the host's own queue drops every packet from now on")
	case !on && p.localDrop:
		p.Note("the host's own queue takes every packet again")
	}
	p.localDrop = on
}

// peerLink receives the host's packets.
type peerLink struct{ p *Peer }

// Refuses is stack.QueueLink: whether the host's own queue drops a packet
// offered now.
func (l peerLink) Refuses() bool { return l.p.localDrop }

func (l peerLink) Send(pkt []byte) {
	p := l.p
	s := Sent{Time: p.now, Raw: bytes.Clone(pkt)}
	s.Err = s.Packet.Decode(s.Raw, true)
	if s.Err == nil {
		tcp := &s.Packet.TCP
		if tcp.Flags&segment.FlagSYN != 0 {
			// Every SYN or SYN-ACK of the host carries the ISS of its
			// connection: a script's next connection numbers from it.
			p.hostISN, p.hostISNKnown = tcp.Seq, true
		}
		if tcp.Options.HasTimestamps {
			p.lastTSVal = tcp.Options.TSVal
		}
		p.trace = append(p.trace, TraceLine{p.now, "> " + p.format(&s.Packet, true)})
	} else {
		p.trace = append(p.trace, TraceLine{p.now, fmt.Sprintf("> malformed packet (%v): % x", s.Err, s.Raw)})
	}
	p.queue = append(p.queue, s)
}

// isn returns the ISNs for matching a packet in the given direction.
func (p *Peer) isn(fromHost bool) ISN {
	if fromHost {
		return ISN{Src: p.hostISN, SrcKnown: true, Dst: p.PeerISN(), DstKnown: true}
	}
	return ISN{Src: p.PeerISN(), SrcKnown: true, Dst: p.hostISN, DstKnown: true}
}

// format prints a packet with relative numbers, as the scripts write them.
func (p *Peer) format(pkt *segment.Packet, fromHost bool) string {
	return FormatPacket(pkt, p.isn(fromHost))
}

// nextWake is the earliest time the host wants to be advanced.
func (p *Peer) nextWake() (time.Duration, bool) {
	t, ok := p.host.NextTimer()
	if p.wakeSet && (!ok || p.wake < t) {
		t, ok = p.wake, true
	}
	return t, ok
}

// step fires the host's earliest due timer if it is at or before limit. It
// reports whether it did.
func (p *Peer) step(limit time.Duration) (bool, error) {
	t, ok := p.nextWake()
	if !ok || t > limit {
		return false, nil
	}
	if t <= p.now {
		p.stuckCount++
		if p.stuckCount > 10000 {
			return false, fmt.Errorf("tcptest: the host keeps asking to be woken at %s without making progress", fmtTime(t))
		}
		t = p.now
	} else {
		p.stuckCount = 0
	}
	p.now = t
	p.wakeSet = false
	p.host.Advance()
	return true, nil
}

// AdvanceTo moves the clock to t, firing every host timer due at or before
// t in order. The host's segments sent meanwhile wait in the queue for
// Expect. Moving backwards is an error.
func (p *Peer) AdvanceTo(t time.Duration) error {
	if t < p.now {
		return fmt.Errorf("tcptest: cannot move the clock back from %s to %s", fmtTime(p.now), fmtTime(t))
	}
	for {
		did, err := p.step(t)
		if err != nil {
			return err
		}
		if !did {
			break
		}
	}
	p.now = t
	return nil
}

// Sleep advances the clock by d.
func (p *Peer) Sleep(d time.Duration) error { return p.AdvanceTo(p.now + d) }

// Pending returns the host's segments not yet consumed by Expect.
func (p *Peer) Pending() []Sent { return p.queue }

// Drain removes and returns every pending segment.
func (p *Peer) Drain() []Sent {
	q := p.queue
	p.queue = nil
	return q
}

// Inject builds the segment seg describes, with sequence numbers relative
// to the peer's ISN and acknowledgement numbers and SACK blocks relative to
// the host's, and delivers it to the host at the current time. An empty
// payload of seg.Len bytes is filled with Pattern. It returns the packet
// as sent.
func (p *Peer) Inject(seg *SegSpec) (*segment.Packet, error) {
	pkt, err := p.Build(seg)
	if err != nil {
		return nil, err
	}
	return pkt, p.InjectPacket(pkt)
}

// Build makes the packet that Inject would send, without sending it, so
// that a test can alter it first (for instance a bad checksum with Raw).
func (p *Peer) Build(seg *SegSpec) (*segment.Packet, error) {
	win := seg.Win
	if !seg.HasWin {
		win = 65535
	}
	pkt := &segment.Packet{
		IP: ippacket.Header{TTL: 64, Flags: ippacket.FlagDF, ID: p.ipID, Protocol: ippacket.ProtocolTCP,
			Src: p.cfg.Peer.Addr(), Dst: p.cfg.Host.Addr()},
		TCP: segment.Header{SrcPort: p.cfg.Peer.Port(), DstPort: p.cfg.Host.Port(),
			Seq: p.PeerISN().Add(seg.Seq), Flags: seg.Flags, Window: win, Options: seg.Options},
	}
	p.ipID++
	if seg.HasAck {
		pkt.TCP.Ack = p.hostISN.Add(seg.Ack)
	}
	o := &pkt.TCP.Options
	for i := range o.NumSACK {
		o.SACK[i].Left = p.hostISN.Add(uint32(o.SACK[i].Left))
		o.SACK[i].Right = p.hostISN.Add(uint32(o.SACK[i].Right))
	}
	if o.HasTimestamps && seg.TSEcrAny {
		o.TSEcr = p.lastTSVal
	}
	switch {
	case seg.Payload != nil:
		pkt.Payload = bytes.Clone(seg.Payload)
	case seg.Len > 0:
		first := seg.Seq
		if seg.Flags&segment.FlagSYN != 0 {
			first++
		}
		pkt.Payload = Pattern(first, seg.Len)
	}
	return pkt, nil
}

// InjectPacket encodes pkt and delivers it to the host at the current time.
func (p *Peer) InjectPacket(pkt *segment.Packet) error {
	b, err := pkt.Encode(make([]byte, 0, pkt.Len()))
	if err != nil {
		return fmt.Errorf("tcptest: cannot encode the injected segment: %w", err)
	}
	p.trace = append(p.trace, TraceLine{p.now, "< " + p.format(pkt, false)})
	p.host.Deliver(p.ifIndex, b)
	return nil
}

// Pattern returns the n payload bytes that start at relative sequence
// number first in the default payload: the lowercase alphabet repeated, so
// that the byte at relative seq 1 is 'a' and a reader can tell offsets
// apart.
func Pattern(first uint32, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte((first-1+uint32(i))%26)
	}
	return b
}

// Expect waits for the host's next segment, which must leave within the
// tolerance of virtual time at and match m (relative fields count from the
// host's ISN for seq and the peer's for ack). Timers fire on the way. It
// returns the segment, or an error that shows what was expected and what
// came.
func (p *Peer) Expect(at time.Duration, m *Matcher) (*Sent, error) {
	return p.ExpectWithin(at-p.cfg.Tolerance, at+p.cfg.Tolerance, m)
}

// ExpectWithin is Expect for a segment that may leave at any time in
// [from, to].
func (p *Peer) ExpectWithin(from, to time.Duration, m *Matcher) (*Sent, error) {
	for len(p.queue) == 0 {
		did, err := p.step(to)
		if err != nil {
			return nil, err
		}
		if !did {
			break
		}
	}
	window := fmtTime(from)
	if to != from {
		window += "~" + fmtTime(to)
	}
	if len(p.queue) == 0 {
		if p.now < to {
			p.now = to
		}
		return nil, fmt.Errorf("expected at %s: %s\nbut the host sent nothing by %s", window, m, fmtTime(to))
	}
	s := p.queue[0]
	p.queue = p.queue[1:]
	if s.Time > p.now {
		p.now = s.Time
	}
	if s.Err != nil {
		return &s, fmt.Errorf("expected at %s: %s\nbut at %s the host sent a malformed packet: %v", window, m, fmtTime(s.Time), s.Err)
	}
	if s.Time < from || s.Time > to {
		return &s, fmt.Errorf("expected at %s: %s\nbut the host sent at %s (%s): %s",
			window, m, fmtTime(s.Time), offBy(s.Time, from, to), p.format(&s.Packet, true))
	}
	if err := m.CheckISN(&s.Packet, p.isn(true)); err != nil {
		return &s, fmt.Errorf("at %s the host's segment differs: %w", fmtTime(s.Time), err)
	}
	return &s, nil
}

func offBy(t, from, to time.Duration) string {
	if t < from {
		return fmtDelta(from-t) + " early"
	}
	return fmtDelta(t-to) + " late"
}

func fmtDelta(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.6f", d.Seconds()), "0"), ".") + " s"
}

// ExpectNothingUntil advances the clock to t and fails if the host sent
// anything before t (segments sent at exactly t stay queued).
func (p *Peer) ExpectNothingUntil(t time.Duration) error {
	if len(p.queue) == 0 {
		for {
			t1, ok := p.nextWake()
			if !ok || t1 >= t {
				break
			}
			if _, err := p.step(t1); err != nil {
				return err
			}
			if len(p.queue) > 0 {
				break
			}
		}
	}
	if len(p.queue) > 0 {
		s := p.queue[0]
		return fmt.Errorf("expected nothing until %s, but at %s the host sent: %s", fmtTime(t), fmtTime(s.Time), p.describe(&s))
	}
	return p.AdvanceTo(t)
}

// ExpectQuiet fails if a segment is waiting in the queue: the host sent
// something no Expect consumed.
func (p *Peer) ExpectQuiet() error {
	if len(p.queue) == 0 {
		return nil
	}
	s := p.queue[0]
	more := ""
	if len(p.queue) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(p.queue)-1)
	}
	return fmt.Errorf("unexpected segment from the host at %s: %s%s", fmtTime(s.Time), p.describe(&s), more)
}

func (p *Peer) describe(s *Sent) string {
	if s.Err != nil {
		return fmt.Sprintf("malformed packet (%v)", s.Err)
	}
	return p.format(&s.Packet, true)
}

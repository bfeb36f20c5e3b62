package tcptest

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
)

// Matcher checks one IPv4+TCP packet against expected header values. It is
// built by Match from MatchOptions; every field that no option constrains
// matches anything. A Matcher is immutable once built and may be reused.
type Matcher struct {
	set fieldSet

	flags    segment.Flags
	seq, ack uint32
	seqRel   bool // seq counts from the sender's ISN
	ackRel   bool // ack counts from the receiver's ISN
	win      uint16
	plen     int
	payload  []byte

	mss     uint16
	wscale  uint8
	sackOK  bool
	sack    []segment.SACKBlock
	sackRel bool // SACK blocks count from the receiver's ISN
	tsVal   uint32
	tsEcr   uint32

	// exactOpts makes every option kind that no option constrains required
	// to be absent (packetdrill's reading of an option list).
	exactOpts bool

	ihl, ttl uint8
	df       bool
	id       uint16
	totalLen uint16
	src, dst netip.Addr
	sport    uint16
	dport    uint16
}

type fieldSet uint64

const (
	fFlags fieldSet = 1 << iota
	fSeq
	fAck
	fWin
	fPayloadLen
	fPayload
	fMSS
	fNoMSS
	fWScale
	fNoWScale
	fSACKOK
	fSACK
	fTS
	fNoTS
	fTSVal
	fTSEcr
	fIHL
	fTTL
	fDF
	fID
	fTotalLen
	fSrc
	fDst
	fSport
	fDport
)

// MatchOption constrains one field of a Matcher.
type MatchOption func(*Matcher)

// Match builds a Matcher from opts. Later options override earlier ones that
// set the same field.
func Match(opts ...MatchOption) *Matcher {
	m := &Matcher{}
	for _, o := range opts {
		o(m)
	}
	return m
}

// With returns a copy of m with more options applied; m is unchanged.
func (m *Matcher) With(opts ...MatchOption) *Matcher {
	c := *m
	c.payload = bytes.Clone(m.payload)
	c.sack = append([]segment.SACKBlock(nil), m.sack...)
	for _, o := range opts {
		o(&c)
	}
	return &c
}

// Flags requires exactly the control bits f (tcpdump's "[S.]" is
// segment.FlagSYN|segment.FlagACK).
func Flags(f segment.Flags) MatchOption {
	return func(m *Matcher) { m.set |= fFlags; m.flags = f }
}

// Seq requires the absolute sequence number n.
func Seq(n uint32) MatchOption {
	return func(m *Matcher) { m.set |= fSeq; m.seq, m.seqRel = n, false }
}

// RelSeq requires the sequence number to be n octets past the sender's
// initial sequence number, as tcpdump and packetdrill show it: a SYN has
// relative seq 0 and the first data octet has relative seq 1.
func RelSeq(n uint32) MatchOption {
	return func(m *Matcher) { m.set |= fSeq; m.seq, m.seqRel = n, true }
}

// Ack requires the absolute acknowledgement number n. It does not constrain
// the ACK flag; use Flags for that.
func Ack(n uint32) MatchOption {
	return func(m *Matcher) { m.set |= fAck; m.ack, m.ackRel = n, false }
}

// RelAck requires the acknowledgement number to be n octets past the
// receiver's initial sequence number (ack 1 acknowledges the receiver's SYN).
func RelAck(n uint32) MatchOption {
	return func(m *Matcher) { m.set |= fAck; m.ack, m.ackRel = n, true }
}

// Window requires the raw 16-bit window field w (before any scaling).
func Window(w uint16) MatchOption {
	return func(m *Matcher) { m.set |= fWin; m.win = w }
}

// PayloadLen requires n octets of TCP payload.
func PayloadLen(n int) MatchOption {
	return func(m *Matcher) { m.set |= fPayloadLen; m.plen = n }
}

// Payload requires exactly the payload b (and so its length).
func Payload(b []byte) MatchOption {
	b = bytes.Clone(b)
	return func(m *Matcher) { m.set |= fPayload | fPayloadLen; m.payload, m.plen = b, len(b) }
}

// MSS requires an MSS option with value v.
func MSS(v uint16) MatchOption {
	return func(m *Matcher) { m.set = m.set&^fNoMSS | fMSS; m.mss = v }
}

// NoMSS requires that no MSS option be present.
func NoMSS() MatchOption {
	return func(m *Matcher) { m.set = m.set&^fMSS | fNoMSS }
}

// WindowScale requires a window-scale option with shift s.
func WindowScale(s uint8) MatchOption {
	return func(m *Matcher) { m.set = m.set&^fNoWScale | fWScale; m.wscale = s }
}

// NoWindowScale requires that no window-scale option be present.
func NoWindowScale() MatchOption {
	return func(m *Matcher) { m.set = m.set&^fWScale | fNoWScale }
}

// SACKPermitted requires the SACK-permitted option to be present (ok) or
// absent (!ok).
func SACKPermitted(ok bool) MatchOption {
	return func(m *Matcher) { m.set |= fSACKOK; m.sackOK = ok }
}

// SACKBlocks requires exactly these absolute SACK blocks, in order. With no
// arguments it requires that no SACK option be present.
func SACKBlocks(blocks ...segment.SACKBlock) MatchOption {
	blocks = append([]segment.SACKBlock(nil), blocks...)
	return func(m *Matcher) { m.set |= fSACK; m.sack, m.sackRel = blocks, false }
}

// RelSACKBlocks is SACKBlocks with edges counted from the receiver's initial
// sequence number (the blocks acknowledge the receiver's data).
func RelSACKBlocks(blocks ...segment.SACKBlock) MatchOption {
	blocks = append([]segment.SACKBlock(nil), blocks...)
	return func(m *Matcher) { m.set |= fSACK; m.sack, m.sackRel = blocks, true }
}

// Timestamps requires a timestamps option with TSval val and TSecr ecr.
func Timestamps(val, ecr uint32) MatchOption {
	return func(m *Matcher) {
		m.set = m.set&^fNoTS | fTS | fTSVal | fTSEcr
		m.tsVal, m.tsEcr = val, ecr
	}
}

// TSVal requires a timestamps option whose TSval is v (TSecr unconstrained).
func TSVal(v uint32) MatchOption {
	return func(m *Matcher) { m.set = m.set&^fNoTS | fTS | fTSVal; m.tsVal = v }
}

// TSEcr requires a timestamps option whose TSecr is v (TSval unconstrained).
func TSEcr(v uint32) MatchOption {
	return func(m *Matcher) { m.set = m.set&^fNoTS | fTS | fTSEcr; m.tsEcr = v }
}

// HasTimestamps requires a timestamps option with any values.
func HasTimestamps() MatchOption {
	return func(m *Matcher) { m.set = m.set&^fNoTS | fTS }
}

// NoTimestamps requires that no timestamps option be present.
func NoTimestamps() MatchOption {
	return func(m *Matcher) { m.set = m.set&^(fTS|fTSVal|fTSEcr) | fNoTS }
}

// ExactOptions makes the option list exact: every option kind that no other
// option of this Matcher constrains must be absent, and unknown options are
// not allowed. This is how packetdrill reads "<mss 1460,nop,wscale 7>".
func ExactOptions() MatchOption {
	return func(m *Matcher) { m.exactOpts = true }
}

// NoOptions requires a segment without any TCP option.
func NoOptions() MatchOption {
	return func(m *Matcher) {
		m.set &^= fMSS | fWScale | fSACKOK | fSACK | fTS | fTSVal | fTSEcr
		m.exactOpts = true
	}
}

// IPHeaderLen requires an IPv4 header of n bytes (20 without IP options).
func IPHeaderLen(n int) MatchOption {
	return func(m *Matcher) { m.set |= fIHL; m.ihl = uint8(n / 4) }
}

// TTL requires the IPv4 time-to-live t.
func TTL(t uint8) MatchOption {
	return func(m *Matcher) { m.set |= fTTL; m.ttl = t }
}

// DF requires the IPv4 don't-fragment flag to be set (on) or clear (!on).
func DF(on bool) MatchOption {
	return func(m *Matcher) { m.set |= fDF; m.df = on }
}

// IPID requires the IPv4 identification field id.
func IPID(id uint16) MatchOption {
	return func(m *Matcher) { m.set |= fID; m.id = id }
}

// TotalLen requires the IPv4 total length n (header, TCP header and payload).
func TotalLen(n int) MatchOption {
	return func(m *Matcher) { m.set |= fTotalLen; m.totalLen = uint16(n) }
}

// SrcAddr requires the IPv4 source address a.
func SrcAddr(a netip.Addr) MatchOption {
	return func(m *Matcher) { m.set |= fSrc; m.src = a }
}

// DstAddr requires the IPv4 destination address a.
func DstAddr(a netip.Addr) MatchOption {
	return func(m *Matcher) { m.set |= fDst; m.dst = a }
}

// SrcPort requires the TCP source port p.
func SrcPort(p uint16) MatchOption {
	return func(m *Matcher) { m.set |= fSport; m.sport = p }
}

// DstPort requires the TCP destination port p.
func DstPort(p uint16) MatchOption {
	return func(m *Matcher) { m.set |= fDport; m.dport = p }
}

// From requires the source address and port of ap.
func From(ap netip.AddrPort) MatchOption {
	return func(m *Matcher) {
		m.set |= fSrc | fSport
		m.src, m.sport = ap.Addr(), ap.Port()
	}
}

// To requires the destination address and port of ap.
func To(ap netip.AddrPort) MatchOption {
	return func(m *Matcher) {
		m.set |= fDst | fDport
		m.dst, m.dport = ap.Addr(), ap.Port()
	}
}

// ISN holds the initial sequence numbers that relative fields count from:
// Src is the ISN of the packet's sender (for RelSeq), Dst that of its
// receiver (for RelAck and RelSACKBlocks). A relative field whose ISN is
// not known does not match.
type ISN struct {
	Src, Dst           segment.Seq
	SrcKnown, DstKnown bool
}

// FieldDiff is one field that did not match.
type FieldDiff struct {
	Field     string // "win", "mss", "TS ecr", "ttl", …
	Want, Got string
}

// Mismatch is the error a failed match returns. Want and Got are the
// expected and received packets as tcpdump-style lines; sequence and
// acknowledgement numbers appear relative where the Matcher asked for them
// relative.
type Mismatch struct {
	Want, Got string
	Diffs     []FieldDiff
}

// Error lists the differing fields and then both lines:
//
//	mismatch in win, mss
//	  want: 192.0.2.1.8080 > 192.0.2.2.40000: Flags [S.], seq 0, ack 1, win 65535, ...
//	  got:  192.0.2.1.8080 > 192.0.2.2.40000: Flags [S.], seq 0, ack 1, win 29200, ...
//	  win: want 65535, got 29200
//	  mss: want 1460, got 536
func (e *Mismatch) Error() string {
	var b strings.Builder
	b.WriteString("mismatch in ")
	for i, d := range e.Diffs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.Field)
	}
	b.WriteString("\n  want: ")
	b.WriteString(e.Want)
	b.WriteString("\n  got:  ")
	b.WriteString(e.Got)
	for _, d := range e.Diffs {
		fmt.Fprintf(&b, "\n  %s: want %s, got %s", d.Field, d.Want, d.Got)
	}
	return b.String()
}

// Check matches p with every relative field counted from unknown ISNs (so
// relative fields fail). It returns nil or a *Mismatch.
func (m *Matcher) Check(p *segment.Packet) error { return m.CheckISN(p, ISN{}) }

// CheckISN matches p, counting relative fields from isn. It returns nil or a
// *Mismatch naming every differing field.
func (m *Matcher) CheckISN(p *segment.Packet, isn ISN) error {
	var diffs []FieldDiff
	add := func(field, want, got string) {
		diffs = append(diffs, FieldDiff{field, want, got})
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	ip, tcp, o := &p.IP, &p.TCP, &p.TCP.Options

	if m.set&fSrc != 0 && p.IP.Src != m.src {
		add("src", m.src.String(), ip.Src.String())
	}
	if m.set&fSport != 0 && tcp.SrcPort != m.sport {
		add("sport", u(uint64(m.sport)), u(uint64(tcp.SrcPort)))
	}
	if m.set&fDst != 0 && p.IP.Dst != m.dst {
		add("dst", m.dst.String(), ip.Dst.String())
	}
	if m.set&fDport != 0 && tcp.DstPort != m.dport {
		add("dport", u(uint64(m.dport)), u(uint64(tcp.DstPort)))
	}
	if m.set&fIHL != 0 && ipIHL(ip) != m.ihl {
		add("ihl", u(uint64(m.ihl)*4), u(uint64(ipIHL(ip))*4))
	}
	if m.set&fTTL != 0 && ip.TTL != m.ttl {
		add("ttl", u(uint64(m.ttl)), u(uint64(ip.TTL)))
	}
	if m.set&fDF != 0 && (ip.Flags&ippacket.FlagDF != 0) != m.df {
		add("DF", onOff(m.df), onOff(ip.Flags&ippacket.FlagDF != 0))
	}
	if m.set&fID != 0 && ip.ID != m.id {
		add("id", u(uint64(m.id)), u(uint64(ip.ID)))
	}
	if m.set&fTotalLen != 0 && ipTotalLen(p) != m.totalLen {
		add("total length", u(uint64(m.totalLen)), u(uint64(ipTotalLen(p))))
	}
	if m.set&fFlags != 0 && tcp.Flags != m.flags {
		add("flags", m.flags.String(), tcp.Flags.String())
	}
	if m.set&fSeq != 0 {
		got, ok := uint32(tcp.Seq), true
		if m.seqRel {
			got, ok = uint32(tcp.Seq-isn.Src), isn.SrcKnown
		}
		if !ok {
			add("seq", u(uint64(m.seq))+" (relative)", "? (sender's ISN unknown)")
		} else if got != m.seq {
			add("seq", u(uint64(m.seq)), u(uint64(got)))
		}
	}
	if m.set&fAck != 0 {
		got, ok := uint32(tcp.Ack), true
		if m.ackRel {
			got, ok = uint32(tcp.Ack-isn.Dst), isn.DstKnown
		}
		if !ok {
			add("ack", u(uint64(m.ack))+" (relative)", "? (receiver's ISN unknown)")
		} else if got != m.ack {
			add("ack", u(uint64(m.ack)), u(uint64(got)))
		}
	}
	if m.set&fWin != 0 && tcp.Window != m.win {
		add("win", u(uint64(m.win)), u(uint64(tcp.Window)))
	}
	if m.set&fPayloadLen != 0 && len(p.Payload) != m.plen {
		add("length", strconv.Itoa(m.plen), strconv.Itoa(len(p.Payload)))
	} else if m.set&fPayload != 0 && !bytes.Equal(p.Payload, m.payload) {
		i := 0
		for i < len(m.payload) && p.Payload[i] == m.payload[i] {
			i++
		}
		add("payload", fmt.Sprintf("byte %d = %#02x", i, m.payload[i]), fmt.Sprintf("%#02x", p.Payload[i]))
	}

	// Options, in the order tcpdump prints them.
	absent := func(f fieldSet) bool { return m.set&f != 0 || (m.exactOpts && m.set&optFields(f) == 0) }
	switch {
	case m.set&fMSS != 0 && !o.HasMSS:
		add("mss", u(uint64(m.mss)), "absent")
	case m.set&fMSS != 0 && o.MSS != m.mss:
		add("mss", u(uint64(m.mss)), u(uint64(o.MSS)))
	case m.set&fMSS == 0 && absent(fNoMSS) && o.HasMSS:
		add("mss", "absent", u(uint64(o.MSS)))
	}
	if m.set&fSACKOK != 0 || m.exactOpts {
		want := m.set&fSACKOK != 0 && m.sackOK
		if o.SACKPermitted != want {
			add("sackOK", presence(want), presence(o.SACKPermitted))
		}
	}
	switch {
	case m.set&fTS != 0 && !o.HasTimestamps:
		add("TS", "present", "absent")
	case m.set&fTS != 0:
		if m.set&fTSVal != 0 && o.TSVal != m.tsVal {
			add("TS val", u(uint64(m.tsVal)), u(uint64(o.TSVal)))
		}
		if m.set&fTSEcr != 0 && o.TSEcr != m.tsEcr {
			add("TS ecr", u(uint64(m.tsEcr)), u(uint64(o.TSEcr)))
		}
	case absent(fNoTS) && o.HasTimestamps:
		add("TS", "absent", fmt.Sprintf("val %d ecr %d", o.TSVal, o.TSEcr))
	}
	switch {
	case m.set&fWScale != 0 && !o.HasWindowScale:
		add("wscale", u(uint64(m.wscale)), "absent")
	case m.set&fWScale != 0 && o.WindowScale != m.wscale:
		add("wscale", u(uint64(m.wscale)), u(uint64(o.WindowScale)))
	case m.set&fWScale == 0 && absent(fNoWScale) && o.HasWindowScale:
		add("wscale", "absent", u(uint64(o.WindowScale)))
	}
	if m.set&fSACK != 0 || m.exactOpts {
		var base segment.Seq
		ok := true
		if m.sackRel {
			base, ok = isn.Dst, isn.DstKnown
		}
		got := o.SACKBlocks()
		switch {
		case len(m.sack) > 0 && !ok:
			add("sack", sackString(m.sack, 0)+" (relative)", "? (receiver's ISN unknown)")
		case !sackEqual(m.sack, got, base):
			add("sack", sackString(m.sack, 0), sackString(got, base))
		}
	}
	if m.exactOpts && len(o.Unknown) > 0 {
		add("options", "no unknown option", fmt.Sprintf("%d bytes of unknown options", len(o.Unknown)))
	}
	if len(diffs) == 0 {
		return nil
	}
	// The IP part of both lines appears only when an IP field differs, so
	// that the common case reads like tcpdump without -v.
	ipDiff := false
	for _, d := range diffs {
		switch d.Field {
		case "ihl", "ttl", "DF", "id", "total length":
			ipDiff = true
		}
	}
	return &Mismatch{Want: m.format(ipDiff), Got: formatPacket(p, m.gotView(isn, ipDiff)), Diffs: diffs}
}

// optFields maps a "No…" bit to the bits that constrain the same option.
func optFields(no fieldSet) fieldSet {
	switch no {
	case fNoMSS:
		return fMSS | fNoMSS
	case fNoWScale:
		return fWScale | fNoWScale
	case fNoTS:
		return fTS | fNoTS
	}
	return no
}

func sackEqual(want, got []segment.SACKBlock, base segment.Seq) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if got[i].Left-base != want[i].Left || got[i].Right-base != want[i].Right {
			return false
		}
	}
	return true
}

func sackString(bl []segment.SACKBlock, base segment.Seq) string {
	if len(bl) == 0 {
		return "none"
	}
	var b []byte
	for i, s := range bl {
		if i > 0 {
			b = append(b, ' ')
		}
		b = fmt.Appendf(b, "{%d:%d}", uint32(s.Left-base), uint32(s.Right-base))
	}
	return string(b)
}

func presence(b bool) string {
	if b {
		return "present"
	}
	return "absent"
}

func onOff(b bool) string {
	if b {
		return "set"
	}
	return "clear"
}

func ipIHL(ip *ippacket.Header) uint8 {
	if ip.IHL != 0 {
		return ip.IHL
	}
	return uint8(ip.Len() / 4)
}

func ipTotalLen(p *segment.Packet) uint16 {
	if p.IP.TotalLen != 0 {
		return p.IP.TotalLen
	}
	return uint16(p.Len())
}

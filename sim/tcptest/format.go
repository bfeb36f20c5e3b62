package tcptest

import (
	"fmt"
	"strconv"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
)

// String renders the Matcher as a tcpdump-style line. Unconstrained
// addresses and ports print as "*", unconstrained flags as "[*]", and other
// unconstrained fields are left out. A non-exact option list ends in "...".
func (m *Matcher) String() string { return m.format(true) }

// format renders the Matcher; the IP part only when showIP is set.
func (m *Matcher) format(showIP bool) string {
	b := make([]byte, 0, 128)
	if showIP && m.set&(fIHL|fTTL|fDF|fID|fTotalLen) != 0 {
		b = append(b, "IP ("...)
		n := 0
		item := func(s string) {
			if n > 0 {
				b = append(b, ", "...)
			}
			n++
			b = append(b, s...)
		}
		if m.set&fTTL != 0 {
			item("ttl " + strconv.Itoa(int(m.ttl)))
		}
		if m.set&fID != 0 {
			item("id " + strconv.Itoa(int(m.id)))
		}
		if m.set&fDF != 0 {
			if m.df {
				item("flags [DF]")
			} else {
				item("flags [none]")
			}
		}
		if m.set&fIHL != 0 {
			item("hlen " + strconv.Itoa(int(m.ihl)*4))
		}
		if m.set&fTotalLen != 0 {
			item("length " + strconv.Itoa(int(m.totalLen)))
		}
		b = append(b, ") "...)
	}
	b = appendEndpoint(b, m.set&fSrc != 0, m.src.String(), m.set&fSport != 0, m.sport)
	b = append(b, " > "...)
	b = appendEndpoint(b, m.set&fDst != 0, m.dst.String(), m.set&fDport != 0, m.dport)
	b = append(b, ": Flags "...)
	if m.set&fFlags != 0 {
		b = append(b, m.flags.String()...)
	} else {
		b = append(b, "[*]"...)
	}
	if m.set&fSeq != 0 {
		b = append(b, ", seq "...)
		b = strconv.AppendUint(b, uint64(m.seq), 10)
		if m.set&fPayloadLen != 0 && m.plen > 0 {
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(m.seq+uint32(m.plen)), 10)
		}
	}
	if m.set&fAck != 0 {
		b = append(b, ", ack "...)
		b = strconv.AppendUint(b, uint64(m.ack), 10)
	}
	if m.set&fWin != 0 {
		b = append(b, ", win "...)
		b = strconv.AppendUint(b, uint64(m.win), 10)
	}
	b = m.appendOptions(b)
	if m.set&fPayloadLen != 0 {
		b = append(b, ", length "...)
		b = strconv.AppendInt(b, int64(m.plen), 10)
	}
	return string(b)
}

func appendEndpoint(b []byte, hasAddr bool, addr string, hasPort bool, port uint16) []byte {
	if hasAddr {
		b = append(b, addr...)
	} else {
		b = append(b, '*')
	}
	b = append(b, '.')
	if hasPort {
		return strconv.AppendUint(b, uint64(port), 10)
	}
	return append(b, '*')
}

// appendOptions writes ", options [...]" for the option constraints.
func (m *Matcher) appendOptions(b []byte) []byte {
	const optBits = fMSS | fNoMSS | fWScale | fNoWScale | fSACKOK | fSACK | fTS | fNoTS
	if m.set&optBits == 0 && !m.exactOpts {
		return b
	}
	var items []string
	switch {
	case m.set&fMSS != 0:
		items = append(items, "mss "+strconv.Itoa(int(m.mss)))
	case m.set&fNoMSS != 0 && !m.exactOpts:
		items = append(items, "no mss")
	}
	if m.set&fSACKOK != 0 {
		if m.sackOK {
			items = append(items, "sackOK")
		} else if !m.exactOpts {
			items = append(items, "no sackOK")
		}
	}
	switch {
	case m.set&fTS != 0:
		s := "TS val "
		if m.set&fTSVal != 0 {
			s += strconv.FormatUint(uint64(m.tsVal), 10)
		} else {
			s += "*"
		}
		s += " ecr "
		if m.set&fTSEcr != 0 {
			s += strconv.FormatUint(uint64(m.tsEcr), 10)
		} else {
			s += "*"
		}
		items = append(items, s)
	case m.set&fNoTS != 0 && !m.exactOpts:
		items = append(items, "no TS")
	}
	switch {
	case m.set&fWScale != 0:
		items = append(items, "wscale "+strconv.Itoa(int(m.wscale)))
	case m.set&fNoWScale != 0 && !m.exactOpts:
		items = append(items, "no wscale")
	}
	if m.set&fSACK != 0 {
		if len(m.sack) > 0 {
			items = append(items, "sack "+strconv.Itoa(len(m.sack))+" "+sackString(m.sack, 0))
		} else if !m.exactOpts {
			items = append(items, "no sack")
		}
	}
	if !m.exactOpts {
		items = append(items, "...")
	}
	b = append(b, ", options ["...)
	for i, s := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s...)
	}
	return append(b, ']')
}

// view says how to print a received packet so that it lines up with a
// Matcher: which numbers to show relative, and whether to show IP fields.
type view struct {
	seqBase, ackBase, sackBase segment.Seq
	showIP, showAck            bool
}

func (m *Matcher) gotView(isn ISN, ipDiff bool) view {
	var v view
	if m.seqRel && isn.SrcKnown {
		v.seqBase = isn.Src
	}
	if m.ackRel && isn.DstKnown {
		v.ackBase = isn.Dst
	}
	if m.sackRel && isn.DstKnown {
		v.sackBase = isn.Dst
	}
	v.showIP = ipDiff
	v.showAck = m.set&fAck != 0
	return v
}

// FormatPacket renders p as a tcpdump-style line with sequence numbers
// relative to isn where it is known (Src for seq, Dst for ack and SACK
// blocks), as tcpdump does without -S.
func FormatPacket(p *segment.Packet, isn ISN) string {
	var v view
	if isn.SrcKnown {
		v.seqBase = isn.Src
	}
	if isn.DstKnown {
		v.ackBase, v.sackBase = isn.Dst, isn.Dst
	}
	return formatPacket(p, v)
}

// formatPacket is tcpdump's line for p, with seq always shown.
func formatPacket(p *segment.Packet, v view) string {
	b := make([]byte, 0, 160)
	if v.showIP {
		b = append(b, "IP (ttl "...)
		b = strconv.AppendUint(b, uint64(p.IP.TTL), 10)
		b = append(b, ", id "...)
		b = strconv.AppendUint(b, uint64(p.IP.ID), 10)
		if p.IP.Flags&ippacket.FlagDF != 0 {
			b = append(b, ", flags [DF]"...)
		} else {
			b = append(b, ", flags [none]"...)
		}
		b = append(b, ", hlen "...)
		b = strconv.AppendUint(b, uint64(ipIHL(&p.IP))*4, 10)
		b = append(b, ", length "...)
		b = strconv.AppendUint(b, uint64(ipTotalLen(p)), 10)
		b = append(b, ") "...)
	}
	b = p.IP.Src.AppendTo(b)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(p.TCP.SrcPort), 10)
	b = append(b, " > "...)
	b = p.IP.Dst.AppendTo(b)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(p.TCP.DstPort), 10)
	b = append(b, ": Flags "...)
	b = append(b, p.TCP.Flags.String()...)
	seq := uint32(p.TCP.Seq - v.seqBase)
	b = append(b, ", seq "...)
	b = strconv.AppendUint(b, uint64(seq), 10)
	if n := len(p.Payload); n > 0 {
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(seq+uint32(n)), 10)
	}
	if p.TCP.Flags&segment.FlagACK != 0 || v.showAck {
		b = append(b, ", ack "...)
		b = strconv.AppendUint(b, uint64(uint32(p.TCP.Ack-v.ackBase)), 10)
	}
	b = append(b, ", win "...)
	b = strconv.AppendUint(b, uint64(p.TCP.Window), 10)
	if o := &p.TCP.Options; !o.IsZero() {
		b = append(b, ", options ["...)
		b = appendOptions(b, o, v.sackBase)
		b = append(b, ']')
	}
	b = append(b, ", length "...)
	b = strconv.AppendInt(b, int64(len(p.Payload)), 10)
	return string(b)
}

// appendOptions prints the options as tcpdump does (the layout segment
// encodes), with SACK edges relative to sackBase.
func appendOptions(b []byte, o *segment.Options, sackBase segment.Seq) []byte {
	n := 0
	sep := func() {
		if n > 0 {
			b = append(b, ',')
		}
		n++
	}
	if o.HasMSS {
		sep()
		b = append(b, "mss "...)
		b = strconv.AppendUint(b, uint64(o.MSS), 10)
	}
	if o.SACKPermitted {
		sep()
		b = append(b, "sackOK"...)
	}
	if o.HasTimestamps {
		sep()
		b = append(b, "TS val "...)
		b = strconv.AppendUint(b, uint64(o.TSVal), 10)
		b = append(b, " ecr "...)
		b = strconv.AppendUint(b, uint64(o.TSEcr), 10)
	}
	if o.HasWindowScale {
		sep()
		b = append(b, "wscale "...)
		b = strconv.AppendUint(b, uint64(o.WindowScale), 10)
	}
	if o.NumSACK > 0 {
		sep()
		b = append(b, "sack "...)
		b = strconv.AppendInt(b, int64(o.NumSACK), 10)
		b = append(b, ' ')
		b = append(b, sackString(o.SACKBlocks(), sackBase)...)
	}
	for u := o.Unknown; len(u) >= 2 && int(u[1]) >= 2 && int(u[1]) <= len(u); u = u[u[1]:] {
		sep()
		b = append(b, "unknown-"...)
		b = strconv.AppendUint(b, uint64(u[0]), 10)
	}
	return b
}

// fmtTime prints a virtual time as seconds with microseconds, as the
// scripts and transcripts show it: "1.200000".
func fmtTime(d time.Duration) string {
	return fmt.Sprintf("%d.%06d", d/time.Second, (d%time.Second)/time.Microsecond)
}

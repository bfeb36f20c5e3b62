package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	rpt "github.com/tcpsim/tcpsim/report"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
)

// The ladder (get --ladder): the client's lane on the left, the server's on
// the right, one row per packet of the first connection, with the virtual
// time at each lane: when the packet left one end and when it reached the
// other. The arrow points the way the packet went; a packet lost on the
// link ends in a cross with the reason. Sequence and acknowledgment numbers
// are relative to each side's ISN, as tcpdump prints them without -S.
// Retransmissions, duplicate ACKs, zero windows and window updates are
// marked. UDP datagrams and ICMP messages between the two hosts (get's DNS
// query and answer) are rows too, labelled as the HTML report's ladder
// labels them (report.DatagramLabel). It fits 80 columns.

const (
	ladderArrow = 52 // columns between the lanes
	ladderTime  = 11 // width of each time column
)

type ladderGlyphs struct {
	lane, line, right, left, cross string
}

var (
	unicodeGlyphs = ladderGlyphs{lane: "│", line: "─", right: "▶", left: "◀", cross: "✕"}
	asciiGlyphs   = ladderGlyphs{lane: "|", line: "-", right: ">", left: "<", cross: "x"}
)

// ladderMode is --ladder: auto (Unicode when the locale says UTF-8),
// unicode or ascii.
type ladderMode string

func (m *ladderMode) String() string { return string(*m) }
func (m *ladderMode) Type() string   { return "auto|unicode|ascii" }
func (m *ladderMode) Set(s string) error {
	switch s {
	case "auto", "unicode", "ascii":
		*m = ladderMode(s)
		return nil
	}
	return fmt.Errorf("want auto, unicode or ascii")
}

func (m ladderMode) glyphs() ladderGlyphs {
	switch m {
	case "unicode":
		return unicodeGlyphs
	case "ascii":
		return asciiGlyphs
	}
	for _, v := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if s := os.Getenv(v); s != "" {
			s = strings.ToUpper(s)
			if strings.Contains(s, "UTF-8") || strings.Contains(s, "UTF8") {
				return unicodeGlyphs
			}
			return asciiGlyphs
		}
	}
	return asciiGlyphs
}

type ladderRow struct {
	fromClient bool
	sentAt     time.Duration
	arriveAt   time.Duration
	arrived    bool
	dropped    string
	label      string
}

type ladderKey struct {
	link string
	end  int // the sender's end
	seq  uint64
}

// ladder collects the rows from the event stream.
type ladder struct {
	max     int
	rows    []ladderRow
	omitted int // packets of the connection not drawn
	omitDg  int // UDP and ICMP packets not drawn
	pending map[ladderKey]int

	// The connection drawn: its first SYN's ports, and per direction (0
	// client→server) the ISN, the highest sequence sent, the last ACK and
	// window seen.
	cport, sport uint16
	started      bool
	isn          [2]segment.Seq
	isnSet       [2]bool
	maxEnd       [2]segment.Seq
	lastAck      [2]segment.Seq
	lastWin      [2]uint16
	ackSeen      [2]bool
	pkt          segment.Packet
}

func newLadder(max int) *ladder { return &ladder{max: max, pending: map[ladderKey]int{}} }

func (l *ladder) event(e *sim.Event) {
	switch e.Verdict {
	case sim.Sent:
		if l.pkt.Decode(e.Data, false) != nil {
			l.datagram(e)
			return
		}
		p := &l.pkt
		th := &p.TCP
		if !l.started {
			if th.Flags&(segment.FlagSYN|segment.FlagACK) != segment.FlagSYN {
				return
			}
			l.started, l.cport, l.sport = true, th.SrcPort, th.DstPort
		}
		d := 0
		switch {
		case th.SrcPort == l.cport && th.DstPort == l.sport:
		case th.SrcPort == l.sport && th.DstPort == l.cport:
			d = 1
		default:
			return // another connection
		}
		if len(l.rows) >= l.max {
			l.omitted++
			return
		}
		l.rows = append(l.rows, ladderRow{fromClient: d == 0, sentAt: e.Time, label: l.label(d, th, len(p.Payload))})
		l.pending[ladderKey{e.Link, e.End, e.PktSeq}] = len(l.rows) - 1
	case sim.Delivered, sim.Dropped:
		end := e.End
		if e.Verdict == sim.Delivered {
			end ^= 1 // the event is at the receiving end
		}
		i, ok := l.pending[ladderKey{e.Link, end, e.PktSeq}]
		if !ok {
			return
		}
		r := &l.rows[i]
		switch {
		case e.Verdict == sim.Dropped && !r.arrived && r.dropped == "":
			r.dropped = e.Reason
		case e.Verdict == sim.Delivered && !r.arrived:
			r.arriveAt, r.arrived = e.Time, true
		}
	}
}

// datagram adds the row of a UDP or ICMP packet that the client or the
// server sent.
func (l *ladder) datagram(e *sim.Event) {
	if e.Node != clientName && e.Node != serverName {
		return
	}
	label, _, ok := rpt.DatagramLabel(e.Data)
	if !ok {
		return
	}
	if len(l.rows) >= l.max {
		l.omitDg++
		return
	}
	l.rows = append(l.rows, ladderRow{fromClient: e.Node == clientName, sentAt: e.Time, label: label})
	l.pending[ladderKey{e.Link, e.End, e.PktSeq}] = len(l.rows) - 1
}

// label is the packet as the row shows it: flags, relative numbers, the
// window, options in short, and marks.
func (l *ladder) label(d int, th *segment.Header, n int) string {
	var b strings.Builder
	b.WriteString(flagString(th.Flags))
	syn := th.Flags&segment.FlagSYN != 0
	retransmit := false
	if syn {
		retransmit = l.isnSet[d] // a second SYN from this side
		if !l.isnSet[d] {
			l.isn[d], l.isnSet[d], l.maxEnd[d] = th.Seq, true, th.Seq.Add(1)
		}
	}
	rel := func(dir int, s segment.Seq) uint32 {
		if !l.isnSet[dir] {
			return uint32(s)
		}
		return s.Sub(l.isn[dir])
	}
	end := th.Seq.Add(uint32(n))
	switch {
	case n > 0:
		fmt.Fprintf(&b, " %d:%d", rel(d, th.Seq), rel(d, end))
	case syn || th.Flags&segment.FlagFIN != 0:
		fmt.Fprintf(&b, " %d", rel(d, th.Seq))
	}
	if th.Flags&segment.FlagACK != 0 {
		fmt.Fprintf(&b, " ack %d", rel(d^1, th.Ack))
	}
	fmt.Fprintf(&b, " win %d", th.Window)
	o := &th.Options
	if o.HasMSS {
		fmt.Fprintf(&b, " mss %d", o.MSS)
	}
	for i, s := range o.SACK[:o.NumSACK] {
		if i == 0 {
			b.WriteString(" sack")
		}
		fmt.Fprintf(&b, " %d-%d", rel(d^1, s.Left), rel(d^1, s.Right))
	}
	var marks []string
	fin := th.Flags&segment.FlagFIN != 0
	occupies := n > 0 || fin
	if occupies && !syn && l.isnSet[d] {
		segEnd := end
		if fin {
			segEnd = segEnd.Add(1)
		}
		retransmit = th.Seq.LessThan(l.maxEnd[d])
		l.maxEnd[d] = l.maxEnd[d].Max(segEnd)
	}
	if retransmit {
		marks = append(marks, "retransmit")
	}
	if th.Flags&segment.FlagACK != 0 && th.Flags&segment.FlagRST == 0 {
		same := l.ackSeen[d] && th.Ack == l.lastAck[d]
		switch {
		case th.Window == 0:
			marks = append(marks, "zero window")
		case !occupies && !syn && same && th.Window == l.lastWin[d]:
			marks = append(marks, "dup ack")
		case !occupies && !syn && same && th.Window > l.lastWin[d]:
			marks = append(marks, "window update")
		}
		l.lastAck[d], l.lastWin[d], l.ackSeen[d] = th.Ack, th.Window, true
	}
	if len(marks) > 0 {
		b.WriteString(" [" + strings.Join(marks, ", ") + "]")
	}
	return b.String()
}

// flagString is tcpdump's flags field: S, F, P, R, U, E, W and "." for ACK.
func flagString(f segment.Flags) string {
	s := ""
	for _, x := range []struct {
		f segment.Flags
		c string
	}{{segment.FlagSYN, "S"}, {segment.FlagFIN, "F"}, {segment.FlagPSH, "P"}, {segment.FlagRST, "R"}, {segment.FlagURG, "U"}, {segment.FlagECE, "E"}, {segment.FlagCWR, "W"}} {
		if f&x.f != 0 {
			s += x.c
		}
	}
	if f&segment.FlagACK != 0 {
		s += "."
	}
	return s
}

// end names a lane's host: its address, and the connection's port once a
// connection was seen (a run whose lookup failed has DNS rows only).
func (l *ladder) end(a netip.Addr, port uint16) string {
	if !l.started {
		return a.String()
	}
	return fmt.Sprintf("%v:%d", a, port)
}

// print draws the ladder.
func (l *ladder) print(w io.Writer, g ladderGlyphs, client, server string) {
	fmt.Fprintln(w, "ladder of the first connection (seq and ack relative to each side's ISN):")
	gap := ladderArrow + 2 - len(client) - len(server)
	fmt.Fprintf(w, "%*s %s%s%s\n", ladderTime, "", client, strings.Repeat(" ", max(1, gap)), server)
	fmt.Fprintf(w, "%*s %s%s%s %s\n", ladderTime, "time (s)", g.lane, strings.Repeat(" ", ladderArrow), g.lane, "time (s)")
	for _, r := range l.rows {
		label := r.label
		if limit := ladderArrow - 4; len(label) > limit {
			label = label[:limit-3] + "..."
		}
		fill := ladderArrow - 2 - len(label) // label and the space beside it
		var arrow string
		switch {
		case r.dropped != "" && r.fromClient:
			half := fill / 2
			arrow = g.line + label + " " + strings.Repeat(g.line, max(0, half-1)) + g.cross + strings.Repeat(" ", max(0, fill-half))
		case r.dropped != "":
			half := fill / 2
			arrow = strings.Repeat(" ", max(0, fill-half)) + g.cross + strings.Repeat(g.line, max(0, half-1)) + " " + label + g.line
		case r.fromClient:
			arrow = g.line + label + " " + strings.Repeat(g.line, max(0, fill-1)) + g.right
		default:
			arrow = g.left + strings.Repeat(g.line, max(0, fill-1)) + " " + label + g.line
		}
		var left, right string
		if r.fromClient {
			left = fmtTime(r.sentAt)
		} else {
			right = fmtTime(r.sentAt)
		}
		switch {
		case r.arrived && r.fromClient:
			right = fmtTime(r.arriveAt)
		case r.arrived:
			left = fmtTime(r.arriveAt)
		case r.dropped != "" && r.fromClient:
			right = "lost (" + r.dropped + ")"
		case r.dropped != "":
			left = "lost (" + r.dropped + ")"
		}
		fmt.Fprintf(w, "%*s %s%s%s %s\n", ladderTime, strings.TrimSpace(left), g.lane, arrow, g.lane, strings.TrimSpace(right))
	}
	switch {
	case l.omitted > 0 && l.omitDg > 0:
		fmt.Fprintf(w, "%*s %s ... %d more packets of this connection and %d UDP or ICMP not drawn (--ladder-max %d)\n", ladderTime, "", g.lane, l.omitted, l.omitDg, l.max)
	case l.omitted > 0:
		fmt.Fprintf(w, "%*s %s ... %d more packets of this connection not drawn (--ladder-max %d)\n", ladderTime, "", g.lane, l.omitted, l.max)
	case l.omitDg > 0:
		fmt.Fprintf(w, "%*s %s ... %d more UDP or ICMP packets not drawn (--ladder-max %d)\n", ladderTime, "", g.lane, l.omitDg, l.max)
	}
	fmt.Fprintln(w)
}

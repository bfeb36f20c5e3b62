package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// The ladder: one vertical lane per host, time going down, each packet an
// arrow from the sender's lane at its send time to the receiver's lane at
// its arrival. The time axis is proportional to virtual time between
// events, except that two events are never closer than a label's height
// and long idle gaps are shortened (and marked), so that a burst stays
// readable and a 3-second RTO does not take a metre of screen.

const (
	ladderTop     = 70.0
	ladderLaneGap = 520.0
	ladderLeft    = 120.0
	ladderMinGap  = 15.0
	ladderMaxGap  = 160.0
	ladderDelayPx = 150.0 // pixels for the typical one-way delay
)

// pktClass names the colour class of packet i: the most telling mark, or
// its protocol when it is not TCP.
func (r *Recorder) pktClass(i int32) string {
	p := &r.pkts[i]
	if p.flow < 0 {
		return r.other[i].class
	}
	switch {
	case p.marks&markRetrans != 0:
		return "rtx"
	case p.marks&markZeroWin != 0:
		return "zwin"
	case p.marks&markDupAck != 0:
		return "dup"
	case p.marks&markWinUpdate != 0:
		return "wup"
	case p.flags&(segment.FlagSYN|segment.FlagFIN|segment.FlagRST) != 0:
		return "ctl"
	case p.n > 0:
		return "data"
	}
	return "ack"
}

// ladderLegend is the legend's first row: each colour class and its name.
var ladderLegend = [][2]string{{"data", "data"}, {"ack", "pure ACK"}, {"ctl", "SYN / FIN / RST"}, {"rtx", "retransmission"}, {"dup", "duplicate ACK"}, {"wup", "window update"}, {"zwin", "zero window"}}

const ladderLostText = "lost on the link (reason)"

// dgramStroke colours the arrows of UDP and ICMP packets. They are
// presentation attributes rather than rules of the page's style sheet, so
// that pictures without such packets stay as they were.
var dgramStroke = map[string]string{
	"udp":  ` stroke="#8b4513"`,
	"icmp": ` stroke="#c71585"`,
}

// seqWords says how the ladder's sequence numbers count.
func (r *Recorder) seqWords() string {
	if r.opt.AbsoluteSeq {
		return "sequence and acknowledgment numbers as on the wire, as tcpdump -S prints them"
	}
	return "sequence and acknowledgment numbers relative to each side's initial sequence number"
}

// label is packet i as the ladder labels it, with sequence numbers
// relative or absolute as the Options say.
func (r *Recorder) label(i int32) string {
	p := &r.pkts[i]
	if p.flow < 0 {
		return r.other[i].label
	}
	var off [2]uint32 // added to seq (the sender's ISN) and to ack and SACK (the receiver's)
	if r.opt.AbsoluteSeq {
		f := r.flows[p.flow]
		d := int(p.dir)
		if f.isnSet[d] {
			off[0] = uint32(f.isn[d])
		}
		if f.isnSet[d^1] {
			off[1] = uint32(f.isn[d^1])
		}
	}
	return pktLabel(p, off)
}

// pktLabel is the packet as the ladder labels it: flags, sequence numbers
// (relative, plus off), ack, length, window, options and marks.
func pktLabel(p *pkt, off [2]uint32) string {
	var b strings.Builder
	b.WriteString(flagString(p.flags))
	seq := p.seq + off[0]
	switch {
	case p.n > 0:
		fmt.Fprintf(&b, " %d:%d", seq, seq+uint32(p.n))
	case p.flags&(segment.FlagSYN|segment.FlagFIN) != 0:
		fmt.Fprintf(&b, " %d", seq)
	}
	if p.flags&segment.FlagACK != 0 {
		fmt.Fprintf(&b, " ack %d", p.ack+off[1])
	}
	if p.n > 0 {
		fmt.Fprintf(&b, " len %d", p.n)
	}
	fmt.Fprintf(&b, " win %d", p.win)
	if p.mss > 0 {
		fmt.Fprintf(&b, " mss %d", p.mss)
	}
	if ws := p.synOpts & 0x1f; ws > 0 {
		fmt.Fprintf(&b, " wscale %d", ws-1)
	}
	if p.synOpts&(1<<5) != 0 {
		b.WriteString(" sackOK")
	}
	if p.synOpts&(1<<6) != 0 {
		b.WriteString(" ts")
	}
	for i := range int(p.nsack) {
		if i == 0 {
			b.WriteString(" sack")
		}
		fmt.Fprintf(&b, " %d-%d", p.sack[i][0]+off[1], p.sack[i][1]+off[1])
	}
	var marks []string
	for _, m := range []struct {
		bit  uint8
		name string
	}{{markRetrans, "retransmission"}, {markZeroWin, "zero window"}, {markDupAck, "dup ack"}, {markWinUpdate, "window update"}} {
		if p.marks&m.bit != 0 {
			marks = append(marks, m.name)
		}
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

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }

// timeAxis maps virtual time to y on the ladder.
type timeAxis struct {
	t []time.Duration
	y []float64
}

func (a *timeAxis) at(t time.Duration) float64 {
	i, _ := slices.BinarySearch(a.t, t)
	switch {
	case len(a.t) == 0:
		return ladderTop
	case i >= len(a.t):
		return a.y[len(a.y)-1]
	case a.t[i] == t || i == 0:
		return a.y[i]
	}
	f := float64(t-a.t[i-1]) / float64(a.t[i]-a.t[i-1])
	return a.y[i-1] + f*(a.y[i]-a.y[i-1])
}

// ladderGeom is where one packet is drawn.
type ladderGeom struct {
	x1, y1, x2, y2 float64
	tEnd           time.Duration
	fromLane       int
	toLane         int
}

// twSpan is a TIME_WAIT on one host: from when it entered the state.
type twSpan struct {
	host  string
	start time.Duration
}

// timeWaits finds, among the first n packets, the hosts that entered
// TIME_WAIT and when (RFC 9293 §3.3.2): the side that sent its FIN before
// it received the peer's (the active closer, both of them in a
// simultaneous close) enters it once it has received the peer's FIN and
// the acknowledgment of its own, whichever arrives last.
func (r *Recorder) timeWaits(lo, hi int32) []twSpan {
	type side struct {
		host                       string
		finSent, finRcvd, finAcked time.Duration
		sent, rcvd, acked          bool
		finEnd                     uint32 // relative sequence number after the FIN
		rst                        bool
	}
	sides := make([][2]side, len(r.flows))
	for i := lo; i < hi; i++ {
		p := &r.pkts[i]
		if p.marks&markHop != 0 || p.flow < 0 {
			continue // the sender's record stands for the packet; not TCP
		}
		f, d := p.flow, int(p.dir)
		s, o := &sides[f][d], &sides[f][d^1]
		if s.host == "" {
			s.host = p.from
		}
		if p.flags&segment.FlagRST != 0 {
			s.rst, o.rst = true, true
		}
		if p.flags&segment.FlagFIN != 0 && !s.sent {
			s.sent, s.finSent, s.finEnd = true, p.departs(), p.seq+uint32(p.n)+1
		}
		// Where it arrived: at the peer, through any routers.
		fp := r.final(i)
		if !fp.arrived || fp.to != r.rates[r.flows[f].rate].node[d^1] {
			continue
		}
		if p.flags&segment.FlagFIN != 0 && !o.rcvd {
			o.rcvd, o.finRcvd = true, fp.endAt
		}
		if o.sent && !o.acked && p.flags&segment.FlagACK != 0 && int32(p.ack-o.finEnd) >= 0 {
			o.acked, o.finAcked = true, fp.endAt
		}
	}
	var out []twSpan
	for f := range sides {
		for d := range 2 {
			s := &sides[f][d]
			if s.rst || !s.sent || !s.rcvd || !s.acked || s.finSent > s.finRcvd {
				continue
			}
			out = append(out, twSpan{s.host, max(s.finRcvd, s.finAcked)})
		}
	}
	return out
}

// callGroup is one label of socket calls: one call, or several calls of
// the same kind on one lane that would crowd each other.
type callGroup struct {
	Call
	count int
	y     float64 // where the label goes
}

func (g *callGroup) text() string {
	switch {
	case g.count > 1 && g.Op == "read":
		return fmt.Sprintf("read ×%d = %d", g.count, g.N)
	case g.count > 1 && g.Op == "write":
		return fmt.Sprintf("write ×%d (%d)", g.count, g.N)
	case g.count > 1:
		return fmt.Sprintf("%s() ×%d", g.Op, g.count)
	}
	s := g.Op + "()"
	switch g.Op {
	case "write":
		s = fmt.Sprintf("write(%d)", g.N)
	case "read":
		if g.Err == "" {
			return fmt.Sprintf("read() = %d", g.N)
		}
	}
	if g.Err != "" {
		s += " = " + g.Err
	}
	return s
}

// windowEnd is the index after the last packet sent within the window.
func (r *Recorder) windowEnd() int {
	if r.opt.LadderUntil <= 0 {
		return len(r.pkts)
	}
	i, _ := slices.BinarySearchFunc(r.pkts, r.opt.LadderUntil, func(p pkt, t time.Duration) int {
		if p.sentAt <= t {
			return -1
		}
		return 1
	})
	return i
}

// ladderRange is the packets the ladder draws, r.pkts[lo:hi]: the first
// LadderMax of those sent within [LadderFrom, LadderUntil]. Packets are
// recorded in the order they were sent, so the range is contiguous.
func (r *Recorder) ladderRange() (lo, hi int) {
	lo, _ = slices.BinarySearchFunc(r.pkts, r.opt.LadderFrom, func(p pkt, t time.Duration) int {
		if p.sentAt < t {
			return -1
		}
		return 1
	})
	end := r.windowEnd()
	if end < lo {
		end = lo
	}
	return lo, min(end, lo+r.opt.LadderMax)
}

func untilText(t time.Duration) string {
	if t <= 0 {
		return "the end"
	}
	return secs(t) + " s"
}

// writeLadder draws the first LadderMax packets as a ladder SVG, with the
// story's steps, the socket calls and TIME_WAIT beside the lanes.
func (r *Recorder) writeLadder(w *buf, m *Meta) {
	steps := m.Steps
	lo, hi := r.ladderRange()
	n := hi - lo
	ps := r.pkts[lo:hi]
	// Lanes in the order hosts appear.
	var lanes []string
	lane := func(name string) int {
		if i := slices.Index(lanes, name); i >= 0 {
			return i
		}
		lanes = append(lanes, name)
		return len(lanes) - 1
	}
	farNode := func(p *pkt) string {
		if p.arrived {
			return p.to
		}
		if s, ok := r.ends[pendingKey{p.link, int(p.end ^ 1), 0}]; ok && s != "" {
			return s
		}
		return "?"
	}
	// The typical one-way delay: the median of the delivered packets'.
	var delays []time.Duration
	for i := range ps {
		if ps[i].arrived {
			delays = append(delays, ps[i].endAt-ps[i].departs())
		}
	}
	med := 10 * time.Millisecond
	if len(delays) > 0 {
		slices.Sort(delays)
		med = max(delays[len(delays)/2], time.Microsecond)
	}
	// End time of each arrow: arrival, or a point on the way for a drop
	// (half way) or a packet still in flight when the run ended.
	geo := make([]ladderGeom, n)
	tFirst := ps[0].departs()
	if lo == 0 {
		tFirst = 0 // the story starts at 0
	}
	times := []time.Duration{tFirst}
	var tLast time.Duration
	for i := range ps {
		p := &ps[i]
		g := &geo[i]
		g.fromLane, g.toLane = lane(p.from), lane(farNode(p))
		switch {
		case p.arrived:
			g.tEnd = p.endAt
		case p.drop != "":
			g.tEnd = p.departs() + med/2
		default:
			g.tEnd = p.departs() + med*4/5
		}
		times = append(times, p.departs(), g.tEnd)
		tLast = max(tLast, g.tEnd)
	}
	steps = slices.DeleteFunc(slices.Clone(steps), func(s Step) bool { return s.At < tFirst || s.At > tLast })
	for _, s := range steps {
		times = append(times, s.At)
	}
	// Socket calls and TIME_WAIT within the drawn time, on known lanes.
	var calls []Call
	for _, c := range append(slices.Clip(m.Calls), r.calls...) {
		if slices.Contains(lanes, c.Host) && c.At <= tLast && c.End >= tFirst {
			c.At = max(c.At, tFirst)
			c.End = min(max(c.End, c.At), tLast)
			calls = append(calls, c)
			times = append(times, c.At, c.End)
		}
	}
	slices.SortStableFunc(calls, func(a, b Call) int { return cmp.Compare(a.At, b.At) })
	var tws []twSpan
	for _, t := range r.timeWaits(int32(lo), int32(hi)) {
		if slices.Contains(lanes, t.host) && t.start <= tLast && t.start >= tFirst {
			tws = append(tws, t)
			times = append(times, t.start)
			if m.TimeWait > 0 && t.start+m.TimeWait <= tLast {
				times = append(times, t.start+m.TimeWait)
			}
		}
	}
	slices.Sort(times)
	times = slices.Compact(times)
	ax := timeAxis{t: times, y: make([]float64, len(times))}
	pxPerSec := ladderDelayPx / med.Seconds()
	type gapMark struct {
		y float64
		d time.Duration
	}
	var breaks []gapMark
	y := ladderTop + 20
	for i := range times {
		if i > 0 {
			dy := (times[i] - times[i-1]).Seconds() * pxPerSec
			if dy > ladderMaxGap {
				breaks = append(breaks, gapMark{y + ladderMaxGap/2, times[i] - times[i-1]})
				dy = ladderMaxGap
			}
			y += max(dy, ladderMinGap)
		}
		ax.y[i] = y
	}
	bottom := y + 40
	if len(tws) > 0 {
		bottom += 20 // room for the band to go on past the last packet
	}
	// Calls grouped per lane where they would crowd; the widest label on
	// the first lane and on the last widen the margins.
	var groups []callGroup
	var callW [2]float64 // first lane, others
	for _, c := range calls {
		cy := ax.at(c.At)
		last := -1
		for i := len(groups) - 1; i >= 0; i-- {
			if groups[i].Host == c.Host {
				last = i
				break
			}
		}
		if last >= 0 {
			g := &groups[last]
			if g.Op == c.Op && g.Err == "" && c.Err == "" && cy < g.y+12 {
				g.count++
				g.N += c.N
				g.End = max(g.End, c.End)
				continue
			}
			cy = max(cy, g.y+12)
		}
		groups = append(groups, callGroup{Call: c, count: 1, y: cy})
	}
	for i := range groups {
		g := &groups[i]
		k := 1
		if lane(g.Host) == 0 {
			k = 0
		}
		callW[k] = max(callW[k], float64(len([]rune(g.text())))*6.1+14)
		bottom = max(bottom, g.y+20)
	}
	left := ladderLeft + callW[0]
	laneX := func(i int) float64 { return left + float64(i)*ladderLaneGap }
	rightmost := laneX(max(len(lanes)-1, 0))
	stepsX := rightmost + 130 + callW[1]
	width := stepsX + 20
	if len(steps) > 0 {
		longest := 0
		for _, s := range steps {
			longest = max(longest, len(s.Text)+14)
		}
		width = stepsX + float64(longest)*6.3 + 20
	}
	// Room for the legend's first row, which a ladder without steps
	// would cut.
	legendW := 10.0
	for _, e := range ladderLegend {
		legendW += 34 + float64(len(e[1]))*6
	}
	width = max(width, legendW+20+float64(len(ladderLostText))*6+10)
	for i := range ps {
		g := &geo[i]
		p := &ps[i]
		g.x1, g.y1 = laneX(g.fromLane), ax.at(p.departs())
		x2 := laneX(g.toLane)
		switch {
		case p.arrived:
		case p.drop != "":
			x2 = g.x1 + (x2-g.x1)/2
		default:
			x2 = g.x1 + (x2-g.x1)*4/5
		}
		g.x2, g.y2 = x2, ax.at(g.tEnd)
	}
	height := bottom + 30
	w.s(`<svg id="ladder" width="`).f(width).s(`" height="`).f(height).s(`" viewBox="0 0 `).f(width).s(" ").f(height).s("\">\n")
	w.s("<title>Ladder diagram</title>\n")
	w.s(`<defs><marker id="ah" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" class="head"/></marker></defs>` + "\n")
	// Legend.
	lx := 10.0
	for _, e := range ladderLegend {
		w.line(lx, 14, lx+22, 14, "pkt "+e[0]+" legend")
		w.text(lx+26, 18, "tick", "", e[1])
		lx += 34 + float64(len(e[1]))*6
	}
	w.s(`<path class="cross" d="M`).f(lx + 4).s(" 9l10 10m-10 0l10-10\"/>\n")
	w.text(lx+20, 18, "tick", "", ladderLostText)
	// UDP and ICMP, when the ladder draws any, on the second row.
	var dgrams []string
	for i := range ps {
		if ps[i].flow < 0 {
			if c := r.other[int32(lo+i)].class; !slices.Contains(dgrams, c) {
				dgrams = append(dgrams, c)
			}
		}
	}
	slices.Sort(dgrams) // icmp, udp
	if len(groups) > 0 || len(tws) > 0 || len(dgrams) > 0 {
		lx = 10.0
		if len(groups) > 0 {
			w.s(`<path class="callspan" d="M`).f(lx + 14).s(" 28H").f(lx + 10).s("V40H").f(lx + 14).s("\"/>\n")
			w.text(lx+18, 38, "call", "", "write(89)")
			w.text(lx+82, 38, "tick", "", "socket call, the bar until it returned")
			lx += 330
		}
		if len(tws) > 0 {
			w.s(`<rect class="tw" x="`).f(lx).s(`" y="28" width="10" height="12"/>` + "\n")
			w.text(lx+16, 38, "tick", "", "TIME_WAIT")
			lx += 100
		}
		for _, c := range dgrams {
			name := map[string]string{"udp": "UDP (DNS decoded)", "icmp": "ICMP"}[c]
			w.s(`<line x1="`).f(lx).s(`" y1="34" x2="`).f(lx + 22).s(`" y2="34" class="pkt `).s(c).s(` legend"`).s(dgramStroke[c]).s("/>\n")
			w.text(lx+26, 38, "tick", "", name)
			lx += 34 + float64(len(name))*6
		}
	}
	// TIME_WAIT bands, under the lanes.
	for _, t := range tws {
		i := slices.Index(lanes, t.host)
		x := laneX(i)
		y0, y1 := ax.at(t.start), bottom
		if m.TimeWait > 0 && t.start+m.TimeWait <= tLast {
			y1 = ax.at(t.start + m.TimeWait)
		}
		w.s(`<rect class="tw" x="`).f(x - 6).s(`" y="`).f(y0).s(`" width="12" height="`).f(y1 - y0).s("\">")
		w.s("<title>").esc(t.host + " in TIME_WAIT from " + secs(t.start) + " s").s("</title></rect>\n")
	}
	// Lanes.
	for i, name := range lanes {
		x := laneX(i)
		w.line(x, ladderTop, x, bottom, "lane")
		w.text(x, ladderTop-8, "lanename", "middle", name)
	}
	w.text(left-60, ladderTop-8, "tick", "middle", "time (s)")
	for _, b := range breaks {
		for i := range lanes {
			w.text(laneX(i)+4, b.y, "gap", "", "≈")
		}
		w.text(left-60, b.y, "gap", "middle", "+"+strconv.FormatFloat(b.d.Seconds(), 'f', 3, 64)+" s")
	}
	// Packets.
	for i := range ps {
		p, g := &ps[i], &geo[i]
		cls := r.pktClass(int32(lo + i))
		label := r.label(int32(lo + i))
		w.s(`<line class="pkt `).s(cls).s(`" x1="`).f(g.x1).s(`" y1="`).f(g.y1).s(`" x2="`).f(g.x2).s(`" y2="`).f(g.y2).s(`"`).s(dgramStroke[cls])
		if p.arrived || p.drop == "" {
			w.s(` marker-end="url(#ah)"`)
		}
		if !p.arrived && p.drop == "" {
			w.s(` stroke-dasharray="4 3"`)
		}
		w.s("><title>").esc(label).s("</title></line>\n")
		// The label along the arrow, upright.
		mx, my := (g.x1+g.x2)/2, (g.y1+g.y2)/2
		dx, dy := g.x2-g.x1, g.y2-g.y1
		if dx < 0 {
			dx, dy = -dx, -dy
		}
		ang := math.Atan2(dy, dx) * 180 / math.Pi
		w.s(`<text class="plabel" text-anchor="middle" x="`).f(mx).s(`" y="`).f(my - 3).s(`" transform="rotate(`).f(ang).s(" ").f(mx).s(" ").f(my).s(`)">`).esc(label).s("</text>\n")
		// Times at both ends: left of the leftmost lane, right of others.
		r.laneTime(w, g.fromLane, g.y1, secs(p.departs()), laneX)
		switch {
		case p.arrived:
			r.laneTime(w, g.toLane, g.y2, secs(p.endAt), laneX)
		case p.drop != "":
			w.s(`<path class="cross" d="M`).f(g.x2 - 5).s(" ").f(g.y2 - 5).s("l10 10m-10 0l10-10\"/>\n")
			w.text(g.x2, g.y2+14, "lost", "middle", "lost ("+p.drop+")")
		default:
			w.text(g.x2, g.y2+12, "lost", "middle", "in flight at the end")
		}
	}
	// TIME_WAIT labels, outside the lane under its time.
	for _, t := range tws {
		i := slices.Index(lanes, t.host)
		x, anchor := laneX(i)+8, ""
		if i == 0 {
			x, anchor = laneX(0)-8, "end"
		}
		y0 := ax.at(t.start)
		w.text(x, y0+18, "twlabel", anchor, "TIME_WAIT")
		if m.TimeWait > 0 {
			s := "2·MSL = " + strconv.FormatFloat(m.TimeWait.Seconds(), 'f', -1, 64) + " s"
			w.text(x, y0+30, "twlabel", anchor, s)
			if t.start+m.TimeWait > tLast {
				w.text(x, y0+42, "twlabel", anchor, "(past the end)")
			}
		}
	}
	// Socket calls: on the first lane's left, the others' right, outside
	// the times.
	alt := map[string]bool{}
	for i := range groups {
		g := &groups[i]
		li := lane(g.Host)
		x, tx, anchor, tick := laneX(li)+58, laneX(li)+64, "", -4.0
		if li == 0 {
			x, tx, anchor, tick = laneX(0)-58, laneX(0)-64, "end", 4
		}
		if y0, y1 := ax.at(g.At), ax.at(g.End); y1 > y0 {
			// A bracket from the call to its return; one call's bracket
			// and the next's are a little apart, so that they stay two.
			if alt[g.Host] = !alt[g.Host]; !alt[g.Host] {
				x += tick
			}
			w.s(`<path class="callspan" d="M`).f(x + tick).s(" ").f(y0).s("H").f(x).s("V").f(y1).s("H").f(x + tick).s("\"/>\n")
		}
		w.s(`<text class="call" x="`).f(tx).s(`" y="`).f(g.y + 4).s(`"`)
		if anchor != "" {
			w.s(` text-anchor="`).s(anchor).s(`"`)
		}
		w.s(">").esc(g.text())
		w.s("<title>").esc(g.Host + ": " + g.text() + " at " + secs(g.At) + " s, returned at " + secs(g.End) + " s").s("</title></text>\n")
	}
	// The story's steps beside the lanes.
	lastY := 0.0
	for _, s := range steps {
		y := max(ax.at(s.At), lastY+14)
		lastY = y
		w.line(rightmost+90+callW[1], ax.at(s.At), stepsX-4, y-4, "steplink")
		w.text(stepsX, y, "step", "", s.Text)
	}
	// What was left out.
	var notes []string
	if r.opt.LadderFrom > 0 || r.opt.LadderUntil > 0 {
		notes = append(notes, fmt.Sprintf("the packets sent from %s s to %s are drawn (%d before and %d after are not)",
			secs(r.opt.LadderFrom), untilText(r.opt.LadderUntil), lo+r.dgramsBefore, len(r.pkts)-r.windowEnd()+r.dgramsAfter))
		if hi < r.windowEnd() {
			notes = append(notes, fmt.Sprintf("of them, the first %d; %d more are not", n, r.windowEnd()-hi))
		}
	} else if left := len(r.pkts) - n; left > 0 {
		notes = append(notes, fmt.Sprintf("the first %d packets are drawn; %d more of the detailed flows are not", n, left))
	}
	if r.dgramsLeft > 0 {
		notes = append(notes, fmt.Sprintf("%d more UDP or ICMP packets are not drawn", r.dgramsLeft))
	}
	if r.others > 0 {
		notes = append(notes, fmt.Sprintf("%d packets of %d flows beyond the first %d are not drawn", r.others, r.extra, r.opt.MaxFlows))
	}
	if len(notes) > 0 {
		w.text(10, bottom+20, "note", "", "… "+strings.Join(notes, "; "))
	}
	w.s("</svg>\n")
}

func (r *Recorder) laneTime(w *buf, lane int, y float64, s string, laneX func(int) float64) {
	if lane == 0 {
		w.text(laneX(0)-6, y+4, "time", "end", s)
		return
	}
	w.text(laneX(lane)+6, y+4, "time", "", s)
}

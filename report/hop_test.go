package report

import (
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
)

// routed feeds a Recorder by hand the events of packets between a client
// and a server through one router: client -l1- router -l2- server, 5 ms a
// link.
type routed struct {
	t   *testing.T
	rec *Recorder
	seq uint64
	// win, when set, is the window the next packets advertise (60000
	// otherwise).
	win    uint16
	winSet bool
}

// send sends one packet at `at` ms; drop is the link (1 or 2) that drops
// it, 0 for none.
func (r *routed) send(fromCli bool, flags segment.Flags, seq, ack uint32, n int, at float64, drop int) {
	r.t.Helper()
	p := segment.Packet{
		IP:      ippacket.Header{TTL: 64, Src: netip.MustParseAddr("10.0.1.1"), Dst: netip.MustParseAddr("10.0.2.1")},
		TCP:     segment.Header{SrcPort: 40000, DstPort: 80, Seq: segment.Seq(seq), Ack: segment.Seq(ack), Flags: flags, Window: 60000},
		Payload: make([]byte, n),
	}
	if r.winSet {
		p.TCP.Window = r.win
	}
	path := []struct{ from, to, link string }{{"client", "router", "l1"}, {"router", "server", "l2"}}
	if !fromCli {
		p.IP.Src, p.IP.Dst = p.IP.Dst, p.IP.Src
		p.TCP.SrcPort, p.TCP.DstPort = 80, 40000
		path = []struct{ from, to, link string }{{"server", "router", "l2"}, {"router", "client", "l1"}}
	}
	b, err := p.Encode(nil)
	if err != nil {
		r.t.Fatal(err)
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	for hop, h := range path {
		// The client and the server are each link's end 0 or 1 as drawn.
		end := 0
		if h.link == "l1" && h.from == "router" || h.link == "l2" && h.from == "server" {
			end = 1
		}
		r.seq++
		t0 := at + 5*float64(hop)
		r.rec.Event(&sim.Event{Time: ms(t0), Node: h.from, Link: h.link, End: end, Verdict: sim.Sent, PktSeq: r.seq, Data: b, Len: len(b)})
		if drop == hop+1 {
			r.rec.Event(&sim.Event{Time: ms(t0), Node: h.from, Link: h.link, End: end, Verdict: sim.Dropped, Reason: "loss", PktSeq: r.seq, Data: b, Len: len(b)})
			return
		}
		r.rec.Event(&sim.Event{Time: ms(t0 + 5), Node: h.to, Link: h.link, End: end ^ 1, Verdict: sim.Delivered, PktSeq: r.seq, Data: b, Len: len(b)})
	}
}

// A hand-checked run through a router: three 1000-byte segments at 20-22
// ms, the second lost on the second link and sent again at 45 ms. In 10 ms
// intervals the throughput (payload sent, the retransmission included) is
// 3000 bytes in [20, 30) and 1000 in [40, 50); the goodput (new payload
// delivered in order at the server) is 1000 in [30, 40), when the first
// segment arrives (the third waits above the hole), and 2000 in [50, 60),
// when the retransmission fills it. The router's copies are not counted
// again, and on the ladder they keep their sender's marks.
func TestThroughputGoodputHandChecked(t *testing.T) {
	const S, A, F = segment.FlagSYN, segment.FlagACK, segment.FlagFIN
	r := &routed{t: t, rec: New(Options{SampleEvery: 10 * time.Millisecond})}
	r.send(true, S, 1000, 0, 0, 0, 0)
	r.send(false, S|A, 5000, 1001, 0, 10, 0)
	r.send(true, A, 1001, 5001, 1000, 20, 0)
	r.send(true, A, 2001, 5001, 1000, 21, 2)
	r.send(true, A, 3001, 5001, 1000, 22, 0)
	r.send(false, A, 5001, 2001, 0, 30, 0)
	r.send(false, A, 5001, 2001, 0, 32, 0) // duplicate ACK
	r.send(true, A, 2001, 5001, 1000, 45, 0)
	r.send(false, A, 5001, 4001, 0, 55, 0)
	r.send(true, F|A, 4001, 5001, 0, 65, 0)
	r.send(false, F|A, 5001, 4002, 0, 75, 0)
	r.send(true, A, 4002, 5002, 0, 85, 0)
	rec := r.rec

	tab := rec.rateIntervals()
	if tab == nil || tab.every != 10*time.Millisecond || tab.t0 != 0 {
		t.Fatalf("intervals %+v", tab)
	}
	if want := []int64{0, 0, 3000, 0, 1000, 0, 0, 0, 0}; !slices.Equal(tab.sent[0], want) {
		t.Errorf("throughput bytes per interval %v, want %v", tab.sent[0], want)
	}
	if want := []int64{0, 0, 0, 1000, 0, 2000, 0, 0, 0}; !slices.Equal(tab.good[0], want) {
		t.Errorf("goodput bytes per interval %v, want %v", tab.good[0], want)
	}
	// The graph: its two lines at those rates, labelled.
	pics, _ := rec.Plots([]string{"throughput"}, Meta{})
	var svg string
	for _, p := range pics {
		if p.Name == "throughput-1" {
			svg = string(p.SVG)
		}
	}
	if svg == "" {
		t.Fatal("no throughput-1 graph")
	}
	for _, s := range []string{">" + throughputText + "<", ">" + goodputText + "<", "per 10ms"} {
		if !strings.Contains(svg, s) {
			t.Errorf("the graph does not say %q", s)
		}
	}
	line := func(class string) []string {
		m := regexp.MustCompile(`<path class="` + class + `" d="M([^"]*)"`).FindStringSubmatch(svg)
		if m == nil {
			t.Fatalf("no %s line", class)
		}
		var ys []string
		f := strings.Fields(m[1])
		for i := 1; i < len(f); i += 2 {
			ys = append(ys, f[i])
		}
		return ys
	}
	thr, good := line("thr"), line("good")
	if len(thr) != 9 || len(good) != 9 {
		t.Fatalf("%d and %d points, want 9 intervals", len(thr), len(good))
	}
	// A higher rate is a smaller y: in the interval of the retransmission
	// throughput is above goodput, in the next goodput above throughput.
	y := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	if !(y(thr[4]) < y(good[4]) && y(good[5]) < y(thr[5]) && y(thr[2]) < y(thr[4]) && y(good[5]) < y(good[3])) {
		t.Errorf("throughput ys %v, goodput ys %v", thr, good)
	}

	// The router's copies: one per packet not lost on the first link.
	hops, rtx := 0, 0
	for i := range rec.pkts {
		p := &rec.pkts[i]
		if p.marks&markHop != 0 {
			hops++
			if p.from != "router" {
				t.Errorf("hop record %d sent by %s", i, p.from)
			}
		}
		if p.marks&markRetrans != 0 {
			rtx++
		}
	}
	if hops != 12 || rtx != 2 {
		t.Errorf("%d router copies, %d records marked retransmitted; want 12 and 2 (the retransmission and its copy)", hops, rtx)
	}
	// The time-sequence graph draws each packet once, from its sender,
	// with the loss on the second link as a cross on its bar.
	var w buf
	rec.writeTSG(&w, 0)
	tsg := string(w.b)
	if n := strings.Count(tsg, `<path class="seg"`); n != 3 {
		t.Errorf("%d first transmissions drawn, want 3", n)
	}
	if n := strings.Count(tsg, `<path class="seg rtx"`); n != 1 {
		t.Errorf("%d retransmissions drawn, want 1", n)
	}
	if n := strings.Count(tsg, `<path class="lostx" d="M`); n != 1 {
		t.Errorf("%d crosses, want 1", n)
	}
	// One RTT sample: the first segment, sent at 20 ms, acknowledged back
	// at the client at 40 ms; the ACK of the retransmission gives none.
	if rs := rec.rttSamples(rec.flows[0], 0); len(rs) != 1 || rs[0].rtt != 20*time.Millisecond || rs[0].at != 40*time.Millisecond {
		t.Errorf("RTT samples %+v, want one of 20ms at 40ms", rs)
	}
	// The ladder: a lane for the router between the hosts, an arrow per
	// packet per link it crossed (24: 12 sent, 12 forwarded).
	lad := decode(t, page(t, rec)).find("ladder")
	var lanes []string
	for _, m := range regexp.MustCompile(`class="lanename"[^>]*>([^<]*)<`).FindAllStringSubmatch(string(mustPics(t, rec, "ladder")), -1) {
		lanes = append(lanes, m[1])
	}
	if strings.Join(lanes, ",") != "client,router,server" {
		t.Errorf("lanes %v", lanes)
	}
	if n := lad.count("line", regexp.MustCompile(`^pkt \w+$`)); n != 24 {
		t.Errorf("%d arrows, want 24", n)
	}
	if n := lad.count("line", regexp.MustCompile(`^pkt rtx$`)); n != 2 {
		t.Errorf("%d red arrows, want 2 (the retransmission on both links)", n)
	}
	if n := lad.count("line", regexp.MustCompile(`^pkt dup$`)); n != 2 {
		t.Errorf("%d duplicate-ACK arrows, want 2 (on both links)", n)
	}
}

func mustPics(t *testing.T, rec *Recorder, name string) []byte {
	t.Helper()
	pics, _ := rec.Plots([]string{name}, Meta{})
	if len(pics) != 1 {
		t.Fatalf("%d %s pictures", len(pics), name)
	}
	return pics[0].SVG
}

// A zero window and the window update that opens it again are marked on
// the ladder (on both links of their path), in the legend's colours, and
// named in their labels.
func TestLadderWindowMarks(t *testing.T) {
	const S, A = segment.FlagSYN, segment.FlagACK
	r := &routed{t: t, rec: New(Options{})}
	r.send(true, S, 1000, 0, 0, 0, 0)
	r.send(false, S|A, 5000, 1001, 0, 10, 0)
	r.send(true, A, 1001, 5001, 100, 20, 0)
	r.win, r.winSet = 0, true
	r.send(false, A, 5001, 1101, 0, 30, 0) // zero window
	r.win = 8192
	r.send(false, A, 5001, 1101, 0, 40, 0) // window update
	r.send(false, A, 5001, 1101, 0, 41, 0) // the same again: a duplicate ACK
	svg := string(mustPics(t, r.rec, "ladder"))
	lad := decode(t, []byte(svg))
	for _, c := range []struct {
		class, label string
	}{{"zwin", "win 0 [zero window]"}, {"wup", "win 8192 [window update]"}, {"dup", "win 8192 [dup ack]"}} {
		if n := lad.count("line", regexp.MustCompile(`^pkt `+c.class+`$`)); n != 2 {
			t.Errorf("%d arrows of class %s, want 2 (client-router, router-server)", n, c.class)
		}
		if n := strings.Count(svg, c.label+"<"); n < 2 {
			t.Errorf("%d labels %q, want one per arrow", n, c.label)
		}
	}
	for _, s := range []string{">window update<", ">zero window<"} {
		if !strings.Contains(svg, s) {
			t.Errorf("the legend lacks %s", s)
		}
	}
}

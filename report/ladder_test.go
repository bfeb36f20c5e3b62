package report

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The TIME_WAIT bands are on the lanes of exactly the hosts whose
// connections entered TIME_WAIT, from the moment they did.
func TestLadderTimeWait(t *testing.T) {
	rec, lc := simulate(t, 3, 20<<10, 2, 0, true, Options{})
	want := map[string]int{}
	for _, c := range lc.conns {
		at, ok := lc.timeWait[c]
		if !ok {
			continue
		}
		host := "server"
		if c.Info().Local.Addr().String() == "10.0.0.1" {
			host = "client"
		}
		want[host+" in TIME_WAIT from "+secs(at)+" s"]++
	}
	if len(want) == 0 {
		t.Fatal("no connection entered TIME_WAIT: the test shows nothing")
	}
	lad := decode(t, page(t, rec)).find("ladder")
	got := map[string]int{}
	var walk func(e *elem)
	walk = func(e *elem) {
		if e.XMLName.Local == "rect" && e.attr("class") == "tw" && len(e.Kids) > 0 {
			got[e.Kids[0].Text]++
		}
		for i := range e.Kids {
			walk(&e.Kids[i])
		}
	}
	walk(lad)
	if len(got) != len(want) {
		t.Errorf("bands %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("bands %v, want %v", got, want)
			break
		}
	}
}

// Socket calls are drawn beside their lanes: one label per call (or per
// crowded group), a bracket for each call that blocked.
func TestLadderCalls(t *testing.T) {
	rec, _ := simulate(t, 3, 20<<10, 1, 0, true, Options{})
	rec.Call(Call{Host: "client", Op: "connect", At: 0, End: 40 * time.Millisecond})
	m := Meta{Calls: []Call{
		{Host: "server", Op: "accept", At: 0, End: 60 * time.Millisecond},
		{Host: "server", Op: "read", At: 60 * time.Millisecond, End: 60 * time.Millisecond, N: 100},
		{Host: "server", Op: "read", At: 60 * time.Millisecond, End: 60 * time.Millisecond, N: 200},
		{Host: "client", Op: "close", At: 100 * time.Millisecond, End: 100 * time.Millisecond, Err: "error"},
		{Host: "nobody", Op: "close", At: 0, End: 0},                // not a lane: not drawn
		{Host: "client", Op: "read", At: time.Hour, End: time.Hour}, // after the drawing: not drawn
	}}
	pics, _ := rec.Plots([]string{"ladder"}, m)
	if len(pics) != 1 {
		t.Fatalf("%d pictures", len(pics))
	}
	svg := string(pics[0].SVG)
	var labels []string
	for _, mm := range regexp.MustCompile(`<text class="call"[^>]*>([^<]*)<title>`).FindAllStringSubmatch(svg, -1) {
		labels = append(labels, mm[1])
	}
	if got := strings.Join(labels, "|"); got != "accept()|connect()|read ×2 = 300|close() = error" {
		t.Errorf("call labels %q", got)
	}
	// connect and accept blocked; the reads and close did not (the legend
	// has one more).
	if n := strings.Count(svg, `class="callspan"`); n != 2+1 {
		t.Errorf("%d brackets, want 3", n)
	}
	if _, err := PNG(pics[0].SVG); err != nil {
		t.Error(err)
	}
}

// With AbsoluteSeq the labels carry the numbers on the wire: the SYN's
// sequence number is the client's ISN, and a data segment's is ISN+1.
func TestLadderAbsoluteSeq(t *testing.T) {
	rel, _ := simulate(t, 5, 8<<10, 1, 0, true, Options{})
	abs, _ := simulate(t, 5, 8<<10, 1, 0, true, Options{AbsoluteSeq: true})
	f := abs.flows[0]
	if got, want := abs.label(0), "S "+strconv.FormatUint(uint64(f.isn[0]), 10)+" win"; !strings.HasPrefix(got, want) {
		t.Errorf("SYN %q, want it to start %q", got, want)
	}
	if rl := rel.label(0); !strings.HasPrefix(rl, "S 0 win") {
		t.Errorf("relative SYN %q", rl)
	}
	for i := range abs.pkts {
		p := &abs.pkts[i]
		if p.n > 0 && p.dir == 0 {
			want := strconv.FormatUint(uint64(uint32(f.isn[0])+p.seq), 10) + ":"
			if got := abs.label(int32(i)); !strings.Contains(got, " "+want) {
				t.Errorf("data %q, want %s", got, want)
			}
			break
		}
	}
	page := string(abs.mustPage(t))
	if !strings.Contains(page, "as tcpdump -S prints them") {
		t.Error("the page does not say the numbers are absolute")
	}
}

func (r *Recorder) mustPage(t *testing.T) []byte { return page(t, r) }

// A window of time: the ladder draws the packets sent within it (the
// first LadderMax of them), and says how many it left out on each side.
func TestLadderWindow(t *testing.T) {
	rec, lc := simulate(t, 3, 200<<10, 1, 0, true, Options{LadderFrom: 100 * time.Millisecond, LadderUntil: 150 * time.Millisecond, LadderMax: 1000})
	before, in := 0, 0
	for i := range rec.pkts {
		switch at := rec.pkts[i].sentAt; {
		case at < 100*time.Millisecond:
			before++
		case at <= 150*time.Millisecond:
			in++
		}
	}
	if in == 0 || before == 0 || before+in == lc.sent {
		t.Fatalf("%d packets before the window, %d in it, of %d: the window shows nothing", before, in, lc.sent)
	}
	b := page(t, rec)
	lad := decode(t, b).find("ladder")
	if n := lad.count("line", regexp.MustCompile(`^pkt \w+$`)); n != in {
		t.Errorf("the ladder draws %d packets, %d were sent in the window", n, in)
	}
	want := "the packets sent from 0.100000 s to 0.150000 s are drawn (" + strconv.Itoa(before) + " before and " + strconv.Itoa(lc.sent-before-in) + " after are not)"
	if !strings.Contains(string(b), want) {
		t.Errorf("no note %q", want)
	}
	// Nothing in the window: said, not drawn.
	rec.opt.LadderFrom, rec.opt.LadderUntil = time.Hour, 2*time.Hour
	if b := page(t, rec); !strings.Contains(string(b), "No TCP packets were sent in the chosen window") {
		t.Error("an empty window is not said")
	}
	if _, missing := rec.Plots([]string{"ladder"}, Meta{}); len(missing) != 1 {
		t.Errorf("missing %v", missing)
	}
}

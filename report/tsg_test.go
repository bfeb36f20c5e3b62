package report

import (
	"regexp"
	"strings"
	"testing"

	"github.com/tcpsim/tcpsim/segment"
)

// The time-sequence graph's tcptrace marks: one tick per duplicate ACK
// that reached the data sender, one diamond per SYN or FIN the sender
// sent, and the legend names every kind of mark.
func TestTSGMarks(t *testing.T) {
	rec, _ := simulate(t, 10, 40<<10, 1, 0.05, true, Options{})
	f := rec.flows[0]
	d := mainDir(f)
	dups, ctl := 0, 0
	for _, i := range f.pkts {
		p := &rec.pkts[i]
		if int(p.dir) == d && p.flags&(segment.FlagSYN|segment.FlagFIN) != 0 {
			ctl++
		}
		if int(p.dir) != d && p.arrived && p.flags&segment.FlagACK != 0 && p.marks&markDupAck != 0 {
			dups++
		}
	}
	if dups == 0 || ctl < 2 {
		t.Fatalf("the run has %d duplicate ACKs and %d SYN/FIN: pick a lossier seed", dups, ctl)
	}
	var w buf
	rec.writeTSG(&w, 0)
	svg := string(w.b)
	count := func(class string) int {
		m := regexp.MustCompile(`<path class="` + class + `" d="([^"]*)"`).FindStringSubmatch(svg)
		if m == nil {
			return 0
		}
		return strings.Count(m[1], "M")
	}
	if n := count("dupmark"); n != dups {
		t.Errorf("%d duplicate-ACK ticks, %d duplicate ACKs arrived", n, dups)
	}
	if n := count("synfin"); n != ctl {
		t.Errorf("%d SYN/FIN diamonds, the sender sent %d", n, ctl)
	}
	for _, s := range []string{">data<", ">retransmitted<", ">dropped<", ">ACK<", ">duplicate ACK<", ">receive window", ">SACK block<", ">SYN / FIN<"} {
		if !strings.Contains(svg, s) {
			t.Errorf("the legend lacks %s", s)
		}
	}
}

package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim"
)

// By hand: at 8 Mbit/s a 1000-byte packet takes 1 ms. Three at t=0 keep
// the transmitter busy 3 ms; at 5 ms the rate halves and one more takes
// 2 ms. Over 10 ms: busy 5/10; the bytes, 4000 = 32,000 bits, over what
// the last rate carries in 10 ms (40,000 bits) make 0.8; the idle
// direction 0 on both; a direction without a rate has neither figure.
func TestLinkUseByHand(t *testing.T) {
	w := sim.New(sim.Config{})
	defer w.Close()
	l, err := w.NewLink(sim.LinkConfig{Name: "x", AB: sim.DirConfig{Rate: 8_000_000}, BA: sim.DirConfig{Rate: 8_000_000}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := w.NewLink(sim.LinkConfig{Name: "fast"})
	if err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, 1000)
	pkt[0] = 0x45
	w.ScheduleFunc(0, sim.PrioDefault, func() {
		for range 3 {
			l.End(0).Send(pkt)
		}
		u.End(0).Send(pkt)
	})
	w.ScheduleFunc(5*time.Millisecond, sim.PrioDefault, func() {
		l.SetRate(0, 4_000_000)
		l.End(0).Send(pkt)
	})
	w.ScheduleFunc(10*time.Millisecond, sim.PrioDefault, func() {})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if w.Now() != 10*time.Millisecond {
		t.Fatalf("world ended at %v", w.Now())
	}
	us := linkUses([]*sim.Link{l, u}, w.Now())
	if len(us) != 4 {
		t.Fatalf("%d directions", len(us))
	}
	ab, ba, fast := us[0], us[1], us[2]
	if ab.Bytes != 4000 || ab.Rate != 4_000_000 || ab.Utilisation == nil || math.Abs(*ab.Utilisation-0.8) > 1e-12 || math.Abs(*ab.Busy-0.5) > 1e-12 {
		t.Errorf("A→B: %+v (util %v busy %v), want 4000 bytes, util 0.8, busy 0.5", ab, deref(ab.Utilisation), deref(ab.Busy))
	}
	if ba.Bytes != 0 || ba.Utilisation == nil || *ba.Utilisation != 0 || *ba.Busy != 0 {
		t.Errorf("idle B→A: %+v", ba)
	}
	if fast.Bytes != 1000 || fast.Utilisation != nil || fast.Busy != nil {
		t.Errorf("unlimited direction: %+v", fast)
	}
	if b := busiest(us); b == nil || b.Link != "x" || b.From != ab.From {
		t.Errorf("busiest: %+v", b)
	}
	if busiest(us[2:]) != nil {
		t.Error("busiest of unlimited directions is not nil")
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// A bulk flow that sends for 3 s through a 10 Mbit/s link keeps it busy:
// its direction's utilisation is near 100 % (the handshake, slow start and
// the close are the rest), the ACKs' direction a few per cent, and a link
// nobody uses 0 %. The text, the JSON and the aggregates say the same.
func TestRunUtilisation(t *testing.T) {
	file := filepath.Join(t.TempDir(), "util.yaml")
	if err := os.WriteFile(file, []byte(`
hosts:
  - {name: a, tcp: {sndbuf: 1MB, rcvbuf: 1MB}}
  - {name: b, tcp: {sndbuf: 1MB, rcvbuf: 1MB}, listen: [{port: 9}]}
  - {name: idle}
routers:
  - {name: r}
links:
  - {name: ar, a: a, b: r, rate: 1gbit, delay: 1ms}
  - {name: rb, a: r, b: b, rate: 10mbit, delay: 5ms, queue: 200}
  - {name: spare, a: idle, b: r, rate: 10mbit, delay: 1ms}
flows:
  - {from: a, to: b, port: 9, duration: 3s}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var doc scenarioDoc
	if err := json.Unmarshal([]byte(runOK(t, "run", file, "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Links) != 6 {
		t.Fatalf("%d link directions in the JSON, want 6", len(doc.Links))
	}
	get := func(link, from string) linkUse {
		for _, u := range doc.Links {
			if u.Link == link && u.From == from {
				return u
			}
		}
		t.Fatalf("no direction %s from %s", link, from)
		return linkUse{}
	}
	data, acks, spare := get("rb", "r"), get("rb", "b"), get("spare", "idle")
	if *data.Utilisation < 0.95 || *data.Utilisation > 1 || math.Abs(*data.Busy-*data.Utilisation) > 1e-9 {
		t.Errorf("data direction: utilisation %v, busy %v; want 95–100 %%, equal", *data.Utilisation, *data.Busy)
	}
	if *acks.Utilisation <= 0 || *acks.Utilisation > 0.05 {
		t.Errorf("ACK direction: utilisation %v", *acks.Utilisation)
	}
	if spare.Bytes != 0 || *spare.Utilisation != 0 || *spare.Busy != 0 || *get("spare", "r").Busy != 0 {
		t.Errorf("idle link: %+v", spare)
	}
	if b := doc.Summary.Bottleneck; b == nil || b.Link != "rb" || b.From != "r" || *b.Busy != *data.Busy {
		t.Errorf("summary's bottleneck: %+v", b)
	}
	// The bytes carried over rate × the run's time, from the document's
	// own figures.
	if want := float64(data.Bytes) * 8 / (10e6 * doc.End); math.Abs(*data.Utilisation-want) > 1e-9 {
		t.Errorf("utilisation %v, bytes × 8 / (rate × end) = %v", *data.Utilisation, want)
	}
	text := runOK(t, "run", file)
	for _, want := range []string{
		"busiest link direction: rb r → b, utilisation " + pct(data.Utilisation),
		"  spare  idle → r  ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "  spare ") && !strings.HasSuffix(line, "0.0 %     0.0 %") {
			t.Errorf("idle link's line: %q", line)
		}
	}
}

// transfer reports its bottleneck's two directions: a 2 MB flow at
// 10 Mbit/s fills the data direction for most of the run.
func TestTransferUtilisation(t *testing.T) {
	var doc runDoc
	if err := json.Unmarshal([]byte(runOK(t, "transfer", "--size", "2MB", "--rate", "10mbit", "--delay", "5ms", "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Links) != 2 || doc.Links[0].From != "client" || doc.Links[1].From != "server" {
		t.Fatalf("links %+v", doc.Links)
	}
	c2s := doc.Links[0]
	if *c2s.Utilisation < 0.9 || *c2s.Utilisation > 1 || c2s.Bytes < 2_000_000 {
		t.Errorf("client → server: %d bytes, utilisation %v", c2s.Bytes, *c2s.Utilisation)
	}
	if b := doc.Summary.Bottleneck; b == nil || b.From != "client" || *b.Busy != *c2s.Busy {
		t.Errorf("bottleneck %+v", b)
	}
	if text := runOK(t, "transfer", "--size", "2MB", "--rate", "10mbit", "--delay", "5ms"); !strings.Contains(text, "client → server   10.000 Mbit/s") {
		t.Errorf("text lacks the bottleneck's line:\n%s", text)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/stack"
)

// The user-written algorithm of docs/queues.md ("Writing your own
// algorithm"), verbatim between the markers: TestVegasDocsVerbatim keeps
// the two the same.

// docs:begin vegas

// vegas is TCP Vegas (Brakmo and Peterson, 1995) in its simplest form.
// Once per round trip it compares the rate the window would give at the
// path's base RTT with the rate it gives at the RTT just measured; the
// difference, in segments, is what the flow keeps queued at the
// bottleneck. It aims for 2 to 4 segments there: one more below 2, one
// less above 4. Slow start ends once more than one segment is queued.
type vegas struct {
	roundEnd segment.Seq   // this round trip ends when SND.UNA reaches it
	roundRTT time.Duration // the least RTT sample of the round, 0 if none
}

func (v *vegas) Init(cc *stack.CCConn) { v.roundEnd = cc.SndMax() }

func (v *vegas) OnAck(cc *stack.CCConn, a stack.AckSample) {
	if a.RTT > 0 && (v.roundRTT == 0 || a.RTT < v.roundRTT) {
		v.roundRTT = a.RTT
	}
	if a.InRecovery {
		return // the engine sets cwnd during a recovery
	}
	if cc.InSlowStart() {
		cc.SetCwnd(cc.Cwnd() + min(a.Acked, cc.MSS()))
	}
	if cc.SndUna().LessThan(v.roundEnd) {
		return
	}
	rtt, base := v.roundRTT, cc.MinRTT()
	v.roundEnd, v.roundRTT = cc.SndMax(), 0
	if rtt == 0 || base == 0 {
		return // no sample in this round
	}
	// (Expected − Actual) · BaseRTT = cwnd · (RTT − BaseRTT) / RTT.
	queued := float64(cc.Cwnd()) / float64(cc.MSS()) * float64(rtt-base) / float64(rtt)
	switch {
	case cc.InSlowStart():
		if queued > 1 {
			cc.SetSsthresh(cc.Cwnd()) // γ = 1: leave slow start
		}
	case queued < 2: // α
		cc.SetCwnd(cc.Cwnd() + cc.MSS())
	case queued > 4: // β; ssthresh follows, so that this is no slow start
		w := max(cc.Cwnd()-cc.MSS(), 2*cc.MSS())
		cc.SetCwnd(w)
		cc.SetSsthresh(w)
	}
}

// OnCongestion answers losses, ECN and timeouts as Reno does.
func (v *vegas) OnCongestion(cc *stack.CCConn, ev stack.CongestionEvent) uint32 {
	return max(cc.FlightSize()/2, 2*cc.MSS())
}

func (v *vegas) AfterIdle(cc *stack.CCConn) {}

func registerVegas() error {
	return stack.RegisterCongestionControl("vegas", func() stack.CongestionAlgorithm { return &vegas{} })
}

// docs:end vegas

var vegasOnce sync.Once

// TestVegasByName registers the algorithm and drives it by name through
// the CLI: over 10 Mbit/s, 40 ms RTT, a 1000-packet FIFO, it keeps the RTT
// a few milliseconds above the base where CUBIC fills the queue, at the
// same goodput.
func TestVegasByName(t *testing.T) {
	vegasOnce.Do(func() {
		if err := registerVegas(); err != nil {
			t.Fatal(err)
		}
	})
	if err := registerVegas(); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("registering vegas twice: %v", err)
	}
	avg := map[string]float64{}
	for _, cc := range []string{"vegas", "cubic"} {
		args := []string{"transfer", "--size", "8MB", "--rate", "10mbit", "--delay", "20ms",
			"--qdisc", "pfifo limit 1000", "--sndbuf", "4MiB", "--rcvbuf", "4MiB", "--cc", cc}
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Fatalf("run(%q) = %d; stderr:\n%s", args, code, stderr.String())
		}
		out := stdout.String()
		if !strings.Contains(out, "tcp: "+cc+" congestion control") {
			t.Fatalf("%s: header does not name it:\n%s", cc, out)
		}
		m := regexp.MustCompile(`data min/avg/max [0-9.]+/([0-9.]+)/`).FindStringSubmatch(out)
		g := regexp.MustCompile(`goodput +([0-9.]+) Mbit/s`).FindStringSubmatch(out)
		if m == nil || g == nil {
			t.Fatalf("%s: no RTT or goodput line:\n%s", cc, out)
		}
		t.Logf("%s: avg RTT %s ms, goodput %s Mbit/s", cc, m[1], g[1])
		avg[cc] = atof(t, m[1])
		if gp := atof(t, g[1]); gp < 9 {
			t.Errorf("%s: goodput %.3f Mbit/s, want at least 9 on a 10 Mbit/s link", cc, gp)
		}
	}
	if avg["vegas"] > 50 || avg["cubic"] < 150 {
		t.Errorf("average RTT: vegas %.1f ms (want at most 50, the base is 40), cubic %.1f ms (want over 150)", avg["vegas"], avg["cubic"])
	}
}

// The code in docs/queues.md is the code tested here.
func TestVegasDocsVerbatim(t *testing.T) {
	doc, err := os.ReadFile("../../docs/queues.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("vegas_test.go")
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile("(?s)// docs:begin vegas\n\n(.*?)\n// docs:end vegas").FindSubmatch(src)
	block := regexp.MustCompile("(?s)## Writing your own algorithm.*?```go\n(.*?)```").FindSubmatch(doc)
	if code == nil || block == nil {
		t.Fatal("markers or the docs' code block not found")
	}
	if !bytes.Contains(block[1], code[1]) {
		t.Errorf("docs/queues.md's Vegas differs from vegas_test.go's:\n%s\nvs\n%s", block[1], code[1])
	}
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A user-registered algorithm is chosen by name in a scenario file too, per
// flow: two bulk flows from one host, one Vegas and one CUBIC, each on its
// own bottleneck, and the table names each flow's algorithm.
func TestVegasInScenario(t *testing.T) {
	vegasOnce.Do(func() {
		if err := registerVegas(); err != nil {
			t.Fatal(err)
		}
	})
	const yaml = `name: vegas and cubic by name
seed: 1
timeout: 1m
hosts:
  - {name: c, tcp: {sndbuf: 4MiB}}
  - name: s1
    tcp: {rcvbuf: 4MiB}
    listen: [{port: 5001}]
  - name: s2
    tcp: {rcvbuf: 4MiB}
    listen: [{port: 5001}]
routers:
  - {name: r}
links:
  - {a: c, b: r, rate: 1gbit, delay: 1ms}
  - {a: r, b: s1, rate: 10mbit, delay: 19ms, queue: 1000}
  - {a: r, b: s2, rate: 10mbit, delay: 19ms, queue: 1000}
flows:
  - {name: v, from: c, to: s1, port: 5001, size: 4MB, cc: vegas}
  - {name: k, from: c, to: s2, port: 5001, size: 4MB, cc: cubic}
`
	path := filepath.Join(t.TempDir(), "vegas.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"run", path, "--json"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("run = %d; stderr:\n%s", code, stderr.String())
	}
	var out struct {
		Flows []struct {
			Name string  `json:"name"`
			CC   string  `json:"congestion_control"`
			Mean float64 `json:"rtt_mean_ms"`
		} `json:"flows"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range out.Flows {
		if want := map[string]string{"v": "vegas", "k": "cubic"}[f.Name]; f.CC != want {
			t.Errorf("flow %s: congestion control %q, want %q", f.Name, f.CC, want)
		}
		got[f.Name] = f.Mean
	}
	t.Logf("mean RTT: vegas %.1f ms, cubic %.1f ms", got["v"], got["k"])
	// Vegas keeps the queue short (base RTT 40 ms); CUBIC fills 1,000 packets.
	if got["v"] == 0 || got["v"] > 60 || got["k"] < 150 {
		t.Errorf("mean RTT: vegas %.1f ms (want at most 60), cubic %.1f ms (want over 150)", got["v"], got["k"])
	}
}

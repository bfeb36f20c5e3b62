package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// docs/examples/bufferbloat.yaml and the same file with fq_codel on the
// bottleneck (docs/queues.md): behind the 1,000-packet FIFO the bulk flow's
// RTT climbs far above the path's 50 ms and a short fetch waits behind the
// queue; fq_codel keeps both near the path's RTT at a cost in the bulk
// flow's goodput.
func TestBufferbloatExample(t *testing.T) {
	src, err := os.ReadFile("../../docs/examples/bufferbloat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte("    queue: 1000\n")) {
		t.Fatal("bufferbloat.yaml has no bottleneck line `queue: 1000` to replace")
	}
	fq := filepath.Join(t.TempDir(), "fq.yaml")
	if err := os.WriteFile(fq, bytes.Replace(src, []byte("    queue: 1000\n"), []byte("    qdisc: fq_codel\n"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	type flow struct {
		Name    string  `json:"name"`
		Status  string  `json:"status"`
		FCT     float64 `json:"fct_s"`
		Goodput float64 `json:"goodput_bps"`
		P50     float64 `json:"rtt_p50_ms"`
		P99     float64 `json:"rtt_p99_ms"`
	}
	get := func(file string) (bulk, web flow) {
		t.Helper()
		var doc struct{ Flows []flow }
		if err := json.Unmarshal([]byte(runOK(t, "run", file, "--json")), &doc); err != nil {
			t.Fatal(err)
		}
		for _, f := range doc.Flows {
			if f.Status != "completed" {
				t.Fatalf("%s: flow %s %s", file, f.Name, f.Status)
			}
			switch f.Name {
			case "bulk":
				bulk = f
			case "web":
				web = f
			}
		}
		t.Logf("%s: bulk %.2f Mbit/s, RTT p50 %.1f p99 %.1f ms; web %.3f s, RTT p50 %.1f ms", filepath.Base(file), bulk.Goodput/1e6, bulk.P50, bulk.P99, web.FCT, web.P50)
		return bulk, web
	}
	tb, tw := get("../../docs/examples/bufferbloat.yaml")
	fb, fw := get(fq)
	if tb.P50 < 500 || tb.P99 < 800 {
		t.Errorf("drop-tail: bulk RTT p50 %.1f ms, p99 %.1f ms; want the standing queue (above 500 and 800 ms)", tb.P50, tb.P99)
	}
	if fb.P99 > 150 {
		t.Errorf("fq_codel: bulk RTT p99 %.1f ms, want at most 150 ms", fb.P99)
	}
	if tw.FCT < 1 || fw.FCT > 0.3 {
		t.Errorf("web fetch: %.3f s behind drop-tail (want over 1 s), %.3f s with fq_codel (want at most 0.3 s)", tw.FCT, fw.FCT)
	}
	if tb.Goodput < 9e6 || fb.Goodput < 7e6 {
		t.Errorf("bulk goodput %.2f Mbit/s with drop-tail (want at least 9), %.2f with fq_codel (want at least 7)", tb.Goodput/1e6, fb.Goodput/1e6)
	}
}

package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

// --json prints one JSON document and nothing else: every flow with its
// 4-tuple, status and counts, and the aggregates.
func TestTransferJSON(t *testing.T) {
	out := runOK(t, "transfer", "--size", "200KB", "--flows", "4", "--loss", "1%", "--seed", "3", "--cc", "cubic", "--json")
	var doc runDoc
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatal("more than one JSON value on stdout")
	}
	if doc.Command != "transfer" || doc.Seed != 3 || len(doc.Flows) != 4 {
		t.Fatalf("command %q seed %d, %d flows", doc.Command, doc.Seed, len(doc.Flows))
	}
	ports := map[string]bool{}
	for i, f := range doc.Flows {
		if f.Flow != i+1 || f.CC != "cubic" || f.Status != "completed" || f.Bytes[0] != 200000 || f.FCT <= 0 || f.Goodput <= 0 || f.RTTSamples == 0 || f.RTTp99 < f.RTTMin {
			t.Errorf("flow %d: %+v", i+1, f)
		}
		ports[f.Client] = true
	}
	if len(ports) != 4 {
		t.Errorf("4 flows on %d client addresses:ports", len(ports))
	}
	s := doc.Summary
	if s.Flows != 4 || s.Completed != 4 || s.Failed != 0 || s.Bytes != 800000 || s.FCTMax < s.FCTp50 || s.Jain <= 0 || s.Jain > 1 {
		t.Errorf("summary %+v", s)
	}
}

// --csv prints a header and one record per flow.
func TestTransferCSV(t *testing.T) {
	out := runOK(t, "transfer", "--size", "100KB", "--flows", "3", "--csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || strings.Join(recs[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("%d records; header %v", len(recs), recs[0])
	}
	for _, r := range recs[1:] {
		if len(r) != len(csvHeader) || r[3] != "cubic" || r[4] != "completed" || r[10] != "100000" {
			t.Errorf("record %v", r)
		}
	}
}

// Without a spread, 1,000 flows start at once: their SYNs overflow the
// 100-packet queue and, retried in step, many fail. Spread over a second,
// every one completes (docs/cli.md explains this).
func TestTransferStartSpread(t *testing.T) {
	args := []string{"transfer", "--size", "100KB", "--flows", "1000", "--rate", "1gbit", "--delay", "1ms", "--csv"}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != exitFailure {
		t.Fatalf("1,000 flows at once: exit %d, want %d (some fail)", code, exitFailure)
	}
	if !strings.Contains(stderr.String(), "of 1000 flows failed") {
		t.Errorf("stderr %q", stderr.String())
	}
	out := runOK(t, append(args, "--start-spread", "1s")...)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1001 {
		t.Fatalf("%d records, want 1001", len(recs))
	}
	for _, r := range recs[1:] {
		if r[4] != "completed" {
			t.Fatalf("with --start-spread a flow did not complete: %v", r)
		}
	}
	if recs[1000][6] != "0.999" {
		t.Errorf("the last flow starts at %s s, want 0.999", recs[1000][6])
	}
}

// iperf3's words: --reverse sends from the server, --bidir both ways,
// --time for a duration instead of a size, -i prints interval reports
// whose bytes add up to what was acknowledged.
func TestTransferIperfWords(t *testing.T) {
	decode := func(args ...string) runDoc {
		t.Helper()
		var doc runDoc
		if err := json.Unmarshal([]byte(runOK(t, append([]string{"transfer", "--json"}, args...)...)), &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	if d := decode("--size", "200KB", "--reverse"); d.Flows[0].Bytes != [2]int64{0, 200000} || d.Flows[0].Status != "completed" {
		t.Errorf("--reverse: %+v", d.Flows[0])
	}
	if d := decode("--size", "200KB", "--bidir", "--flows", "2"); d.Flows[0].Bytes != [2]int64{200000, 200000} || d.Flows[1].Bytes != [2]int64{200000, 200000} {
		t.Errorf("--bidir: %+v %+v", d.Flows[0].Bytes, d.Flows[1].Bytes)
	}
	d := decode("--time", "2s", "-i", "500ms")
	f := d.Flows[0]
	// 10 Mbit/s for 2 s is 2.5 MB on the wire; the payload is a little less,
	// and what was written by 2 s drains by the last byte: no more than the
	// link carries by then (1.25 MB/s).
	if f.Bytes[0] < 2_000_000 || float64(f.Bytes[0]) > 1_250_000*f.LastByte || f.Status != "completed" || f.LastByte < 2 || f.LastByte > 2.5 {
		t.Errorf("--time 2s: %d bytes, last byte at %.3f s, %s", f.Bytes[0], f.LastByte, f.Status)
	}
	var sum int64
	for i, r := range d.Intervals {
		if r.From != float64(i)*0.5 || r.To != r.From+0.5 {
			t.Errorf("interval %d: %v-%v", i, r.From, r.To)
		}
		sum += r.Bytes
	}
	if len(d.Intervals) < 4 || sum != f.Bytes[0] {
		t.Errorf("%d intervals acknowledging %d bytes, want at least 4 adding up to %d", len(d.Intervals), sum, f.Bytes[0])
	}
	out := runOK(t, "transfer", "--time", "1s", "-i", "250ms")
	if !strings.Contains(out, "[ ID] Interval") || !strings.Contains(out, "[  1]   0.000-0.250   sec") || !strings.Contains(out, "Mbits/sec") || !strings.Contains(out, "of 1s of sending from client") {
		t.Errorf("text output:\n%s", out)
	}
}

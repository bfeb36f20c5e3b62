package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readSeriesCSV parses a --series CSV file into records keyed by column.
func readSeriesCSV(t *testing.T, name string) []map[string]string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

// transfer --series: the link rows count the marks a marking CoDel made,
// the client's rows deliver the whole transfer, the same seed writes the
// same file, and the packets (the pcap) are those of a run without it.
func TestTransferSeries(t *testing.T) {
	dir := t.TempDir()
	args := []string{"transfer", "--size", "500KB", "--flows", "2", "--rate", "5mbit", "--delay", "10ms", "--qdisc", "codel ecn", "--ecn", "on"}
	f1, f2 := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	p0, p1 := filepath.Join(dir, "plain.pcap"), filepath.Join(dir, "series.pcap")
	runOK(t, append(args, "--pcap", p0)...)
	runOK(t, append(args, "--pcap", p1, "--series", f1, "--sample", "20ms")...)
	runOK(t, append(args, "--series", f2, "--sample", "20ms")...)
	a, _ := os.ReadFile(f1)
	b, _ := os.ReadFile(f2)
	if !bytes.Equal(a, b) {
		t.Error("the same seed wrote two different series")
	}
	x, _ := os.ReadFile(p0)
	y, _ := os.ReadFile(p1)
	if !bytes.Equal(x, y) {
		t.Error("--series changed the packets")
	}
	rows := readSeriesCSV(t, f1)
	var marks, sent int64
	delivered := map[string]int64{}
	for _, r := range rows {
		switch r["kind"] {
		case "link":
			if r["from"] == "client" {
				marks += atoi(t, r["ecn_marks"])
				sent += atoi(t, r["sent_pkts"])
			}
		case "conn":
			if r["node"] == "client" {
				delivered[r["local"]] += atoi(t, r["delivered_bytes"])
			}
		}
	}
	if marks == 0 || sent < 2*500_000/1460 {
		t.Errorf("client→server: %d packets sent, %d CE marks", sent, marks)
	}
	if len(delivered) != 2 {
		t.Fatalf("client connections: %v", delivered)
	}
	for c, d := range delivered {
		if d != 500_000 {
			t.Errorf("%s delivered %d bytes in its intervals, want 500000", c, d)
		}
	}
	if rows[0]["time_s"] != "0.02" && !strings.HasPrefix(rows[0]["time_s"], "0.") {
		t.Errorf("first row at %s", rows[0]["time_s"])
	}
}

// get --series x.json holds the server's connection, which sent the page,
// and get -i prints its interval lines.
func TestGetSeriesJSON(t *testing.T) {
	name := filepath.Join(t.TempDir(), "get.json")
	out := runOK(t, "get", "http://server.example/", "--size", "300KB", "--series", name, "-i", "100ms")
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Sample float64 `json:"sample_s"`
		Conns  []struct {
			Node  string   `json:"node"`
			Flow  int      `json:"flow"`
			Deliv []uint64 `json:"delivered_bytes"`
		} `json:"conns"`
		Links []struct {
			From string `json:"from"`
		} `json:"links"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var server uint64
	for _, c := range doc.Conns {
		if c.Node == "server" && c.Flow == 1 {
			for _, d := range c.Deliv {
				server += d
			}
		}
	}
	if doc.Sample != 0.01 || len(doc.Links) != 2 || server < 300_000 || server > 301_000 {
		t.Errorf("sample %v, %d links, the server delivered %d bytes (the page and its headers)", doc.Sample, len(doc.Links), server)
	}
	if !strings.Contains(out, "[ ID]") || !strings.Contains(out, "[  1][RX-C]   0.100-0.200   sec") {
		t.Errorf("get -i lines missing:\n%s", out)
	}
}

// run --series writes the scenario's series; the file's sample is the
// default period.
func TestRunSeries(t *testing.T) {
	dir := t.TempDir()
	yaml := `name: two
sample: 50ms
hosts:
  - name: a
  - name: b
    listen: [{port: 9}]
links:
  - {a: a, b: b, rate: 2mbit, delay: 5ms, queue: 10}
flows:
  - {from: a, to: b, port: 9, size: 200KB}
`
	file := filepath.Join(dir, "two.yaml")
	os.WriteFile(file, []byte(yaml), 0o644)
	out := filepath.Join(dir, "two.csv")
	text := runOK(t, "run", file, "--series", out, "-i", "250ms")
	rows := readSeriesCSV(t, out)
	var drops, deliv int64
	for _, r := range rows {
		if r["interval_s"] != "0.05" && r["interval_s"] != "" && r != nil {
			f, _ := strconv.ParseFloat(r["interval_s"], 64)
			if f > 0.05 {
				t.Fatalf("interval %s > the file's sample 50ms", r["interval_s"])
			}
		}
		if r["kind"] == "link" && r["from"] == "a" {
			drops += atoi(t, r["drops_queue"])
		}
		if r["kind"] == "conn" && r["node"] == "a" {
			deliv += atoi(t, r["delivered_bytes"])
		}
	}
	if drops == 0 || deliv != 200_000 {
		t.Errorf("queue drops %d, delivered %d", drops, deliv)
	}
	if !strings.Contains(text, "[  1]   0.000-0.250   sec") {
		t.Errorf("no interval lines:\n%s", text)
	}
}

func TestSeriesFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"transfer", "--series", "x.txt"}, "ending in .csv or .json"},
		{[]string{"transfer", "--sample", "5ms"}, "--sample needs --series"},
		{[]string{"get", "http://server.example/", "--series", "x.csv", "--sample", "0s"}, "--sample 0s: must be positive"},
		{[]string{"transfer", "--series", "x.csv", "--sample", "1ns"}, "more than 10000000 samples"},
		{[]string{"transfer", "--series", "no/such/dir/x.csv"}, "--series no/such/dir/x.csv"},
		{[]string{"get", "http://server.example/", "-i", "0s"}, "--interval 0"},
		{[]string{"run", "x.yaml", "--series", "x.pcap"}, "ending in .csv or .json"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%q: status %d, stderr %q; want %d and %q", c.args, code, stderr.String(), exitUsage, c.want)
		}
	}
}

// The report's link chart counts the drops the --series file counts, from
// the same sampler.
func TestReportLinkChart(t *testing.T) {
	dir := t.TempDir()
	page, ser := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.csv")
	runOK(t, "transfer", "--size", "400KB", "--flows", "3", "--queue", "15", "--report", page, "--series", ser)
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	var drops int64
	for _, r := range readSeriesCSV(t, ser) {
		if r["kind"] == "link" && r["from"] == "client" {
			drops += atoi(t, r["drops"])
		}
	}
	want := fmt.Sprintf("link wire, client → server: queue length (%d drops, 0 CE marks)", drops)
	if drops == 0 || !bytes.Contains(html, []byte(want)) || !bytes.Contains(html, []byte(`<svg id="queue-1"`)) {
		t.Errorf("the report lacks %q (the series counts %d drops)", want, drops)
	}
}

// docs/scenarios.md shows an excerpt of the dumbbell's -i lines and of its
// --series file: every line shown is in the real output, in order.
func TestDumbbellSeriesDocs(t *testing.T) {
	doc, err := os.ReadFile("../../docs/scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(marker string) []string {
		t.Helper()
		i := bytes.Index(doc, []byte(marker))
		if i < 0 {
			t.Fatalf("docs/scenarios.md has no %q", marker)
		}
		m := regexp.MustCompile("(?s)```[a-z]*\n(.*?)```").FindSubmatch(doc[i:])
		if m == nil {
			t.Fatalf("no code block after %q", marker)
		}
		return strings.Split(strings.TrimSuffix(string(m[1]), "\n"), "\n")
	}
	inOrder := func(what string, shown, real []string) {
		t.Helper()
		j, n := 0, 0
		for _, line := range shown {
			if strings.TrimSpace(line) == "…" || strings.HasPrefix(line, "$ ") {
				continue
			}
			for j < len(real) && real[j] != line {
				j++
			}
			if j == len(real) {
				t.Fatalf("%s: the excerpt's line %q is not in the output (in that order)", what, line)
			}
			n++
		}
		if n < 5 {
			t.Fatalf("%s: only %d lines shown", what, n)
		}
	}
	csvFile := filepath.Join(t.TempDir(), "dumbbell.csv")
	t.Chdir("../..")
	out := runOK(t, "run", "docs/examples/dumbbell.yaml", "-i", "1s", "--series", csvFile, "--sample", "100ms")
	inOrder("-i lines", block("<!-- output: tcpsim run docs/examples/dumbbell.yaml -i 1s --series dumbbell.csv --sample 100ms -->"), strings.Split(out, "\n"))
	data, err := os.ReadFile(csvFile)
	if err != nil {
		t.Fatal(err)
	}
	inOrder("dumbbell.csv", block("<!-- series: dumbbell.csv -->"), strings.Split(string(data), "\n"))
}

// With --report and --series, the page's cwnd line is drawn from the
// file's samples: one point per row of the sender's connection.
func TestReportUsesSeries(t *testing.T) {
	dir := t.TempDir()
	page, ser := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.csv")
	runOK(t, "transfer", "--size", "300KB", "--report", page, "--series", ser, "--sample", "25ms")
	html, _ := os.ReadFile(page)
	rows := 0
	var cwnd []string
	for _, r := range readSeriesCSV(t, ser) {
		if r["kind"] == "conn" && r["node"] == "client" {
			rows++
			cwnd = append(cwnd, r["cwnd_bytes"])
		}
	}
	m := regexp.MustCompile(`<path class="cwnd" d="M([^"]*)"`).FindSubmatch(html)
	if m == nil {
		t.Fatal("no cwnd line in the report")
	}
	if pts := len(strings.Fields(string(m[1]))) / 2; rows < 10 || pts != rows {
		t.Errorf("the cwnd line has %d points, the series %d rows of the client", pts, rows)
	}
	if !bytes.Contains(html, []byte("(sampled every 25ms)")) {
		t.Error("the report does not give the series' period")
	}
}

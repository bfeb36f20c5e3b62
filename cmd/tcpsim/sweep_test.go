package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sweepYAML = `name: pair
seed: 1
hosts: [{name: a}, {name: b, listen: [{port: 9}]}]
links: [{name: l, a: a, b: b, rate: 10mbit, delay: 5ms, queue: 20}]
flows: [{from: a, to: b, port: 9, size: 300KB, count: 3}]
`

func sweepFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pair.yaml")
	if err := os.WriteFile(p, []byte(sweepYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The table has a row per grid point and seed, in order; the number of
// jobs changes nothing; the shards merged give the unsharded output byte
// for byte, in every format.
func TestSweepShardMerge(t *testing.T) {
	file := sweepFile(t)
	args := []string{"sweep", file, "--seeds", "1-3", "--set", "links[l].rate=2mbit,10mbit", "--set", "flows[0].size=100KB,300KB"}
	whole := runOK(t, append(args, "--jobs", "1")...)
	if par := runOK(t, append(args, "--jobs", "4")...); par != whole {
		t.Errorf("--jobs 4 printed another table:\n%s\nthan --jobs 1:\n%s", par, whole)
	}
	lines := strings.Split(strings.TrimSpace(whole), "\n")
	if !strings.Contains(lines[1], "2 values of links[l].rate × 2 values of flows[0].size × 3 seed(s) = 12 runs") || len(lines) != 4+12+2+6 {
		t.Fatalf("table:\n%s", whole)
	}
	// Row 1: the first value of each set, the first seed; row 4 the
	// second size; the slower rate makes the same size take longer.
	if f := strings.Fields(lines[4]); len(f) < 6 || strings.Join(f[:6], " ") != "1 2mbit 100KB 1 3 0" {
		t.Errorf("row 1: %s", lines[4])
	}
	if f := strings.Fields(lines[7]); len(f) < 4 || strings.Join(f[:4], " ") != "4 2mbit 300KB 1" {
		t.Errorf("rows:\n%s\n%s", lines[4], lines[7])
	}
	wholeJSON := runOK(t, append(args, "--json")...)
	wholeCSV := runOK(t, append(args, "--csv")...)
	dir := t.TempDir()
	var shards []string
	for i := 1; i <= 5; i++ {
		out := runOK(t, append(args, "--shard", strings.Repeat("", 0)+itoa(i)+"/5", "--json")...)
		name := filepath.Join(dir, "s"+itoa(i)+".json")
		os.WriteFile(name, []byte(out), 0o644)
		shards = append(shards, name)
	}
	// Given in any order.
	rev := []string{shards[3], shards[0], shards[4], shards[2], shards[1]}
	if got := runOK(t, append([]string{"merge"}, rev...)...); got != whole {
		t.Errorf("merge printed:\n%s\nthe sweep:\n%s", got, whole)
	}
	if got := runOK(t, append([]string{"merge", "--json"}, shards...)...); got != wholeJSON {
		t.Errorf("merge --json differs from the sweep's")
	}
	if got := runOK(t, append([]string{"merge", "--csv"}, shards...)...); got != wholeCSV {
		t.Errorf("merge --csv differs from the sweep's")
	}
	for _, c := range []struct {
		files []string
		want  string
	}{
		{shards[:4], "2 of the sweep's 12 runs are missing (runs 5, 10…)"},
		{[]string{shards[0], shards[0]}, "two shards overlap"},
		{[]string{file}, "not a tcpsim sweep --json document"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"merge"}, c.files...), &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("merge %v: status %d, %q; want %q", c.files, code, stderr.String(), c.want)
		}
	}
	other := runOK(t, "sweep", file, "--seeds", "1-2", "--json")
	name := filepath.Join(dir, "other.json")
	os.WriteFile(name, []byte(other), 0o644)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"merge", shards[0], name}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "from another sweep") {
		t.Errorf("merge of two sweeps: status %d, %q", code, stderr.String())
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

// The seed of a row is the run's: the sweep's row for seed 1 at the file's
// settings is tcpsim run's summary.
func TestSweepRowIsTheRun(t *testing.T) {
	file := sweepFile(t)
	js := runOK(t, "run", file, "--json")
	sw := runOK(t, "sweep", file, "--json")
	// The summary block of the run appears in the sweep's document (its
	// indentation deeper).
	i := strings.Index(js, `"summary": {`)
	for _, l := range strings.Split(strings.TrimSpace(js[i:]), "\n")[1:12] {
		if !strings.Contains(sw, strings.TrimSpace(l)) {
			t.Errorf("the sweep lacks the run's %s", strings.TrimSpace(l))
		}
	}
}

func TestSweepErrors(t *testing.T) {
	file := sweepFile(t)
	for _, c := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"--shard", "6/5"}, "--shard 6/5: want i/N", exitUsage},
		{[]string{"--set", "links[l].rat=1mbit"}, `links[l].rat: "rat": unknown field`, exitUsage},
		{[]string{"--set", "links[l].rate=1mbit,fast"}, `links[l].rate: "fast": want a rate`, exitUsage},
		{[]string{"--set", "flows[0].port=10"}, "flows[0].port: 10: host b does not listen on it", exitUsage},
		{[]string{"--set", "rate"}, "want PATH=V1,V2", exitUsage},
		{[]string{"--set", "seed=1,2"}, "the seeds are --seeds's (--seeds 1,2)", exitUsage},
		{[]string{"--set", "links[l].rate=1mbit", "--set", "links[l].rate=2mbit"}, "set twice", exitUsage},
		{[]string{"--seeds", "5-2"}, "--seeds 5-2", exitUsage},
		{[]string{"--jobs", "0"}, "--jobs 0", exitUsage},
		{[]string{"--set", "timeout=100ms"}, "run 1 (seed 1, timeout=100ms) failed: sim: virtual time limit", exitFailure},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"sweep", file}, c.args...), &stdout, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("sweep %q: status %d, %q; want %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}

// docs/scenarios.md shows the dumbbell sweep's table as it prints.
func TestSweepDocs(t *testing.T) {
	doc, err := os.ReadFile("../../docs/scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	marker := "<!-- output: tcpsim sweep docs/examples/dumbbell.yaml --seeds 1-4 --set links[bottleneck].loss=0,1% -->\n```\n$ tcpsim sweep docs/examples/dumbbell.yaml --seeds 1-4 --set links[bottleneck].loss=0,1%\n"
	i := bytes.Index(doc, []byte(marker))
	if i < 0 {
		t.Fatal("docs/scenarios.md has no sweep output block")
	}
	rest := doc[i+len(marker):]
	shown := string(rest[:bytes.Index(rest, []byte("```"))])
	t.Chdir("../..")
	got := runOK(t, "sweep", "docs/examples/dumbbell.yaml", "--seeds", "1-4", "--set", "links[bottleneck].loss=0,1%", "--jobs", "2")
	if got != shown {
		t.Errorf("docs/scenarios.md shows:\n%s\nthe sweep prints:\n%s", shown, got)
	}
	// Without loss the seed changes only sequence numbers, ports and
	// timestamp offsets, which TCP's behaviour must not depend on: runs 1-4
	// are the same but for their number and seed.
	var rows []string
	for _, line := range strings.Split(got, "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == "0" {
			rows = append(rows, strings.Join(f[3:], " "))
		}
	}
	if len(rows) != 4 || rows[0] != rows[1] || rows[0] != rows[2] || rows[0] != rows[3] {
		t.Errorf("the loss-free runs differ by seed: %q", rows)
	}
}

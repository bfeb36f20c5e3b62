package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/scenario"
)

const dumbbell = "../../docs/examples/dumbbell.yaml"

// The dumbbell of docs/scenarios.md runs: six flows, three CUBIC and three
// NewReno, all complete; the same seed gives the same JSON bytes, another
// seed other bytes.
func TestRunDumbbell(t *testing.T) {
	out := runOK(t, "run", dumbbell, "--json")
	var doc scenarioDoc
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out)
	}
	if doc.Command != "run" || doc.Seed != 1 || len(doc.Flows) != 6 || doc.Error != "" {
		t.Fatalf("command %q seed %d flows %d error %q", doc.Command, doc.Seed, len(doc.Flows), doc.Error)
	}
	ccs := map[string]int{}
	for i, f := range doc.Flows {
		if f.Flow != i+1 || f.Status != "completed" || f.Bytes[0] != 2e6 || f.FCT <= 0 || f.Goodput <= 0 || f.App != "bulk" || f.To != "server" {
			t.Errorf("flow %d: %+v", i+1, f)
		}
		if want := map[string]string{"cubic": "cubic", "reno": "newreno"}[strings.TrimRight(f.From, "123")]; f.CC != want {
			t.Errorf("flow %d from %s runs %s", i+1, f.From, f.CC)
		}
		ccs[f.CC]++
	}
	if ccs["cubic"] != 3 || ccs["newreno"] != 3 {
		t.Errorf("congestion controls %v", ccs)
	}
	if s := doc.Summary; s.Completed != 6 || s.Failed != 0 || s.Drops == 0 || s.Jain < 0.5 || s.Goodput < 8e6 || s.Goodput > 10e6 {
		t.Errorf("summary %+v", s)
	}
	if again := runOK(t, "run", dumbbell, "--json"); again != out {
		t.Error("the same scenario and seed gave different JSON")
	}
	if other := runOK(t, "run", dumbbell, "--json", "--seed", "2"); other == out || !strings.Contains(other, `"seed": 2,`) {
		t.Error("--seed 2 gave the same JSON as seed 1, or did not replace the scenario's seed")
	}
	csv := runOK(t, "run", dumbbell, "--csv")
	if lines := strings.Split(strings.TrimSpace(csv), "\n"); len(lines) != 7 || lines[0] != strings.Join(csvHeader, ",") {
		t.Errorf("CSV:\n%s", csv)
	}
}

// A scenario with a problem is bad input: status 2 and one line per
// problem with file:line:col. A flow that fails gives status 1.
func TestRunExitStatus(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o666); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.yaml", "hosts:\n  - name: a\n  - name: b\nlinks:\n  - {a: a, b: b}\nflows:\n  - {from: a, to: c, port: 80, size: 1KB}\n  - {from: a, to: b, port: 80, size: 1KB}\n")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"run", bad}, &stdout, &stderr); code != exitUsage {
		t.Errorf("invalid scenario: exit status %d, want %d", code, exitUsage)
	}
	for _, want := range []string{
		bad + `:7:19: flows[0].to: "c": no host has this name (known: a, b)`,
		bad + `:8:28: flows[1].port: 80: host b does not listen on it`,
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("an invalid scenario printed %q", stdout.String())
	}

	crash := write("crash.yaml", "timeout: 5s\nhosts:\n  - name: a\n  - name: b\n    listen: [{port: 80}]\nlinks:\n  - {a: a, b: b, rate: 1mbit, delay: 5ms}\nflows:\n  - {from: a, to: b, port: 80, size: 1MB}\nevents:\n  - {at: 1s, crash: b}\n")
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"run", crash}, &stdout, &stderr); code != exitFailure {
		t.Errorf("crashed server: exit status %d, want %d\n%s", code, exitFailure, stderr.String())
	}
	if !strings.Contains(stdout.String(), "flows: 1, 0 completed, 1 failed") || !strings.Contains(stderr.String(), "time limit") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"run", filepath.Join(dir, "missing.yaml")}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "no such file") {
		t.Errorf("missing file: status %d, %s", code, stderr.String())
	}
}

// The scenario format reads values with the command line's words: its
// parsers agree with the flags' on every form either documents.
func TestScenarioUnitsMatchFlags(t *testing.T) {
	for _, s := range []string{"10mbit", "512kbit", "1gbit", "1.5Mbit", "100bps", "3kibit", "0", "unlimited", "10", "mbit", "-1mbit", "0.0001bit"} {
		var f flagval.Rate
		ferr := f.Set(s)
		v, err := scenario.ParseRate(s)
		if (ferr == nil) != (err == nil) || (err == nil && int64(f) != int64(v)) {
			t.Errorf("rate %q: flag %d (%v), scenario %d (%v)", s, int64(f), ferr, int64(v), err)
		}
	}
	for _, s := range []string{"1%", "0.5%", "5", "100%", "101%", "-1", "x"} {
		var f flagval.Percent
		ferr := f.Set(s)
		v, err := scenario.ParsePercent(s)
		if (ferr == nil) != (err == nil) || (err == nil && float64(f) != float64(v)) {
			t.Errorf("percent %q: flag %v (%v), scenario %v (%v)", s, float64(f), ferr, float64(v), err)
		}
	}
	for _, s := range []string{"1500", "64KiB", "100MB", "1k", "1.5KB", "1.5B", "2GiB", "-1", "x"} {
		fv, ferr := flagval.ParseSize(s)
		v, err := scenario.ParseSize(s)
		if (ferr == nil) != (err == nil) || (err == nil && fv != int64(v)) {
			t.Errorf("size %q: flag %d (%v), scenario %d (%v)", s, fv, ferr, int64(v), err)
		}
	}
}

// docs/scenarios.md shows the dumbbell file as it is, the table its run
// prints, and an excerpt of its JSON whose lines all appear, in order, in
// the real document.
func TestScenarioDocs(t *testing.T) {
	doc, err := os.ReadFile("../../docs/scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(marker string) string {
		t.Helper()
		i := bytes.Index(doc, []byte(marker))
		if i < 0 {
			t.Fatalf("docs/scenarios.md has no %q", marker)
		}
		m := regexp.MustCompile("(?s)```[a-z]*\n(.*?)```").FindSubmatch(doc[i:])
		if m == nil {
			t.Fatalf("no code block after %q", marker)
		}
		return string(m[1])
	}
	file, err := os.ReadFile(dumbbell)
	if err != nil {
		t.Fatal(err)
	}
	if got := block("<!-- example: docs/examples/dumbbell.yaml -->"); got != string(file) {
		t.Errorf("docs/scenarios.md shows another dumbbell.yaml than docs/examples/dumbbell.yaml:\n%s", got)
	}
	t.Chdir("../..")
	want := runOK(t, "run", "docs/examples/dumbbell.yaml")
	if got := block("<!-- output: tcpsim run docs/examples/dumbbell.yaml -->"); got != "$ tcpsim run docs/examples/dumbbell.yaml\n"+want {
		t.Errorf("docs/scenarios.md shows:\n%s\nbut the run prints:\n%s", got, want)
	}
	js := strings.Split(runOK(t, "run", "docs/examples/dumbbell.yaml", "--json"), "\n")
	excerpt := block("<!-- output: tcpsim run docs/examples/dumbbell.yaml --json -->")
	j := 0
	for _, line := range strings.Split(strings.TrimSuffix(excerpt, "\n"), "\n") {
		if strings.TrimSpace(line) == "…" || strings.HasPrefix(line, "$ ") {
			continue
		}
		for j < len(js) && js[j] != line {
			j++
		}
		if j == len(js) {
			t.Fatalf("the JSON excerpt's line %q is not in the output (in that order)", line)
		}
	}
}

// A host with timestamps off whose flow's path is fast enough to wrap the
// sequence space within an MSL draws transfer's warning, naming the link
// that bounds the path (the 1 Gbit/s core, not the 10 Gbit/s access
// link); with timestamps on, or a core below 2^31 bytes per MSL, none.
func TestRunSeqWrapWarning(t *testing.T) {
	const file = `name: wrap
hosts:
  - {name: client, tcp: {timestamps: TS}}
  - name: server
    listen: [{port: 5001, app: sink}]
routers:
  - {name: r}
links:
  - {name: access, a: client, b: r, rate: 10gbit, delay: 1ms}
  - {name: core, a: r, b: server, rate: CORE, delay: 1ms}
flows:
  - {from: client, to: server, port: 5001, size: 200KB}
`
	dir := t.TempDir()
	for _, c := range []struct {
		ts, core string
		want     string // the warning's start; "" for none
	}{
		{"off", "1gbit", "tcpsim: warning: host client has timestamps off and its connections to server can run at 1gbit, the rate of link core, the slowest of their path: the sequence space can wrap within the MSL (30s)"},
		{"on", "1gbit", ""},
		{"off", "500mbit", ""},
	} {
		path := filepath.Join(dir, "wrap-"+c.ts+"-"+c.core+".yaml")
		if err := os.WriteFile(path, []byte(strings.NewReplacer("TS", c.ts, "CORE", c.core).Replace(file)), 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := run([]string{"run", path}, &stdout, &stderr); code != exitOK {
			t.Fatalf("timestamps %s, core %s: exit status %d\n%s", c.ts, c.core, code, stderr.String())
		}
		got := stderr.String()
		switch {
		case c.want == "" && got != "":
			t.Errorf("timestamps %s, core %s: stderr %q, want none", c.ts, c.core, got)
		case c.want != "" && (!strings.HasPrefix(got, c.want) || strings.Count(got, "\n") != 1):
			t.Errorf("timestamps %s, core %s: stderr\n%q\nwant one line starting\n%q", c.ts, c.core, got, c.want)
		}
		if !strings.Contains(stdout.String(), "network: 2 hosts, 1 routers, 2 links") {
			t.Errorf("timestamps %s, core %s: the run printed\n%s", c.ts, c.core, stdout.String())
		}
	}
}

package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// --qdisc: bad values exit 2 with one line naming the parameter and the
// value; --queue with --qdisc is refused.
func TestQdiscFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"transfer", "--qdisc", "sfq"}, `"sfq" for "--qdisc" flag: qdisc = "sfq" (unknown`},
		{[]string{"transfer", "--qdisc", "codel target -5ms"}, "codel: target = -5ms"},
		{[]string{"transfer", "--qdisc", "fq_codel limit 0"}, "fq_codel: limit = 0"},
		{[]string{"transfer", "--qdisc", "pie speed 3"}, `unknown parameter "speed"`},
		{[]string{"transfer", "--qdisc", "codel", "--queue", "50"}, `--queue 50 and --qdisc "codel" are exclusive`},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != exitUsage {
			t.Errorf("run(%q) = %d, want %d; stderr:\n%s", c.args, code, exitUsage, stderr.String())
		}
		lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("run(%q): stderr %q, want one line containing %q", c.args, stderr.String(), c.want)
		}
	}
}

// A bulk transfer over 10 Mbit/s with a deep buffer: with drop-tail the RTT
// under load is hundreds of milliseconds; with --qdisc fq_codel it stays
// within a few target delays of the 20 ms base RTT. The link line names the
// discipline with its defaults.
func TestQdiscFlagTransfer(t *testing.T) {
	avgRTT := func(args ...string) (float64, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append([]string{"transfer", "--size", "4MB", "--rate", "10mbit", "--delay", "10ms", "--sndbuf", "1MiB", "--rcvbuf", "1MiB"}, args...)
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Fatalf("run(%q) = %d; stderr:\n%s", args, code, stderr.String())
		}
		m := regexp.MustCompile(`data min/avg/max [0-9.]+/([0-9.]+)/`).FindStringSubmatch(stdout.String())
		if m == nil {
			t.Fatalf("no RTT line in:\n%s", stdout.String())
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v, stdout.String()
	}
	dt, _ := avgRTT("--queue", "1000")
	fq, out := avgRTT("--qdisc", "fq_codel")
	t.Logf("average RTT under load: drop-tail %.1f ms, fq_codel %.1f ms", dt, fq)
	// Measured with the linux profile (CUBIC, RACK): 219 ms and 42 ms.
	if dt < 200 || fq > 50 || dt < 4*fq {
		t.Errorf("average RTT drop-tail %.1f ms (want > 200), fq_codel %.1f ms (want < 50 and a quarter of drop-tail's)", dt, fq)
	}
	if !strings.Contains(out, "qdisc fq_codel limit 10240 flows 1024 quantum 1514 target 5ms interval 100ms ecn") {
		t.Errorf("link line does not describe the discipline:\n%s", out)
	}
	if !strings.Contains(out, "dropped (fq_codel)") {
		t.Errorf("no fq_codel drops reported:\n%s", out)
	}
}

// ECN end to end: through CoDel with ECN marking, --ecn on turns its drops
// into CE marks that the sender answers without retransmitting; --ecn off
// leaves CoDel dropping.
func TestECNThroughCoDel(t *testing.T) {
	args := []string{"transfer", "--size", "4MB", "--rate", "10mbit", "--delay", "10ms", "--sndbuf", "1MiB", "--rcvbuf", "1MiB", "--qdisc", "codel ecn"}
	on := runOK(t, append(args, "--ecn", "on")...)
	off := runOK(t, append(args, "--ecn", "off")...)
	if !strings.Contains(on, "retransmits  client 0, server 0") || !strings.Contains(on, "link faults  none") {
		t.Errorf("--ecn on: want no retransmission and no drop:\n%s", on)
	}
	if !strings.Contains(off, "dropped (codel)") {
		t.Errorf("--ecn off: want CoDel drops:\n%s", off)
	}
	v := runOK(t, append(args, "--ecn", "on", "-v", "--size", "1MB")...)
	if !strings.Contains(v, "MARKED CE") || !strings.Contains(v, "Flags [.E]") {
		t.Errorf("-v shows no CE mark or ECE echo")
	}
}

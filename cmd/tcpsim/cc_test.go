package main

import (
	"bytes"
	"strings"
	"testing"
)

// --cc names the congestion control; an unknown name is a usage error
// (status 2) that lists the known ones, on both simulated commands.
func TestCCFlagUnknown(t *testing.T) {
	for _, args := range [][]string{
		{"transfer", "--cc", "bbr"},
		{"get", "http://server.example/", "--cc", "Cubic"},
		{"transfer", "--cc", ""},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitUsage {
			t.Fatalf("run(%q) = %d, want %d; stderr:\n%s", args, code, exitUsage, stderr.String())
		}
		first := strings.SplitN(stderr.String(), "\n", 2)[0]
		if !strings.Contains(first, `for "--cc"`) || !strings.Contains(first, "known: newreno, cubic") {
			t.Errorf("run(%q): first line %q does not name --cc and the known algorithms", args, first)
		}
		if stdout.Len() != 0 {
			t.Errorf("stdout not empty on a usage error:\n%s", stdout.String())
		}
	}
}

// --cc cubic reaches the stack: the header says so, and the same seed over
// a lossy link gives a different run than --cc newreno (whose output, like
// the default's, has no tcp line).
func TestCCFlagChoosesAlgorithm(t *testing.T) {
	out := map[string]string{}
	for _, cc := range []string{"", "newreno", "cubic"} {
		args := []string{"transfer", "--size", "300KB", "--loss", "2%", "--seed", "3"}
		if cc != "" {
			args = append(args, "--cc", cc)
		}
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Fatalf("run(%q) = %d; stderr:\n%s", args, code, stderr.String())
		}
		out[cc] = stdout.String()
	}
	if strings.Contains(out[""], "tcp:") {
		t.Errorf("default output has a tcp line:\n%s", out[""])
	}
	if !strings.Contains(out["cubic"], "tcp: cubic congestion control") {
		t.Errorf("--cc cubic output does not say so:\n%s", out["cubic"])
	}
	strip := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(l, "tcp:") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if strip(out["newreno"]) != out[""] {
		t.Errorf("--cc newreno differs from the default:\n%s\nvs\n%s", out["newreno"], out[""])
	}
	if strip(out["cubic"]) == out[""] {
		t.Errorf("--cc cubic ran exactly as newreno: the flag did not reach the stack")
	}
}

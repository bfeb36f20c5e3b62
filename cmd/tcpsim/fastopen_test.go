package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var firstByteRe = regexp.MustCompile(`first byte from the server ([0-9.]+) ms after connect`)

// get --fastopen: the second connection's request rides the SYN, and the
// server's first byte comes one round trip (twice the one-way delay)
// sooner than on the first connection, for http and https, at two delays.
func TestGetFastOpenSavesOneRTT(t *testing.T) {
	for _, tc := range []struct {
		url   string
		delay time.Duration
	}{
		{"http://server.example/", 25 * time.Millisecond},
		{"http://server.example/", 60 * time.Millisecond},
		{"https://server.example/", 25 * time.Millisecond},
		{"https://server.example/", 60 * time.Millisecond},
	} {
		out, errs, code := getOut(t, tc.url, "--fastopen", "--delay", tc.delay.String())
		if code != exitOK {
			t.Fatalf("get %s --fastopen: exit %d\n%s%s", tc.url, code, out, errs)
		}
		m := firstByteRe.FindAllStringSubmatch(out, -1)
		if len(m) != 2 {
			t.Fatalf("get %s --fastopen: %d first-byte lines, want 2:\n%s", tc.url, len(m), out)
		}
		first, _ := strconv.ParseFloat(m[0][1], 64)
		second, _ := strconv.ParseFloat(m[1][1], 64)
		rtt := float64(2*tc.delay) / float64(time.Millisecond)
		// The link's serialization adds a little to each exchange; the
		// saving is the handshake's round trip within 2 ms.
		if saved := first - second; saved < rtt-2 || saved > rtt+2 {
			t.Errorf("get %s --fastopen --delay %v: first bytes at %.1f and %.1f ms: saved %.1f ms, want one RTT (%.0f ms)\n%s",
				tc.url, tc.delay, first, second, saved, rtt, out)
		}
		for _, want := range []string{"SYN: asks for a cookie (an empty Fast Open option)", "the server took them with the SYN", "saved: ", "(1.00 RTT) earlier"} {
			if !strings.Contains(out, want) {
				t.Errorf("get %s --fastopen: output lacks %q:\n%s", tc.url, want, out)
			}
		}
	}
}

// --fastopen with a flag that draws a single connection is a usage error.
func TestGetFastOpenBadFlags(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{"--ladder", "--ladder does not apply with --fastopen"},
		{"--objects 3", "--objects and --fastopen are exclusive"},
		{"--compare", "--compare and --fastopen are exclusive"},
		{"--repeat 2", "--repeat and --fastopen are exclusive"},
	} {
		_, errs, code := getOut(t, append([]string{"http://server.example/", "--fastopen"}, strings.Fields(c.args)...)...)
		if code != exitUsage || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 1 {
			t.Errorf("--fastopen %s: exit %d, stderr %q; want %d and %q", c.args, code, errs, exitUsage, c.want)
		}
	}
}

// The same seed prints the same story, ports and times included.
func TestGetFastOpenDeterministic(t *testing.T) {
	a, _, ca := getOut(t, "http://server.example/", "--fastopen", "--loss", "10%", "--seed", "5")
	b, _, cb := getOut(t, "http://server.example/", "--fastopen", "--loss", "10%", "--seed", "5")
	if ca != exitOK || cb != exitOK || a != b {
		t.Fatalf("two runs with seed 5 differ (exit %d, %d):\n%s\n---\n%s", ca, cb, a, b)
	}
}

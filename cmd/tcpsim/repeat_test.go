package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fetchLine is one line of --repeat's table: fetch number, start, client
// port, TIME_WAIT count.
var fetchLine = regexp.MustCompile(`(?m)^\s*(\d+)\s+([\d.]+)\s+10\.0\.0\.1:(\d+) -> 10\.0\.0\.2:80\s+[\d.]+\s+[\d.]+\s+(\d+)$`)

type fetchRow struct {
	n, port, timeWait int
	start             float64
}

func fetchRows(t *testing.T, out string) []fetchRow {
	t.Helper()
	var rows []fetchRow
	for _, m := range fetchLine.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		start, _ := strconv.ParseFloat(m[2], 64)
		port, _ := strconv.Atoi(m[3])
		tw, _ := strconv.Atoi(m[4])
		rows = append(rows, fetchRow{n, port, tw, start})
	}
	return rows
}

// With a range of 10 ports and a TIME_WAIT of 60 s, ten fetches take every
// port; the eleventh connect fails with exit status 1, naming the range,
// the connections holding it and when the first one frees.
func TestRepeatExhaustsPorts(t *testing.T) {
	args := []string{"get", "http://server.example/", "--repeat", "12", "--ports", "40000-40009"}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != exitFailure {
		t.Fatalf("exit status %d, want %d; stderr:\n%s", code, exitFailure, stderr.String())
	}
	out := stdout.String()
	rows := fetchRows(t, out)
	if len(rows) != 10 {
		t.Fatalf("%d fetches with a connection, want 10:\n%s", len(rows), out)
	}
	ports := map[int]bool{}
	for i, r := range rows {
		if r.port < 40000 || r.port > 40009 || ports[r.port] {
			t.Errorf("fetch %d: client port %d outside 40000-40009 or used twice", r.n, r.port)
		}
		ports[r.port] = true
		if i > 0 && r.timeWait < rows[i-1].timeWait {
			t.Errorf("fetch %d: TIME_WAIT count fell from %d to %d within 60 s", r.n, rows[i-1].timeWait, r.timeWait)
		}
	}
	// Each connection is in TIME_WAIT by the time the next-but-one starts.
	if got := rows[9].timeWait; got < 8 {
		t.Errorf("fetch 10 started with %d connections in TIME_WAIT, want at least 8", got)
	}
	if !strings.Contains(out, "   11 ") || !strings.Contains(out, "(no connection)") || !strings.Contains(out, "10 of 12 fetches completed") {
		t.Errorf("the table does not show fetch 11 failing and 10 of 12 completed:\n%s", out)
	}
	if !strings.Contains(out, "TCP connections on the link: 10; ") {
		t.Errorf("the totals do not count the 10 connections (the 11th sent no SYN):\n%s", out)
	}
	lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("stderr has %d lines, want 1:\n%s", len(lines), stderr.String())
	}
	m := regexp.MustCompile(`^tcpsim: fetch 11 of 12 at ([\d.]+) s: .*no free ephemeral port in 40000-40009 \(10 ports\) for the server's address and port: (\d+) connections in TIME_WAIT(, (\d+) in FIN_WAIT_[12])?, the first frees at ([\d.]+) s$`).FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("error line %q does not explain the exhaustion", lines[0])
	}
	tw, _ := strconv.Atoi(m[2])
	other, _ := strconv.Atoi(m[4])
	if tw+other != 10 || tw < 9 {
		t.Errorf("%d in TIME_WAIT and %d closing, want 10 connections holding the 10 ports, at least 9 in TIME_WAIT", tw, other)
	}
	at, _ := strconv.ParseFloat(m[1], 64)
	frees, _ := strconv.ParseFloat(m[5], 64)
	// The first connection entered TIME_WAIT after fetch 1 started and
	// before fetch 2 ended; it frees 2×MSL = 60 s later.
	if frees < rows[0].start+60 || frees > rows[2].start+60 || at > 60 {
		t.Errorf("the first TIME_WAIT frees at %.6f s, want within 60 s of fetches 1-2 (%.6f, %.6f); failure at %.6f s", frees, rows[0].start, rows[2].start, at)
	}
	// Deterministic per seed.
	var again bytes.Buffer
	run(args, &again, &bytes.Buffer{})
	if again.String() != out {
		t.Error("the same seed printed another table")
	}
}

// A range that suffices serves every fetch, each on its own port, and
// exits 0.
func TestRepeatWithinRange(t *testing.T) {
	out := runOK(t, "get", "http://server.example/", "--repeat", "5", "--ports", "40000-40004", "--dns", "off")
	rows := fetchRows(t, out)
	if len(rows) != 5 || !strings.Contains(out, "5 of 5 fetches completed") {
		t.Fatalf("want 5 completed fetches:\n%s", out)
	}
	seen := map[int]bool{}
	for _, r := range rows {
		if seen[r.port] {
			t.Errorf("port %d used twice", r.port)
		}
		seen[r.port] = true
	}
	if !strings.Contains(out, "TCP connections on the link: 5; ") {
		t.Errorf("the totals do not count 5 connections:\n%s", out)
	}
	if !strings.Contains(out, "TIME_WAIT for 2×MSL = 1m0s") {
		t.Errorf("the header does not give TIME_WAIT's length:\n%s", out)
	}
}

// Past 2×MSL the first TIME_WAITs expire: the count stops growing at
// about 60 s divided by one fetch's time.
func TestRepeatTimeWaitExpires(t *testing.T) {
	out := runOK(t, "get", "http://server.example/", "--repeat", "700", "--dns", "off")
	rows := fetchRows(t, out)
	if len(rows) != 700 {
		t.Fatalf("%d fetches, want 700", len(rows))
	}
	peak, peakAt := 0, 0.0
	for _, r := range rows {
		if r.timeWait > peak {
			peak, peakAt = r.timeWait, r.start
		}
	}
	last := rows[len(rows)-1]
	if last.start < 70 || peakAt < 59 || peakAt > 62 || last.timeWait > peak {
		t.Errorf("TIME_WAIT peaked at %d at %.3f s, last fetch %.3f s with %d: want the peak near 60 s and no growth after", peak, peakAt, last.start, last.timeWait)
	}
	perFetch := (last.start - rows[0].start) / float64(len(rows)-1)
	if want := 60 / perFetch; float64(peak) < want-2 || float64(peak) > want+2 {
		t.Errorf("TIME_WAIT peak %d, want about 60 s / %.6f s = %.1f", peak, perFetch, want)
	}
}

var (
	holdRe  = regexp.MustCompile(`the second left at ([\d.]+), held ([\d.]+) s`)
	rttRe   = regexp.MustCompile(`one round trip \(([\d.]+) s\)`)
	extraRe = regexp.MustCompile(`and ([\d.]+) s of the server's delayed-ACK timer \((\w+)\)`)
	step6Re = regexp.MustCompile(`(?m)^6\s+([\d.]+)\s+response`)
)

func matchedSeconds(t *testing.T, re *regexp.Regexp, out string, group int) time.Duration {
	t.Helper()
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %v in:\n%s", re, out)
	}
	f, err := strconv.ParseFloat(m[group], 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(f * float64(time.Second))
}

// A request written in two pieces: Nagle's algorithm holds the second
// until the first is acknowledged, and the server, with nothing to send,
// delays that ACK by its timer (200 ms in the rfc profile): the hold is one
// round trip plus the timer. --nodelay sends the second piece at once;
// without delayed ACKs the hold is the round trip alone.
func TestSplitRequestNagleMeetsDelayedAck(t *testing.T) {
	base := []string{"get", "http://server.example/", "--split-request", "--profile", "rfc", "--rcvbuf", "64KiB", "--dns", "off"}
	out := runOK(t, base...)
	hold := matchedSeconds(t, holdRe, out, 2)
	rtt := matchedSeconds(t, rttRe, out, 1)
	if d := hold - rtt - 200*time.Millisecond; d < -2*time.Millisecond || d > 2*time.Millisecond {
		t.Errorf("hold %v, round trip %v: the hold exceeds the round trip by %v, want the 200ms delayed-ACK timer within 2ms:\n%s", hold, rtt, hold-rtt, out)
	}
	if m := extraRe.FindStringSubmatch(out); m == nil || m[2] != "200ms" {
		t.Errorf("step 5 does not name the delayed-ACK timer of 200ms:\n%s", out)
	}
	resp := matchedSeconds(t, step6Re, out, 1)

	fast := runOK(t, append(base, "--nodelay")...)
	if !strings.Contains(fast, "the second left at once (--nodelay: Nagle's algorithm is off)") {
		t.Errorf("--nodelay: the second piece is not sent at once:\n%s", fast)
	}
	if d := resp - matchedSeconds(t, step6Re, fast, 1); d < hold-2*time.Millisecond || d > hold+2*time.Millisecond {
		t.Errorf("--nodelay brings the response %v earlier, want the hold %v", d, hold)
	}

	noDelack := runOK(t, append(base, "--delayed-ack", "off")...)
	if h, r := matchedSeconds(t, holdRe, noDelack, 2), matchedSeconds(t, rttRe, noDelack, 1); h-r > time.Millisecond || h < r {
		t.Errorf("--delayed-ack off: hold %v, want the round trip %v alone", h, r)
	}
}

// With Linux's defaults the server's quick-ACK mode acknowledges the first
// piece at once: the hold is one round trip, no delayed-ACK timer.
func TestSplitRequestLinuxQuickAck(t *testing.T) {
	out := runOK(t, "get", "http://server.example/", "--split-request", "--dns", "off")
	hold, rtt := matchedSeconds(t, holdRe, out, 2), matchedSeconds(t, rttRe, out, 1)
	if hold < rtt || hold-rtt > time.Millisecond || extraRe.MatchString(out) {
		t.Errorf("hold %v, round trip %v: want the round trip alone:\n%s", hold, rtt, out)
	}
}

func TestDemoBadInputs(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--repeat", "0"}, `"0" for "--repeat"`},
		{[]string{"--repeat", "-3"}, `"-3" for "--repeat"`},
		{[]string{"--ports", "5000-4000"}, `"5000-4000" for "--ports" flag: want 1 <= LOW <= HIGH`},
		{[]string{"--ports", "0-100"}, `"0-100" for "--ports"`},
		{[]string{"--ports", "32768"}, `"32768" for "--ports" flag: want a range LOW-HIGH`},
		{[]string{"--ports", "1-65536"}, `"1-65536" for "--ports"`},
		{[]string{"--repeat", "3", "--ladder"}, "--repeat 3 and --ladder are exclusive"},
		{[]string{"--repeat", "3", "--split-request"}, "--repeat 3 and --split-request are exclusive"},
		{[]string{"--repeat", "3", "--report", filepath.Join(t.TempDir(), "x.html")}, "--repeat 3 and --report are exclusive"},
		{[]string{"--repeat", "3", "--tun", "tun0"}, "--repeat does not apply with --tun"},
		{[]string{"--split-request", "--tun", "tun0"}, "--split-request does not apply with --tun"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"get", "http://server.example/"}, c.args...)
		if code := run(args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit status %d, want %d", c.args, code, exitUsage)
		}
		if first, _, _ := strings.Cut(stderr.String(), "\n"); !strings.HasPrefix(first, "tcpsim: ") || !strings.Contains(first, c.want) {
			t.Errorf("%q: first line %q does not contain %q", c.args, first, c.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: stdout not empty on a usage error", c.args)
		}
	}
	for _, args := range [][]string{{"get", "https://server.example/", "--repeat", "2"}, {"get", "https://server.example/", "--split-request"}} {
		var stderr bytes.Buffer
		if code := run(args, &bytes.Buffer{}, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "https://") {
			t.Errorf("%q: exit status %d, stderr %q; want 2 and an error about https://", args, code, stderr.String())
		}
	}
}

// --ports also sets a single get's client port; the rfc profile's MSL of
// 2 minutes makes TIME_WAIT 4 minutes.
func TestPortsAndProfileMSL(t *testing.T) {
	out := runOK(t, "get", "http://server.example/", "--ports", "50000-50000", "--dns", "off")
	if !strings.Contains(out, "connection 10.0.0.1:50000 -> 10.0.0.2:80") {
		t.Errorf("--ports 50000-50000: the connection does not use port 50000:\n%s", out)
	}
	out = runOK(t, "get", "http://server.example/", "--repeat", "2", "--profile", "rfc", "--dns", "off")
	if !strings.Contains(out, "TIME_WAIT for 2×MSL = 4m0s") {
		t.Errorf("--profile rfc: want a TIME_WAIT of 4m0s:\n%s", out)
	}
}

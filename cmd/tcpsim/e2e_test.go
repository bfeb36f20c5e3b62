package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// getArgs is the small seeded GET of the golden test: 5% loss with a seed
// whose decisions drop one data segment, so the output shows a
// retransmission.
//
// It keeps the name in the hosts table (--dns off): its story is the TCP
// connection's, and a DNS exchange first would move the link's seeded loss
// onto other packets. TestGetDNS covers the lookup.
var getArgs = []string{"get", "http://server.example/index.html", "--size", "6KiB", "--loss", "5%", "--seed", "4", "-v", "--dns", "off"}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != exitOK {
		t.Fatalf("tcpsim %s: exit status %d\nstderr: %s\nstdout:\n%s", strings.Join(args, " "), code, stderr.String(), stdout.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr not empty (no terminal, so no progress expected): %q", stderr.String())
	}
	return stdout.String()
}

// goldenArgs are the runs whose whole output is kept in testdata: the
// seeded GET with -v, and the same GET drawn as a ladder (Unicode and
// ASCII) and dumped with -X. Regenerate with go test -update; review the
// diff.
var goldenArgs = []struct {
	file string
	args []string
}{
	{"get_seed4.golden", getArgs},
	{"get_seed4_ladder_unicode.golden", []string{"get", "http://server.example/index.html", "--size", "6KiB", "--loss", "5%", "--seed", "4", "--dns", "off", "--ladder=unicode"}},
	{"get_seed4_ladder_ascii.golden", []string{"get", "http://server.example/index.html", "--size", "6KiB", "--loss", "5%", "--seed", "4", "--dns", "off", "--ladder=ascii"}},
	{"get_hex.golden", []string{"get", "http://server.example/index.html", "--size", "1KiB", "--seed", "4", "--dns", "off", "-X"}},
}

func TestGetGolden(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, g := range goldenArgs {
		got := runOK(t, g.args...)
		golden := filepath.Join("testdata", g.file)
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("tcpsim %s: output differs from %s (-want +got):\n%s", strings.Join(g.args, " "), golden, diff)
		}
	}
	// The story must show the fault and its repair.
	got := runOK(t, getArgs...)
	for _, s := range []string{"DROPPED (loss)", "and 1 retransmission(s)", "three-way handshake", `response "200 OK"`, "connection 10.0.0.1:"} {
		if !strings.Contains(got, s) {
			t.Errorf("output lacks %q", s)
		}
	}
}

// readPcap returns the packets of a capture, failing on a malformed file.
func readPcap(t *testing.T, name string) [][]byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeRaw {
		t.Errorf("link type %v, want raw IP", r.LinkType())
	}
	var pkts [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default)
		if p.Layer(layers.LayerTypeTCP) == nil {
			t.Errorf("packet %d is not IPv4+TCP for gopacket", len(pkts)+1)
		}
		pkts = append(pkts, data)
	}
	return pkts
}

// Same flags and seed: byte-identical stdout and pcap. Another seed:
// different fault decisions and a different capture.
func TestDeterminism(t *testing.T) {
	dir := t.TempDir()
	args := func(seed, pcap string) []string {
		return []string{"get", "http://server.example/", "--dns", "off", "--size", "100KB", "--loss", "10%",
			"--duplicate", "2%", "--reorder", "5%", "--jitter", "2ms", "--seed", seed, "-v", "--pcap", filepath.Join(dir, pcap)}
	}
	out1 := runOK(t, args("11", "a.pcap")...)
	out2 := runOK(t, args("11", "b.pcap")...)
	out3 := runOK(t, args("12", "c.pcap")...)
	strip := func(s string) string { return strings.ReplaceAll(s, dir, "DIR") }
	if diff := cmp.Diff(strip(out1), strip(out2)); diff != "" {
		t.Errorf("second run's stdout differs (-first +second):\n%s", diff)
	}
	a, err := os.ReadFile(filepath.Join(dir, "a.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "b.pcap"))
	c, _ := os.ReadFile(filepath.Join(dir, "c.pcap"))
	if !bytes.Equal(a, b) {
		t.Error("same seed gave different pcap files")
	}
	if bytes.Equal(a, c) {
		t.Error("seeds 11 and 12 gave identical pcap files")
	}
	if n := len(readPcap(t, filepath.Join(dir, "a.pcap"))); n < 70 {
		t.Errorf("capture holds %d packets, want at least the 70 or so a 100 KB GET needs", n)
	}
	// Fault decisions: the virtual times of the drops differ.
	drops := regexp.MustCompile(`(?m)^ *([0-9.]+) link +DROPPED`)
	times := func(s string) string {
		var ts []string
		for _, m := range drops.FindAllStringSubmatch(s, -1) {
			ts = append(ts, m[1])
		}
		return strings.Join(ts, " ")
	}
	if times(out1) == "" {
		t.Fatal("no drops at 10% loss")
	}
	if times(out1) == times(out3) {
		t.Errorf("seeds 11 and 12 dropped packets at the same times: %s", times(out1))
	}
}

// Runs that cannot complete end with a clear message and status 1.
func TestFailuresExitStatus1(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		want   string
		stdout string // in the story printed before the error, if set
	}{
		{"total loss", []string{"get", "http://server.example/", "--dns", "off", "--loss", "100%"}, "connection timed out", "three-way handshake not completed: 7 SYN(s) sent, 7 dropped"},
		{"time limit", []string{"get", "http://server.example/", "--dns", "off", "--loss", "100%", "--timeout", "10s"}, "did not complete within --timeout 10s", "three-way handshake not completed"},
		{"total loss, DNS", []string{"get", "http://server.example/", "--loss", "100%"}, "DNS lookup of server.example timed out: 2 queries to 10.0.0.2:53, none answered within 5s", "2  10.000000  DNS: asked 10.0.0.2:53 for server.example (A): timed out, 2 queries sent 5s apart and none answered\n"},
		{"time limit during DNS", []string{"get", "http://server.example/", "--loss", "100%", "--timeout", "3s"}, "did not complete within --timeout 3s", "2   3.000000  DNS: asked 10.0.0.2:53 for server.example (A): no answer yet when the run ended\n"},
		{"nobody at that address", []string{"get", "http://10.0.0.9/", "--timeout", "5m"}, "connection timed out", "10.0.0.9 is an IP address: no lookup"},
		// The page is streamed: terabytes cost no memory, the time limit ends the run.
		{"huge page, short timeout", []string{"get", "http://server.example/", "--size", "10TB", "--timeout", "2s"}, "did not complete within --timeout 2s",
			`response "200 OK" incomplete: `},
		{"huge transfer, short timeout", []string{"transfer", "--size", "1TB", "--flows", "3", "--timeout", "2s"}, "did not complete within --timeout 2s", "flows: 3, 0 completed, 0 failed, 3 incomplete"},
		{"several flows fail", []string{"transfer", "--size", "1MB", "--flows", "3", "--loss", "100%"}, "3 of 3 flows failed; the first, flow 1: dial tcp", "flows: 3, 0 completed, 3 failed"},
		{"transfer total loss", []string{"transfer", "--size", "1MB", "--loss", "100%", "--timeout", "30s"}, "did not complete within --timeout 30s", "link faults  "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Tasks still parked when the run gives up must not linger.
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			var stdout, stderr bytes.Buffer
			code := run(c.args, &stdout, &stderr)
			if code != exitFailure {
				t.Fatalf("exit status %d, want %d; stderr %q", code, exitFailure, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], c.want) {
				t.Errorf("stderr %q, want one line containing %q", stderr.String(), c.want)
			}
			if !strings.Contains(stdout.String(), c.stdout) {
				t.Errorf("stdout lacks %q:\n%s", c.stdout, stdout.String())
			}
		})
	}
}

func TestTransferFlows(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out := runOK(t, "transfer", "--size", "2MB", "--flows", "3", "--loss", "0.5%", "--seed", "5")
	for i := 1; i <= 3; i++ {
		row := regexp.MustCompile(fmt.Sprintf(`(?m)^ +%d  10\.0\.0\.1:\d+ +10\.0\.0\.2:5001 +completed +0\.000 +\d+\.\d{3} +2000000 +0 `, i))
		if !row.MatchString(out) {
			t.Errorf("no table row for flow %d:\n%s", i, out)
		}
	}
	for _, want := range []string{"flows: 3, 3 completed, 0 failed", "completion time s: p50 ", "all flows: 6000000 bytes"} {
		if !strings.Contains(out, want) {
			t.Errorf("aggregates lack %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`Jain's fairness index (0\.9\d\d|1\.000)`).MatchString(out) {
		t.Errorf("aggregates lack a Jain's fairness index of at least 0.9:\n%s", out)
	}
	// Three flows at once, every fault: the same seed gives the same
	// bytes, at any GOMAXPROCS.
	dir := t.TempDir()
	args := func(pcap string) []string {
		return []string{"transfer", "--size", "500KB", "--flows", "3", "--loss", "2%", "--reorder", "5%", "--jitter", "3ms",
			"--duplicate", "1%", "--corrupt", "0.5%", "--seed", "9", "-v", "--pcap", filepath.Join(dir, pcap)}
	}
	a := runOK(t, args("a.pcap")...)
	if !strings.Contains(a, "\n"+verboseHeader+"\n") {
		t.Errorf("transfer -v lacks the header of the packet lines")
	}
	prev := runtime.GOMAXPROCS(1)
	b := runOK(t, args("b.pcap")...)
	runtime.GOMAXPROCS(prev)
	strip := func(s string) string { return strings.ReplaceAll(s, dir, "DIR") }
	if strip(a) != strip(b) {
		t.Error("transfer: the same seed gave different output at GOMAXPROCS 1")
	}
	pa, _ := os.ReadFile(filepath.Join(dir, "a.pcap"))
	pb, _ := os.ReadFile(filepath.Join(dir, "b.pcap"))
	if len(pa) == 0 || !bytes.Equal(pa, pb) {
		t.Errorf("transfer: pcap files differ or are empty (%d and %d bytes)", len(pa), len(pb))
	}
}

// Every path and query gets the page (a /favicon.ico answered 404 made the
// run fail with a wrong message).
func TestGetAnyPath(t *testing.T) {
	for _, path := range []string{"/favicon.ico", "/a/b?c=d&e=f", "/%41"} {
		out := runOK(t, "get", "http://server.example"+path, "--size", "1KB")
		if !strings.Contains(out, `response "200 OK" back: 1000 body bytes`) {
			t.Errorf("GET %s:\n%s", path, out)
		}
	}
	// Step 3 says where the port came from.
	for url, want := range map[string]string{
		"http://server.example/":         "port 80, the default for http",
		"http://server.example:/":        "port 80, the default for http",
		"http://server.example:8080/":    "port 8080, from the URL",
		"http://user:pw@server.example/": "port 80, the default for http",
	} {
		if out := runOK(t, "get", url, "--size", "1KB"); !strings.Contains(out, want) {
			t.Errorf("GET %s: no %q in\n%s", url, want, out)
		}
	}
}

func TestGetFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "page.html")
	body := strings.Repeat("<p>hello</p>\n", 500)
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runOK(t, "get", "http://server.example/page.html", "--file", name, "--mss", "536", "--delayed-ack", "off", "--nodelay", "-v")
	if !strings.Contains(out, "6500 body bytes") {
		t.Errorf("output does not report the file's 6500 bytes:\n%s", out)
	}
	// Both SYNs announce 536, and the 6500 bytes plus headers take 13
	// segments of at most 536 bytes.
	if strings.Count(out, "options [mss 536,") != 2 || !strings.Contains(out, "in 13 segment(s)") || strings.Contains(out, "length 1460") {
		t.Errorf("--mss 536 did not give 536-byte segments:\n%s", out)
	}
}

// --delayed-ack off makes the receiver acknowledge every segment at once:
// more ACKs from the client for the same page.
func TestDelayedAckSwitch(t *testing.T) {
	acks := func(args ...string) int {
		out := runOK(t, append([]string{"get", "http://server.example/", "--size", "100KB", "-v"}, args...)...)
		return strings.Count(out, "client 10.0.0.1.")
	}
	on, off := acks(), acks("--delayed-ack", "off")
	if off <= on {
		t.Errorf("client sent %d packets with delayed ACKs off, %d with them on; want more with them off", off, on)
	}
}

// Every packet the link corrupts is dropped by the receiving host on a
// checksum (a one-bit error never escapes the Internet checksum), and the
// summary accounts for each: link faults "N corrupted" equals the host
// drops.
func TestCorruptedPacketsDroppedByHosts(t *testing.T) {
	out := runOK(t, "get", "http://server.example/", "--size", "200KB", "--corrupt", "3%", "--seed", "3")
	m := regexp.MustCompile(`link faults .*?(\d+) corrupted`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no corruption in the summary:\n%s", out)
	}
	line := regexp.MustCompile(`(?m)^  host drops   (.*)$`).FindStringSubmatch(out)
	if line == nil {
		t.Fatalf("no host drops line:\n%s", out)
	}
	sum := 0
	for _, n := range regexp.MustCompile(`(\d+) \((IPv4|TCP) [a-z ]+\)`).FindAllStringSubmatch(line[1], -1) {
		k, _ := strconv.Atoi(n[1])
		sum += k
	}
	if want, _ := strconv.Atoi(m[1]); sum != want {
		t.Errorf("hosts dropped %d damaged packets (%s), the link corrupted %d", sum, line[1], want)
	}
}

// --clients deals the flows in turn to client hosts on a star: each flow
// leaves from its host's address, is counted once (not again where the
// router forwards it), and moves the same bytes as over one client.
func TestTransferClients(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	args := []string{"transfer", "--size", "100KB", "--flows", "6", "--rate", "1gbit", "--delay", "1ms", "--start-spread", "6ms"}
	out := runOK(t, append(args, "--clients", "3")...)
	if !strings.Contains(out, "from 3 client hosts 10.1.0.1 to 10.1.2.1 (via a router)") {
		t.Errorf("the header does not name the client hosts:\n%s", out)
	}
	for i := 1; i <= 6; i++ {
		row := regexp.MustCompile(fmt.Sprintf(`(?m)^ +%d  10\.1\.%d\.1:\d+ +10\.0\.0\.2:5001 +completed +0\.00%d +\d+\.\d{3} +100000 +0 +118 +0 +0 `, i, (i-1)%3, i-1))
		if !row.MatchString(out) {
			t.Errorf("no table row for flow %d from client host %d:\n%s", i, (i-1)%3+1, out)
		}
	}
	// -v names each client host, a space before the packet.
	v := runOK(t, append(args, "--clients", "3", "-v")...)
	if !regexp.MustCompile(`(?m)^  0\.001000 client2 10\.1\.1\.1\.\d+ > 10\.0\.0\.2\.5001: Flags \[S\]`).MatchString(v) {
		t.Errorf("-v has no SYN line from client2:\n%s", v)
	}
	one := runOK(t, args...)
	// The same bytes cross the bottleneck, whose near end is the router.
	agg := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s[strings.Index(s, "flows: 6"):], "router → server", "client → server"), "server → router", "server → client")
	}
	if !strings.Contains(out, "all flows: 600000 bytes, 0 retransmissions, 0 link drops") || agg(out) != agg(one) {
		t.Errorf("aggregates over 3 client hosts differ from one client's:\n%s\nwant:\n%s", agg(out), agg(one))
	}
}

// transfer's default --timeout counts from the last flow's start, so flows
// started after 10 minutes of virtual time still run; a --timeout given is
// the limit as given.
func TestTransferTimeoutAfterSpread(t *testing.T) {
	args := []string{"transfer", "--size", "10KB", "--flows", "2", "--start-spread", "24m", "--csv"}
	out := runOK(t, args...)
	if n := strings.Count(out, ",completed,"); n != 2 {
		t.Errorf("%d of 2 flows completed, the second starting at 12 min:\n%s", n, out)
	}
	var stdout, stderr bytes.Buffer
	if code := run(append(args, "--timeout", "10m"), &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "did not complete within --timeout 10m0s") {
		t.Errorf("with --timeout 10m: exit status %d, stderr %q; want 1 and the time limit", code, stderr.String())
	}
}

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	rpt "github.com/tcpsim/tcpsim/report"
)

// On an idle link every reply comes back after the two delays and the
// request's and the reply's serialisation at the link's rate.
func TestPingRTT(t *testing.T) {
	for _, size := range []int{56, 1000} {
		out := runOK(t, "ping", "-c", "3", "--delay", "10ms", "--rate", "1mbit", "-s", strconv.Itoa(size))
		wire := size + 20 + 8
		ser := time.Duration(wire*8) * time.Second / 1e6
		rtt := fmt.Sprintf("%.3f", float64(2*10*time.Millisecond+2*ser)/float64(time.Millisecond))
		for seq := 1; seq <= 3; seq++ {
			want := fmt.Sprintf("%d bytes from 10.0.0.2: icmp_seq=%d ttl=64 time=%s ms\n", size+8, seq, rtt)
			if !strings.Contains(out, want) {
				t.Errorf("-s %d: no line %q:\n%s", size, want, out)
			}
		}
		for _, want := range []string{
			fmt.Sprintf("PING server.example (10.0.0.2) %d(%d) bytes of data.\n", size, wire),
			"3 packets transmitted, 3 received, 0% packet loss, time 2",
			fmt.Sprintf("rtt min/avg/max/mdev = %s/%s/%s/0.000 ms\n", rtt, rtt, rtt),
		} {
			if !strings.Contains(out, want) {
				t.Errorf("-s %d: no %q:\n%s", size, want, out)
			}
		}
	}
}

// Through a chain of 3 routers every hop is the link: 8 crossings of
// the delay and of the serialisation, and each router takes one from the
// reply's TTL.
func TestPingChain(t *testing.T) {
	out := runOK(t, "ping", "-c", "2", "--topology", "chain:3", "--delay", "5ms")
	ser := time.Duration(84*8) * time.Second / 10e6
	rtt := fmt.Sprintf("%.3f", float64(8*5*time.Millisecond+8*ser)/float64(time.Millisecond))
	for _, want := range []string{
		"path: client 10.0.0.1, 3 router(s), server 10.0.3.2",
		"64 bytes from 10.0.3.2: icmp_seq=1 ttl=61 time=" + rtt + " ms\n",
		"64 bytes from 10.0.3.2: icmp_seq=2 ttl=61 time=" + rtt + " ms\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q:\n%s", want, out)
		}
	}
}

// With loss, the requests counted lost are the packets the link dropped
// (a lost request has no reply; a lost reply was the only one), and each
// has its "no answer" line; the same seed prints the same.
func TestPingLoss(t *testing.T) {
	args := []string{"ping", "-c", "50", "-i", "100ms", "--loss", "10%", "--seed", "3", "-v"}
	out := runOK(t, args...)
	drops := strings.Count(out, " link   DROPPED (loss): ")
	m := regexp.MustCompile(`(\d+) packets transmitted, (\d+) received, ([\d.]+)% packet loss`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary:\n%s", out)
	}
	tx, _ := strconv.Atoi(m[1])
	rx, _ := strconv.Atoi(m[2])
	if tx != 50 || drops == 0 || tx-rx != drops {
		t.Errorf("%d transmitted, %d received; the log dropped %d: want 50 sent and one lost per drop", tx, rx, drops)
	}
	if n := strings.Count(out, "no answer for icmp_seq="); n != drops {
		t.Errorf("%d no-answer lines, %d drops", n, drops)
	}
	if got := m[3]; got != strconv.FormatFloat(100*float64(drops)/50, 'g', 4, 64) {
		t.Errorf("loss %s%%, want %d/50", got, drops)
	}
	if again := runOK(t, args...); again != out {
		t.Error("the same seed printed differently")
	}
	// The report draws each request and reply as an ICMP arrow, each
	// drop crossed out.
	file := filepath.Join(t.TempDir(), "ping.html")
	runOK(t, append(args, "-c", "5", "--report", file)...)
	lad := []byte(reportLadder(t, file))
	short := runOK(t, append(args, "-c", "5")...)
	sent := strings.Count(short, " client 10.0.0.1 > 10.0.0.2: ICMP echo request") + strings.Count(short, " server 10.0.0.2 > 10.0.0.1: ICMP echo reply")
	if n := bytes.Count(lad, []byte(`<line class="pkt icmp" `)); n != sent || n == 0 {
		t.Errorf("the ladder has %d ICMP arrows, -v %d echo packets", n, sent)
	}
	if !regexp.MustCompile(`<title>ICMP 8/0 echo request id \d+ seq 1 len 56</title>`).Match(lad) ||
		!regexp.MustCompile(`<title>ICMP 0/0 echo reply id \d+ seq 1 len 56</title>`).Match(lad) {
		t.Errorf("the ladder lacks the first request and reply")
	}
}

// Bad flags exit 2 with one line saying what is wrong and nothing else,
// and print nothing on stdout; no reply at all exits 1.
func TestPingErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "0"}, `-c, --count`},
		{[]string{"-c", "many"}, `-c, --count`},
		{[]string{"-i", "0s"}, "--interval 0s"},
		{[]string{"-i", "soon"}, `-i, --interval`},
		{[]string{"-W", "0s"}, "--wait 0s"},
		{[]string{"-s", "1473"}, "--size 1473: a 1501-byte packet does not fit --mtu 1500"},
		{[]string{"-s", "-1"}, `-s, --size`},
		{[]string{"--loss", "200%"}, "--loss"},
		{[]string{"nowhere.example"}, `unknown host "nowhere.example"`},
		{[]string{"a", "b"}, "accepts at most 1 arg"},
		{[]string{"--mss", "100"}, "unknown flag: --mss"},
		{[]string{"--topology", "star:2"}, "--topology star:2: ping goes from one client"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"ping"}, c.args...), &stdout, &stderr)
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		if code != exitUsage || !strings.Contains(lines[0], c.want) || len(lines) != 1 {
			t.Errorf("ping %v: exit %d, stderr %q; want 2 and one line naming %q", c.args, code, stderr.String(), c.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("ping %v printed %q", c.args, stdout.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"ping", "-c", "2", "--loss", "100%", "-W", "1s"}, &stdout, &stderr); code != exitFailure ||
		!strings.Contains(stderr.String(), "no reply from 10.0.0.2: all 2 requests lost") ||
		!strings.Contains(stdout.String(), "2 packets transmitted, 0 received, 100% packet loss") {
		t.Errorf("all lost: exit %d, stderr %q, stdout:\n%s", code, stderr.String(), stdout.String())
	}
}

// A long ping's report draws the first 300 packets and says how many more
// there were; the recorder keeps no more than it can draw.
func TestPingReportLong(t *testing.T) {
	file := filepath.Join(t.TempDir(), "long.html")
	runOK(t, "ping", "-c", "200", "-i", "10ms", "--report", file)
	page, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(page, []byte(`<line class="pkt icmp" `)); n != rpt.DefaultLadderMax {
		t.Errorf("%d ICMP arrows, want the first %d", n, rpt.DefaultLadderMax)
	}
	if !bytes.Contains(page, []byte("… 100 more UDP or ICMP packets are not drawn")) {
		t.Errorf("no note of the 100 packets left out (400 sent)")
	}
	// A window: requests every 100 ms, replies 25 ms later; from 0.3 s to
	// 0.6 s are 4 requests and 3 replies, 6 packets before and 7 after.
	runOK(t, "ping", "-c", "10", "-i", "100ms", "--report", file, "--report-window", "0.3s:0.6s")
	page, err = os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(page, []byte(`<line class="pkt icmp" `)); n != 7 ||
		!bytes.Contains(page, []byte("are drawn (6 before and 7 after are not)")) {
		t.Errorf("window 0.3s:0.6s: %d arrows, want 7 with 6 before and 7 after", n)
	}
}

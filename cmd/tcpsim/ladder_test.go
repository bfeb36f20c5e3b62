package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
)

// get --ladder draws one row per packet of the connection between the two
// lanes, within 80 columns: losses end in a cross with the reason, resent
// segments are marked, and --ladder-max cuts long runs with a note.
func TestGetLadder(t *testing.T) {
	out := runOK(t, "get", "http://server.example/", "--dns", "off", "--size", "20KB", "--loss", "10%", "--seed", "1", "--ladder=ascii")
	start := strings.Index(out, "ladder of the first connection")
	end := strings.Index(out, "steps (time")
	if start < 0 || end < start {
		t.Fatalf("no ladder before the story:\n%s", out)
	}
	lad := out[start:end]
	rows := 0
	for _, line := range strings.Split(strings.TrimSpace(lad), "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("%d columns: %q", n, line)
		}
		if strings.Count(line, "|") == 2 && (strings.Contains(line, ">|") || strings.Contains(line, "|<") || strings.Contains(line, "x")) {
			rows++
		}
	}
	// One row per packet the story counts.
	m := regexp.MustCompile(`client sent (\d+), server sent (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no packet counts in the story:\n%s", out)
	}
	c, _ := strconv.Atoi(m[1])
	sv, _ := strconv.Atoi(m[2])
	if rows != c+sv {
		t.Errorf("%d rows, want %d (one per packet):\n%s", rows, c+sv, lad)
	}
	for _, want := range []string{
		"|-S 0 win 65535 mss 1460 ---",
		"|-P. 1:80 ack 1 win 32768 ------------x              | lost (loss)",
	} {
		if !strings.Contains(lad, want) {
			t.Errorf("ladder lacks %q:\n%s", want, lad)
		}
	}
	if !regexp.MustCompile(`\|-P\. 1:80 ack 1 win 32768 \[retransmit\] -+>\| \d+\.\d{6}\n`).MatchString(lad) {
		t.Errorf("ladder lacks the request's retransmission:\n%s", lad)
	}
	total := c + sv
	uni := runOK(t, "get", "http://server.example/", "--dns", "off", "--size", "20KB", "--loss", "10%", "--seed", "1", "--ladder=unicode", "--ladder-max", "5")
	note := fmt.Sprintf("... %d more packets of this connection not drawn (--ladder-max 5)", total-5)
	if !strings.Contains(uni, "│─S 0 win 65535 mss 1460 ─") || !strings.Contains(uni, "▶│") || !strings.Contains(uni, note) {
		t.Errorf("unicode ladder cut at 5:\n%s", uni)
	}
}

// The terminal ladder marks a zero window, the window update that opens
// it, and a duplicate ACK after it, as -v does: fed by hand, each row says
// which it is and the other rows say nothing.
func TestLadderWindowMarks(t *testing.T) {
	const S, A = segment.FlagSYN, segment.FlagACK
	l := newLadder(100)
	var seq uint64
	send := func(fromCli bool, flags segment.Flags, sq, ack uint32, win uint16, n int, at time.Duration) {
		p := segment.Packet{
			IP:      ippacket.Header{TTL: 64, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
			TCP:     segment.Header{SrcPort: 40000, DstPort: 80, Seq: segment.Seq(sq), Ack: segment.Seq(ack), Flags: flags, Window: win},
			Payload: make([]byte, n),
		}
		end, node, peer := 0, "client", "server"
		if !fromCli {
			p.IP.Src, p.IP.Dst = p.IP.Dst, p.IP.Src
			p.TCP.SrcPort, p.TCP.DstPort = 80, 40000
			end, node, peer = 1, "server", "client"
		}
		b, err := p.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		seq++
		l.event(&sim.Event{Time: at, Node: node, Link: "wire", End: end, Verdict: sim.Sent, PktSeq: seq, Data: b, Len: len(b)})
		l.event(&sim.Event{Time: at + 10*time.Millisecond, Node: peer, Link: "wire", End: end ^ 1, Verdict: sim.Delivered, PktSeq: seq, Data: b, Len: len(b)})
	}
	ms := time.Millisecond
	send(true, S, 1000, 0, 65535, 0, 0)
	send(false, S|A, 5000, 1001, 65535, 0, 10*ms)
	send(true, A, 1001, 5001, 65535, 100, 20*ms)
	send(false, A, 5001, 1101, 0, 0, 30*ms)
	send(false, A, 5001, 1101, 8192, 0, 40*ms)
	send(false, A, 5001, 1101, 8192, 0, 41*ms)
	var b strings.Builder
	l.print(&b, ladderMode("ascii").glyphs(), "client", "server")
	var marks []string
	for _, line := range strings.Split(b.String(), "\n") {
		if m := regexp.MustCompile(`\[([a-z ]+)\]`).FindStringSubmatch(line); m != nil {
			marks = append(marks, m[1])
		}
	}
	if got := strings.Join(marks, ","); got != "zero window,window update,dup ack" {
		t.Errorf("marks %q, want zero window, window update, dup ack:\n%s", got, b.String())
	}
	for _, want := range []string{"ack 101 win 0 [zero window]", "ack 101 win 8192 [window update]"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no row %q:\n%s", want, b.String())
		}
	}
}

// With DNS on, the terminal ladder has a row for each DNS packet before
// the connection's: with seed 7 the first query is lost (crossed out with
// its reason), the second, sent after the 5 s timeout, is answered. With
// --dns off there is no UDP row.
func TestGetLadderDNS(t *testing.T) {
	args := []string{"get", "http://server.example/", "--size", "2KB", "--loss", "20%", "--seed", "7", "--ladder=ascii"}
	out := runOK(t, args...)
	lad := out[strings.Index(out, "ladder of the first connection"):strings.Index(out, "steps (time")]
	for _, want := range []string{
		"   0.000000 |-UDP 53 DNS A? server.example ----------x           | lost (loss)\n",
		"   5.000000 |-UDP 53 DNS A? server.example --------------------->| 5.025056\n",
		"   5.050128 |<----------- UDP 53 DNS A server.example = 10.0.0.2-| 5.025056\n",
	} {
		if !strings.Contains(lad, want) {
			t.Errorf("the ladder lacks the row\n%s\n%s", want, lad)
		}
	}
	if n := strings.Count(lad, "UDP"); n != 3 {
		t.Errorf("%d UDP rows, want 3:\n%s", n, lad)
	}
	// The DNS rows come first, then the connection's SYN.
	if i, j := strings.Index(lad, "DNS A server.example ="), strings.Index(lad, "|-S 0 win"); i < 0 || j < i {
		t.Errorf("the answer is not drawn before the SYN:\n%s", lad)
	}
	// Seed 6 loses both queries: the fetch fails at step 2, and the
	// ladder has the two crossed-out queries between lanes named by
	// address alone (there was no connection, so no port).
	var stdout, stderr bytes.Buffer
	if code := run([]string{"get", "http://server.example/", "--size", "2KB", "--loss", "20%", "--seed", "6", "--ladder=ascii"}, &stdout, &stderr); code != exitFailure {
		t.Fatalf("seed 6: exit %d, want 1 (the lookup fails)", code)
	}
	if got := stdout.String(); !strings.Contains(got, "            client 10.0.0.1                        server 10.0.0.2\n") ||
		strings.Count(got, "|-UDP 53 DNS A? server.example ----------x           | lost (loss)\n") != 2 {
		t.Errorf("seed 6's ladder:\n%s", got)
	}
	off := runOK(t, append(args, "--dns", "off")...)
	if strings.Contains(off, "UDP") || strings.Contains(off, "DNS A") {
		t.Errorf("--dns off still draws DNS rows:\n%s", off)
	}
}

// The report of a get with DNS draws one arrow per packet -v prints as
// sent (the DNS query, its retry and the answer among them) and one cross
// per packet -v prints as dropped.
func TestGetReportDNSArrows(t *testing.T) {
	file := filepath.Join(t.TempDir(), "r.html")
	out := runOK(t, "get", "http://server.example/", "--size", "2KB", "--loss", "20%", "--seed", "7", "-v", "--report", file)
	var sent, udp, dropped int
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !regexp.MustCompile(`^\d+\.\d{6}$`).MatchString(f[0]) {
			continue
		}
		switch {
		case f[1] == "client" || f[1] == "server":
			sent++
			if strings.HasSuffix(f[2], ".53") || strings.HasSuffix(f[4], ".53:") {
				udp++
			}
		case f[1] == "link" && strings.HasPrefix(f[2], "DROPPED"):
			dropped++
		}
	}
	if udp != 3 || dropped == 0 {
		t.Fatalf("-v shows %d DNS packets and %d drops; the test wants the lost query, its retry and the answer", udp, dropped)
	}
	lad := reportLadder(t, file)
	if n := len(regexp.MustCompile(`<line class="pkt \w+" `).FindAllString(lad, -1)); n != sent {
		t.Errorf("the ladder has %d arrows, -v %d sent packets", n, sent)
	}
	if n := len(regexp.MustCompile(`<line class="pkt udp" `).FindAllString(lad, -1)); n != udp {
		t.Errorf("the ladder has %d UDP arrows, -v %d DNS packets", n, udp)
	}
	if n := strings.Count(lad, `<path class="cross"`) - 1; n != dropped {
		t.Errorf("the ladder has %d crosses, -v %d drops", n, dropped)
	}
	for _, want := range []string{"<title>UDP 53 DNS A? server.example</title>", "<title>UDP 53 DNS A server.example = 10.0.0.2</title>"} {
		if !strings.Contains(lad, want) {
			t.Errorf("the ladder lacks %s", want)
		}
	}
}

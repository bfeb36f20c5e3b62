package main

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/tcpsim/tcpsim/ippacket"
)

// pcapPackets decodes every packet of a capture as IPv4 with gopacket,
// whatever it carries.
func pcapPackets(t *testing.T, name string) []gopacket.Packet {
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
	var pkts []gopacket.Packet
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		pkts = append(pkts, gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default))
	}
	return pkts
}

// udpPackets counts a capture's UDP packets.
func udpPackets(pkts []gopacket.Packet) int {
	n := 0
	for _, p := range pkts {
		if p.Layer(layers.LayerTypeUDP) != nil {
			n++
		}
	}
	return n
}

var (
	dnsQueryLine  = regexp.MustCompile(`(?m)^ +(\d+\.\d{6}) (client|link   DROPPED \(loss\):) ?10\.0\.0\.1\.(\d+) > 10\.0\.0\.2\.53: (\d+)\+ \[1au\] A\? server\.example\. \(43\)$`)
	dnsAnswerLine = regexp.MustCompile(`(?m)^ +(\d+\.\d{6}) (server|link   DROPPED \(loss\):) ?10\.0\.0\.2\.53 > 10\.0\.0\.1\.(\d+): (\d+)\*- 1/0/0 A 10\.0\.0\.2 \((\d+)\)$`)
	dnsStep2      = regexp.MustCompile(`(?m)^2 +(\d+\.\d{6})  DNS: asked 10\.0\.0\.2:53 for server\.example \(A\): 10\.0\.0\.2, answered at (\d+\.\d{6}) after (1 query|(\d+) queries \(one every 5s until an answer\))$`)
)

// dnsLines is what -v printed of the lookup: each query and answer sent
// (the sender's lines; the link's drops apart).
type dnsLines struct {
	queryIDs, answerIDs []int
	droppedQueries      []int // IDs of queries the link dropped
	droppedAnswers      []int
	ports               map[string]bool // the client's UDP port, seen in every line
}

func parseDNSLines(t *testing.T, out string) dnsLines {
	t.Helper()
	d := dnsLines{ports: map[string]bool{}}
	for _, m := range dnsQueryLine.FindAllStringSubmatch(out, -1) {
		id, _ := strconv.Atoi(m[4])
		d.ports[m[3]] = true
		if m[2] == "client" {
			d.queryIDs = append(d.queryIDs, id)
		} else {
			d.droppedQueries = append(d.droppedQueries, id)
		}
	}
	for _, m := range dnsAnswerLine.FindAllStringSubmatch(out, -1) {
		id, _ := strconv.Atoi(m[4])
		d.ports[m[3]] = true
		if m[2] == "server" {
			d.answerIDs = append(d.answerIDs, id)
		} else {
			d.droppedAnswers = append(d.droppedAnswers, id)
		}
	}
	return d
}

// seconds parses a story time such as "5.050120".
func seconds(t *testing.T, s string) time.Duration {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return time.Duration(f*1e6+0.5) * time.Microsecond
}

// get resolves the URL's host name with a DNS query over the simulated
// link (step 2): the query and answer are packets in -v and in the pcap,
// a lost one is asked again after the resolver's timeout, a lookup that
// never gets an answer ends the fetch, and --dns off or an IP literal
// sends no DNS at all.
func TestGetDNS(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()

	t.Run("loss-free", func(t *testing.T) {
		pcap := filepath.Join(dir, "dns.pcap")
		out := runOK(t, "get", "http://server.example/", "-v", "--pcap", pcap)
		if !strings.Contains(out, "server serves 10240 bytes on port 80 and answers DNS for server.example on port 53\n") {
			t.Errorf("the hosts line does not say the server answers DNS:\n%s", out)
		}
		m := dnsStep2.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no DNS step 2:\n%s", out)
		}
		if m[3] != "1 query" {
			t.Errorf("loss-free lookup took %s, want 1 query", m[3])
		}
		// One round trip on the default link: 25 ms each way, plus the
		// query's and the answer's time on the 10 Mbit/s transmitter.
		d := parseDNSLines(t, out)
		if len(d.queryIDs) != 1 || len(d.answerIDs) != 1 || len(d.droppedQueries)+len(d.droppedAnswers) != 0 {
			t.Fatalf("want one query and one answer in -v, got %+v:\n%s", d, out)
		}
		if d.queryIDs[0] != d.answerIDs[0] || len(d.ports) != 1 {
			t.Errorf("the answer does not match the query (IDs %d and %d, client ports %v)", d.queryIDs[0], d.answerIDs[0], d.ports)
		}
		a := dnsAnswerLine.FindStringSubmatch(out)
		answerLen, _ := strconv.Atoi(a[5])
		bits := (20 + 8 + 43 + 20 + 8 + answerLen) * 8 // Go's query: 32 bytes and an 11-byte EDNS0 OPT record
		want := 50*time.Millisecond + time.Duration(bits)*time.Second/10_000_000
		want = want.Truncate(time.Microsecond) // the story prints microseconds
		if at := seconds(t, m[1]); at != want || seconds(t, m[2]) != want {
			t.Errorf("answered at %s (step at %s), want %v (one round trip)", m[2], m[1], want)
		}
		// The client dials only once it has the address.
		at := strings.TrimSpace(fmtTime(want))
		for _, s := range []string{"\n3   " + at + "  port 80, the default for http\n", "three-way handshake: SYN at " + at + ","} {
			if !strings.Contains(out, s) {
				t.Errorf("story lacks %q:\n%s", s, out)
			}
		}
		if q, s := strings.Index(out, "A? server.example."), strings.Index(out, "Flags [S]"); q < 0 || s < q {
			t.Errorf("the SYN is not after the query:\n%s", out)
		}

		// The capture holds both datagrams, before the SYN, and they decode
		// as DNS for Wireshark's dissectors too (gopacket's).
		pkts := pcapPackets(t, pcap)
		if n := udpPackets(pkts); n != 2 {
			t.Fatalf("pcap has %d UDP packets, want 2 (query and answer)", n)
		}
		for i, wantResp := range []bool{false, true} {
			l := pkts[i].Layer(layers.LayerTypeDNS)
			if l == nil {
				t.Fatalf("pcap packet %d is not DNS: %v", i+1, pkts[i])
			}
			msg := l.(*layers.DNS)
			if msg.QR != wantResp || len(msg.Questions) != 1 || string(msg.Questions[0].Name) != "server.example" || int(msg.ID) != d.queryIDs[0] {
				t.Errorf("pcap packet %d: QR %v, ID %d, questions %v; want QR %v, ID %d, server.example", i+1, msg.QR, msg.ID, msg.Questions, wantResp, d.queryIDs[0])
			}
			if wantResp && (len(msg.Answers) != 1 || msg.Answers[0].IP.String() != "10.0.0.2") {
				t.Errorf("pcap answer: %v, want one A 10.0.0.2", msg.Answers)
			}
		}
		if pkts[2].Layer(layers.LayerTypeTCP) == nil {
			t.Errorf("pcap packet 3 is not the SYN: %v", pkts[2])
		}

		// The query ID comes from the seed: the same run is the same bytes.
		pcap2 := filepath.Join(dir, "dns2.pcap")
		if again := runOK(t, "get", "http://server.example/", "-v", "--pcap", pcap2); again != out {
			t.Errorf("the same run printed something else the second time")
		}
		b1, _ := os.ReadFile(pcap)
		b2, _ := os.ReadFile(pcap2)
		if !bytes.Equal(b1, b2) {
			t.Errorf("the same run wrote a different pcap")
		}
	})

	// Under loss a lost query, or a lost answer, is asked again after the
	// resolver's timeout, with the next ID; the retry's answer is taken.
	for _, c := range []struct {
		name, seed string
		lostQuery  bool // else the first answer is lost
	}{
		{"query lost", "7", true},
		{"answer lost", "22", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := runOK(t, "get", "http://server.example/", "--loss", "30%", "--seed", c.seed, "-v")
			m := dnsStep2.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no DNS step 2 with an answer:\n%s", out)
			}
			if m[4] != "2" {
				t.Errorf("lookup took %s, want 2 queries", m[3])
			}
			if at := seconds(t, m[2]); at <= dnsTimeout || at > dnsTimeout+time.Second {
				t.Errorf("answered at %s, want just after the %v retry interval", m[2], dnsTimeout)
			}
			d := parseDNSLines(t, out)
			if len(d.queryIDs) != 2 || d.queryIDs[1] != d.queryIDs[0]+1 {
				t.Fatalf("want two queries with consecutive IDs, got %v:\n%s", d.queryIDs, out)
			}
			id := d.queryIDs[0]
			if c.lostQuery {
				if len(d.droppedQueries) != 1 || d.droppedQueries[0] != id || len(d.answerIDs) != 1 || d.answerIDs[0] != id+1 {
					t.Errorf("want the first query (%d) dropped and only the second answered, got %+v:\n%s", id, d, out)
				}
			} else {
				if len(d.droppedQueries) != 0 || len(d.answerIDs) != 2 || len(d.droppedAnswers) != 1 || d.droppedAnswers[0] != id || d.answerIDs[1] != id+1 {
					t.Errorf("want both queries answered and the first answer (%d) dropped, got %+v:\n%s", id, d, out)
				}
			}
			q := dnsQueryLine.FindAllStringSubmatch(out, -1)
			if seconds(t, q[len(q)-1][1]) != dnsTimeout {
				t.Errorf("second query at %s, want %v", q[len(q)-1][1], dnsTimeout)
			}
			if !strings.Contains(out, "three-way handshake: SYN at "+m[2]+",") {
				t.Errorf("the SYN does not leave when the answer came (%s):\n%s", m[2], out)
			}
		})
	}

	t.Run("no answer", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := run([]string{"get", "http://server.example/", "--loss", "100%", "-v"}, &stdout, &stderr)
		out := stdout.String()
		if code != exitFailure {
			t.Fatalf("exit status %d, want %d", code, exitFailure)
		}
		if want := "tcpsim: GET http://server.example/ failed: DNS lookup of server.example timed out: 2 queries to 10.0.0.2:53, none answered within 5s\n"; stderr.String() != want {
			t.Errorf("stderr %q, want %q", stderr.String(), want)
		}
		if !strings.HasSuffix(out, "\n2  10.000000  DNS: asked 10.0.0.2:53 for server.example (A): timed out, 2 queries sent 5s apart and none answered\n") {
			t.Errorf("the story does not end at step 2 with the timeout:\n%s", out)
		}
		if d := parseDNSLines(t, out); len(d.queryIDs) != 2 || len(d.droppedQueries) != 2 {
			t.Errorf("want two queries, both dropped: %+v", d)
		}
		if strings.Contains(out, "Flags [") {
			t.Errorf("a TCP packet was sent without an address:\n%s", out)
		}
	})

	// A duplicated answer reaches a socket the resolver has closed: the
	// client answers with ICMP port unreachable, which -v decodes.
	t.Run("late duplicate", func(t *testing.T) {
		out := runOK(t, "get", "http://server.example/", "--size", "300", "--duplicate", "100%", "-v")
		d := parseDNSLines(t, out)
		if len(d.ports) != 1 {
			t.Fatalf("client ports %v", d.ports)
		}
		var port string
		for p := range d.ports {
			port = p
		}
		want := "client 10.0.0.1 > 10.0.0.2: ICMP 10.0.0.1 udp port " + port + " unreachable, length 36\n"
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	})

	for _, c := range []struct {
		name, url, step2 string
		args             []string
	}{
		{"dns off", "http://server.example/", "2   0.000000  hosts table: server.example is 10.0.0.2\n", []string{"--dns", "off"}},
		{"IP literal", "http://10.0.0.2/", "2   0.000000  10.0.0.2 is an IP address: no lookup\n", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			pcap := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".pcap")
			out := runOK(t, append([]string{"get", c.url, "-v", "--pcap", pcap}, c.args...)...)
			if !strings.Contains(out, c.step2) || !strings.Contains(out, "three-way handshake: SYN at 0.000000,") {
				t.Errorf("want %q and the SYN at 0:\n%s", c.step2, out)
			}
			if strings.Contains(out, "answers DNS") || strings.Contains(out, ".53:") || strings.Contains(out, ".53 >") {
				t.Errorf("DNS without a lookup:\n%s", out)
			}
			pkts := pcapPackets(t, pcap)
			if n := udpPackets(pkts); n != 0 || len(pkts) == 0 {
				t.Errorf("pcap: %d packets, %d of them UDP; want TCP only", len(pkts), n)
			}
		})
	}
}

// -v prints DNS as tcpdump does; the expected lines are what tcpdump 4.99
// printed for the same messages in a pcap.
func TestAppendDNSLikeTcpdump(t *testing.T) {
	q := func(id uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("server.example.", dns.TypeA)
		m.Id, m.RecursionDesired = id, true
		return m
	}
	nx := new(dns.Msg)
	nx.SetRcode(q(7), dns.RcodeNameError)
	nx.Authoritative, nx.RecursionAvailable = true, false
	sf := new(dns.Msg)
	sf.SetRcode(q(8), dns.RcodeServerFailure)
	sf.Authoritative, sf.RecursionAvailable, sf.Truncated = true, true, true
	for _, c := range []struct {
		m    *dns.Msg
		want string
	}{
		{q(14438), "10.0.0.1.60601 > 10.0.0.2.53: 14438+ A? server.example. (32)"},
		{nx, "10.0.0.2.53 > 10.0.0.1.60601: 7 NXDomain*- 0/0/0 (32)"},
		{sf, "10.0.0.2.53 > 10.0.0.1.60601: 8 ServFail*| 0/0/0 (32)"},
	} {
		msg, err := c.m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		src, dst, sport, dport := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, uint16(60601), uint16(53)
		if c.m.Response {
			src, dst, sport, dport = dst, src, dport, sport
		}
		udp := binary.BigEndian.AppendUint16(nil, sport)
		udp = binary.BigEndian.AppendUint16(udp, dport)
		udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(msg)))
		udp = append(append(udp, 0, 0), msg...)
		h := ippacket.Header{Protocol: ippacket.ProtocolUDP, TTL: 64, Src: netip.AddrFrom4(src), Dst: netip.AddrFrom4(dst)}
		pkt, err := h.Encode(nil, len(udp))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendOther(nil, append(pkt, udp...))
		if !ok || string(got) != c.want {
			t.Errorf("got %q (ok %v), want %q", got, ok, c.want)
		}
	}
}

// get runs net/http's own server and client and Go's own resolver on the
// virtual loop, and a seed still fixes every packet: two runs over a lossy
// link that loses the first DNS query print the same bytes, and the query
// is Go's resolver's (its EDNS0 OPT record shows as [1au]).
func TestGetNetHTTPDeterministic(t *testing.T) {
	args := []string{"get", "http://server.example/", "--size", "40KB", "--loss", "30%", "--seed", "7", "-v"}
	a, b := runOK(t, args...), runOK(t, args...)
	if a != b {
		t.Fatalf("two runs of %v differ:\n%s\n---\n%s", args, a, b)
	}
	if !strings.Contains(a, "[1au] A? server.example. (43)") {
		t.Errorf("no query from Go's resolver (with its EDNS0 record) in:\n%s", a)
	}
	if !strings.Contains(a, "after 2 queries") {
		t.Errorf("the lost query was not asked again:\n%s", a)
	}
}

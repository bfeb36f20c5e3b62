package report

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/simdns"
	"github.com/tcpsim/tcpsim/stack"
)

// logCount is what the test counts in the event log itself.
type logCount struct {
	sent, drops, dataSegs int
	datagrams             int    // UDP and ICMP packets sent
	digest                []byte // every sent packet's bytes, to compare runs
	conns                 []*stack.Conn
	// timeWait is the time of the first event at which each connection
	// was seen in TIME_WAIT.
	timeWait map[*stack.Conn]time.Duration
}

// simulate runs nflows transfers of size bytes from a client to a server
// over a link with the given loss, feeding a Recorder (when rec is set)
// and counting the log.
func simulate(t testing.TB, seed uint64, size int64, nflows int, loss float64, withReport bool, o Options) (*Recorder, *logCount) {
	t.Helper()
	return simulateDNS(t, seed, size, nflows, loss, withReport, o, false)
}

// simulateDNS is simulate; with dns, the first flow first looks the
// server's name up over UDP (a DNS server on the server host's port 53)
// and sends a datagram to a closed port of the server, which answers with
// an ICMP port unreachable.
func simulateDNS(t testing.TB, seed uint64, size int64, nflows int, loss float64, withReport bool, o Options, dns bool) (*Recorder, *logCount) {
	t.Helper()
	lc := logCount{timeWait: map[*stack.Conn]time.Duration{}}
	var rec *Recorder
	var conns []*stack.Conn
	var link *sim.Link
	if o.Links != nil {
		// The caller asks for the link's queue series: sample the wire.
		o.Links = func() []*sim.Link { return []*sim.Link{link} }
	}
	if withReport {
		o.Conns = func() []*stack.Conn { return conns }
		rec = New(o)
	}
	var p segment.Packet
	w := sim.New(sim.Config{Seed: seed, TimeLimit: 10 * time.Minute, StreamOnly: true, OnEvent: func(e *sim.Event) {
		if rec != nil {
			rec.Event(e)
		}
		for _, c := range conns {
			if _, ok := lc.timeWait[c]; !ok && c.State() == stack.StateTimeWait {
				lc.timeWait[c] = e.Time
			}
		}
		switch e.Verdict {
		case sim.Sent:
			if p.Decode(e.Data, false) != nil {
				if len(e.Data) >= 20 && (e.Data[9] == ippacket.ProtocolUDP || e.Data[9] == ippacket.ProtocolICMP) {
					lc.datagrams++
				}
				return
			}
			lc.sent++
			if len(p.Payload) > 0 && p.TCP.DstPort == 5001 {
				lc.dataSegs++
			}
			if lc.sent < 5000 {
				lc.digest = append(lc.digest, e.Data...)
			}
		case sim.Dropped:
			lc.drops++
		}
	}})
	defer w.Close()
	var hosts [2]*stack.Host
	l, err := w.NewLink(sim.Symmetric("wire", sim.DirConfig{Delay: 20 * time.Millisecond, Rate: 10e6, QueuePackets: 100, MTU: 1500,
		Faults: []sim.Fault{sim.Loss{P: loss}}}))
	if err != nil {
		t.Fatal(err)
	}
	link = l
	tcp, err := stack.Profile("linux")
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"client", "server"} {
		env := w.NewHostEnv()
		h, err := stack.NewHost(stack.HostConfig{Name: name, Env: env, Seed: w.SeedFor("host", name), TCP: tcp})
		if err != nil {
			t.Fatal(err)
		}
		env.Bind(h)
		if err := w.AddNode(name, h); err != nil {
			t.Fatal(err)
		}
		idx, err := h.AddInterface(netip.MustParsePrefix(fmt.Sprintf("10.0.0.%d/24", i+1)), link.End(i), 1500)
		if err != nil {
			t.Fatal(err)
		}
		link.End(i).Attach(name, h, idx)
		hosts[i] = h
	}
	ln, err := hosts[1].Listen(5001, nflows)
	if err != nil {
		t.Fatal(err)
	}
	ln.SetNotify(func(stack.Event) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			drain := func() {
				for {
					_, err := c.Discard(64 << 10)
					if err == nil {
						continue
					}
					if errors.Is(err, io.EOF) {
						c.Close()
					}
					return
				}
			}
			c.SetNotify(func(stack.Event) { drain() })
			drain()
		}
	})
	cnet := sim.NewTaskNet(w, hosts[0])
	var dnsConn net.PacketConn
	if dns {
		snet := sim.NewTaskNet(w, hosts[1])
		w.Spawn("dns server", func(*sim.Task) {
			var err error
			if dnsConn, err = snet.ListenPacket("udp", ":53"); err != nil {
				t.Error(err)
				return
			}
			srv := &simdns.Server{Records: map[string]netip.Addr{"server.example": netip.MustParseAddr("10.0.0.2")}}
			srv.Serve(dnsConn)
		})
	}
	left := nflows
	for i := range nflows {
		w.Spawn(fmt.Sprintf("flow %d", i+1), func(tk *sim.Task) {
			defer func() {
				if left--; left == 0 {
					w.Spawn("settle", func(tk *sim.Task) {
						for _, c := range conns {
							for c.State() != stack.StateClosed && c.State() != stack.StateTimeWait {
								tk.Sleep(time.Millisecond)
							}
						}
						w.Stop()
					})
				}
			}()
			tk.Sleep(time.Duration(i) * 3 * time.Millisecond)
			if dns && i == 0 {
				addr, _, err := simdns.Lookup(context.Background(), cnet, netip.MustParseAddrPort("10.0.0.2:53"), "server.example", simdns.LookupOptions{ID: 7})
				dnsConn.Close()
				if err != nil || addr != netip.MustParseAddr("10.0.0.2") {
					t.Errorf("lookup: %v, %v", addr, err)
				}
				u, err := cnet.Dial("udp", "10.0.0.2:9")
				if err != nil {
					t.Error(err)
					return
				}
				u.Write([]byte("to a closed port"))
				u.Close()
			}
			c, err := cnet.Dial("tcp", "10.0.0.2:5001")
			if err != nil {
				t.Error(err)
				return
			}
			conns = append(conns, c.(*sim.Conn).Stack())
			defer c.Close()
			buf := make([]byte, 32<<10)
			for done := int64(0); done < size; {
				m, err := c.Write(buf[:min(int64(len(buf)), size-done)])
				done += int64(m)
				if err != nil {
					t.Error(err)
					return
				}
			}
			c.(*sim.Conn).CloseWrite()
			io.Copy(io.Discard, c)
		})
	}
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if rec != nil {
		rec.Stop()
	}
	lc.conns = conns
	return rec, &lc
}

func page(t testing.TB, rec *Recorder) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := rec.Write(&b, Meta{Title: "test run", Lines: []string{"seed 7"}, Steps: []Step{{0, "1 start"}, {50 * time.Millisecond, "4 handshake <done>"}},
		Table: &Table{Header: []string{"flow"}, Rows: [][]string{{"1"}}}}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// elem is a generic XML element, to walk the decoded page.
type elem struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Kids    []elem     `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (e *elem) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// find returns the first element with the id.
func (e *elem) find(id string) *elem {
	if e.attr("id") == id {
		return e
	}
	for i := range e.Kids {
		if f := e.Kids[i].find(id); f != nil {
			return f
		}
	}
	return nil
}

// count counts elements named name whose class attribute matches re.
func (e *elem) count(name string, re *regexp.Regexp) int {
	n := 0
	if e.XMLName.Local == name && re.MatchString(e.attr("class")) {
		n++
	}
	for i := range e.Kids {
		n += e.Kids[i].count(name, re)
	}
	return n
}

// subpaths counts the moveto commands in the d attributes of the name
// elements whose class matches re (a path of many marks, one each).
func (e *elem) subpaths(name string, re *regexp.Regexp) int {
	n := 0
	if e.XMLName.Local == name && re.MatchString(e.attr("class")) {
		n += strings.Count(e.attr("d"), "M")
	}
	for i := range e.Kids {
		n += e.Kids[i].subpaths(name, re)
	}
	return n
}

func decode(t *testing.T, b []byte) *elem {
	t.Helper()
	var root elem
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	if err := d.Decode(&root); err != nil {
		t.Fatalf("the page is not well-formed XML: %v", err)
	}
	return &root
}

// A seeded lossy run: the ladder has one arrow per packet sent and one
// cross per drop, the time-sequence graph one mark per data segment, the
// page is well-formed and refers to nothing outside itself.
//
// With DNS, the lookup's query and answer, and the ICMP port unreachable
// answering a datagram to a closed port, are arrows of their own, so that
// the arrows still match the log one for one.
func TestReportCountsMatchTheLog(t *testing.T) {
	for _, dns := range []bool{false, true} {
		t.Run(map[bool]string{false: "tcp", true: "dns"}[dns], func(t *testing.T) { testReportCounts(t, dns) })
	}
}

func testReportCounts(t *testing.T, dns bool) {
	rec, lc := simulateDNS(t, 10, 40<<10, 1, 0.05, true, Options{}, dns)
	if lc.drops == 0 {
		t.Fatalf("seed 10 dropped nothing; the test needs a lossy run")
	}
	if dns && lc.datagrams < 4 {
		t.Fatalf("%d UDP and ICMP packets in the log, want at least a query, an answer, a datagram and its ICMP error", lc.datagrams)
	}
	if lc.sent > DefaultLadderMax {
		t.Fatalf("%d packets: more than the ladder draws", lc.sent)
	}
	b := page(t, rec)
	root := decode(t, b)
	lad := root.find("ladder")
	if lad == nil {
		t.Fatal("no ladder svg")
	}
	// The legend's samples are arrows too; count the packets' only.
	pkt := regexp.MustCompile(`^pkt \w+$`)
	if n := lad.count("line", pkt); n != lc.sent+lc.datagrams {
		t.Errorf("ladder has %d arrows, the log %d sent packets (%d TCP, %d UDP or ICMP)", n, lc.sent+lc.datagrams, lc.sent, lc.datagrams)
	}
	if n := lad.count("line", regexp.MustCompile(`^pkt (udp|icmp)$`)); n != lc.datagrams {
		t.Errorf("ladder has %d UDP and ICMP arrows, the log %d such packets", n, lc.datagrams)
	}
	if dns {
		for _, want := range []string{">UDP 53 DNS A? server.example<", ">UDP 53 DNS A server.example = 10.0.0.2<",
			">ICMP 3/3 port unreachable (udp 9)<", `class="pkt udp legend"`, `class="pkt icmp legend"`} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("the ladder lacks %s", want)
			}
		}
		if !regexp.MustCompile(`>UDP \d+ &gt; 9 len 16<`).Match(b) {
			t.Errorf("the ladder lacks the datagram to port 9")
		}
	} else if bytes.Contains(b, []byte("pkt udp")) || bytes.Contains(b, []byte("pkt icmp")) {
		t.Errorf("a run without UDP or ICMP draws their arrows or legend")
	}
	if n := lad.count("path", regexp.MustCompile(`^cross$`)) - 1; n != lc.drops { // minus the legend's
		t.Errorf("ladder has %d crosses, the log %d drops", n, lc.drops)
	}
	tsg := root.find("tsg-1")
	if tsg == nil {
		t.Fatal("no time-sequence graph")
	}
	if n := tsg.count("path", regexp.MustCompile(`^seg( rtx)?$`)); n != lc.dataSegs {
		t.Errorf("time-sequence graph has %d segment marks, the log %d data segments", n, lc.dataSegs)
	}
	if n := tsg.count("path", regexp.MustCompile(`^seg rtx$`)); n == 0 {
		t.Errorf("a lossy run's graph shows no retransmission")
	}
	// The Stevens-style graph: one dot per data segment, the
	// retransmitted ones apart, a cross per dropped one; no ACK line.
	stv := root.find("stevens-1")
	if stv == nil {
		t.Fatal("no Stevens-style time-sequence graph")
	}
	if n := stv.subpaths("path", regexp.MustCompile(`^sdot( rtx)?$`)); n != lc.dataSegs {
		t.Errorf("Stevens graph has %d dots, the log %d data segments", n, lc.dataSegs)
	}
	if a, b := stv.subpaths("path", regexp.MustCompile(`^sdot rtx$`)), tsg.count("path", regexp.MustCompile(`^seg rtx$`)); a != b || a == 0 {
		t.Errorf("Stevens graph has %d retransmitted dots, the tcptrace-style one %d bars", a, b)
	}
	if a, b := stv.subpaths("path", regexp.MustCompile(`^sdrop$`)), tsg.count("path", regexp.MustCompile(`^lostx$`)); a != b || a == 0 {
		t.Errorf("Stevens graph has %d drop crosses, the tcptrace-style one %d", a, b)
	}
	if n := stv.count("path", regexp.MustCompile(`^(ack|win|sack)$`)); n != 0 {
		t.Errorf("Stevens graph draws %d ACK, window or SACK lines, want none", n)
	}
	for _, id := range []string{"cwnd-1", "rtt-1"} {
		if root.find(id) == nil {
			t.Errorf("no %s graph", id)
		}
	}
	checkSelfContained(t, b)
	if !bytes.Contains(b, []byte("4 handshake &lt;done&gt;")) {
		t.Errorf("the steps are not drawn, escaped")
	}
}

func checkSelfContained(t *testing.T, b []byte) {
	t.Helper()
	s := strings.ToLower(string(b))
	for _, bad := range []string{"http://", "https://", "<link", "<script", "src=", "@import", "url(http"} {
		if strings.Contains(s, bad) {
			t.Errorf("the page contains %q: it must refer to nothing outside itself", bad)
		}
	}
}

// Same seed, same bytes; and recording changes no packet.
func TestReportDeterministic(t *testing.T) {
	r1, l1 := simulate(t, 3, 30<<10, 2, 0.03, true, Options{SampleEvery: 5 * time.Millisecond})
	r2, _ := simulate(t, 3, 30<<10, 2, 0.03, true, Options{SampleEvery: 5 * time.Millisecond})
	if !bytes.Equal(page(t, r1), page(t, r2)) {
		t.Error("two runs with the same seed wrote different reports")
	}
	_, l0 := simulate(t, 3, 30<<10, 2, 0.03, false, Options{})
	if !bytes.Equal(l0.digest, l1.digest) || l0.sent != l1.sent {
		t.Errorf("recording the report changed the packets: %d sent without, %d with", l0.sent, l1.sent)
	}
}

// Many flows: the CDF, the bars and the table; flows beyond MaxFlows are
// counted in a note, and a long run's ladder says what it left out.
func TestReportManyFlows(t *testing.T) {
	rec, _ := simulate(t, 1, 200<<10, 5, 0, true, Options{MaxFlows: 3, LadderMax: 50})
	b := page(t, rec)
	root := decode(t, b)
	for _, id := range []string{"fct-cdf", "goodput", "tsg-3", "cwnd-3", "rtt-3"} {
		if root.find(id) == nil {
			t.Errorf("no %s", id)
		}
	}
	if root.find("tsg-4") != nil || root.find("cwnd-4") != nil {
		t.Error("flow 4 has a graph with MaxFlows 3")
	}
	if n := root.find("goodput").count("rect", regexp.MustCompile("^bar$")); n != 5 {
		t.Errorf("%d goodput bars for 5 flows", n)
	}
	if n := root.find("ladder").count("line", regexp.MustCompile(`^pkt \w+$`)); n != 50 {
		t.Errorf("ladder with LadderMax 50 draws %d", n)
	}
	for _, want := range []string{"the first 50 packets are drawn", "flows beyond the first 3"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("no note %q", want)
		}
	}
	checkSelfContained(t, b)
}

// BenchmarkReport writes the report of a 100 MB transfer (about 100k
// packets): recording during the run, then Write.
func BenchmarkReport(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		rec, lc := simulate(b, 1, 100e6, 1, 0.0005, true, Options{})
		b.StartTimer()
		var out bytes.Buffer
		if err := rec.Write(&out, Meta{Title: "bench"}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(out.Len())/1e6, "MB")
		b.ReportMetric(float64(lc.sent), "packets")
	}
}

// Each graph cut out as its own SVG document is well-formed.
func TestPictures(t *testing.T) {
	rec, _ := simulate(t, 10, 40<<10, 1, 0.05, true, Options{})
	var names []string
	for _, p := range Pictures(page(t, rec)) {
		names = append(names, p.Name)
		var root elem
		if err := xml.Unmarshal(p.SVG, &root); err != nil || root.XMLName.Local != "svg" {
			t.Errorf("%s: not an SVG document: %v", p.Name, err)
		}
	}
	if got := strings.Join(names, ","); got != "ladder,tsg-1,stevens-1,cwnd-1,rtt-1,throughput-1" {
		t.Errorf("pictures %s", got)
	}
}

// No events, or events whose bytes are not IPv4+TCP: a well-formed page,
// no panic.
func TestReportEmptyAndGarbage(t *testing.T) {
	rec := New(Options{})
	b := page(t, rec)
	decode(t, b)
	if !bytes.Contains(b, []byte("No TCP packets were sent.")) {
		t.Error("an empty run's page does not say so")
	}
	rec = New(Options{})
	for i := range 200 {
		data := bytes.Repeat([]byte{byte(i), 0x45, 6, byte(i * 7)}, i%30)
		for _, v := range []sim.Verdict{sim.Sent, sim.Queued, sim.Delivered, sim.Dropped, sim.Corrupted} {
			rec.Event(&sim.Event{Time: time.Duration(i), Node: "a<b>", Link: "l", End: i % 2, Verdict: v, PktSeq: uint64(i), Data: data})
		}
	}
	decode(t, page(t, rec))
}

// BenchmarkRecord is the cost of recording during the run: the same 100 MB
// transfer without a Recorder and with one (sampling every 10 ms).
func BenchmarkRecord(b *testing.B) {
	for _, with := range []bool{false, true} {
		b.Run(fmt.Sprintf("report=%v", with), func(b *testing.B) {
			for b.Loop() {
				simulate(b, 1, 100e6, 1, 0.0005, with, Options{})
			}
		})
	}
}

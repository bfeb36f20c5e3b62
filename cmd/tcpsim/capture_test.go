package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/gopacket/pcapgo"
)

// readNg returns a pcapng's records per interface name.
func readNg(t *testing.T, name string) map[string][][]byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][][]byte{}
	for {
		data, ci, err := rd.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		intf, _ := rd.Interface(ci.InterfaceIndex)
		out[intf.Name] = append(out[intf.Name], append([]byte(nil), data...))
	}
	return out
}

// get --pcap server=FILE captures the server's end, --pcapng both ends and
// the drops; the pcapng's interfaces hold the pcaps' records, a drop
// interface holds what the link dropped, and the same seed writes the same
// bytes.
func TestGetCaptures(t *testing.T) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	args := []string{"get", "http://server.example/", "--dns", "off", "--size", "200KB", "--queue", "10", "--series", p("s.csv")}
	runOK(t, append(args, "--pcap", p("c.pcap"), "--pcap", "server="+p("s.pcap"), "--pcapng", p("all.pcapng"))...)
	runOK(t, append(args, "--pcapng", p("again.pcapng"))...)
	a, _ := os.ReadFile(p("all.pcapng"))
	b, _ := os.ReadFile(p("again.pcapng"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the same seed wrote two different pcapng files")
	}
	ng := readNg(t, p("all.pcapng"))
	for iface, pcap := range map[string]string{"client:wire": "c.pcap", "server:wire": "s.pcap"} {
		recs := readPcap(t, p(pcap))
		if len(recs) == 0 || len(recs) != len(ng[iface]) {
			t.Fatalf("%s: %d records, the pcapng's %s %d", pcap, len(recs), iface, len(ng[iface]))
		}
		for i := range recs {
			if !bytes.Equal(recs[i], ng[iface][i]) {
				t.Fatalf("%s record %d differs from the pcapng's", pcap, i)
			}
		}
	}
	var drops int64
	for _, r := range readSeriesCSV(t, p("s.csv")) {
		if r["kind"] == "link" && r["from"] == "server" {
			drops += atoi(t, r["drops"])
		}
	}
	if got := len(ng["wire:server→client:dropped (queue)"]); drops == 0 || int64(got) != drops {
		t.Errorf("drop interface holds %d packets, the link dropped %d (interfaces: %d)", got, drops, len(ng))
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (apt-get install tshark); skipping the Wireshark check of the pcapng")
	}
	// Nothing is malformed. (Each end's records are the pcap's, checked
	// above; read all at once, the two ends' copies of each segment make
	// one TCP stream to Wireshark, whose reassembly then reports
	// overlapping data as malformed: without reassembly nothing is.)
	for _, filter := range [][]string{
		{"-o", "tcp.desegment_tcp_streams:FALSE", "-Y", "_ws.malformed || _ws.expert.severity == error"},
	} {
		out, err := exec.Command(tshark, append([]string{"-n", "-r", p("all.pcapng")}, filter...)...).Output()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("tshark %v (%v) flags:\n%.2000s", filter, err, out)
		}
	}
	out, err := exec.Command(tshark, "-n", "-r", p("all.pcapng"), "-Y", `frame.interface_name == "server:wire" && tcp.srcport == 80`, "-T", "fields", "-e", "tcp.len").Output()
	if err != nil {
		t.Fatal(err)
	}
	var sent int
	for _, l := range strings.Fields(string(out)) {
		var n int
		for _, c := range l {
			n = n*10 + int(c-'0')
		}
		sent += n
	}
	if sent < 200_000 {
		t.Errorf("tshark counts %d payload bytes sent by the server at its end, want at least the page", sent)
	}
}

func TestCaptureFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "http://server.example/", "--pcap", "router=x.pcap"}, `no host "router"`},
		{[]string{"transfer", "--pcap", "a.pcap", "--pcap", "b.pcap"}, "already written to a.pcap"},
		{[]string{"transfer", "--pcap", "server="}, "HOST=FILE"},
		{[]string{"transfer", "--pcapng", ""}, `--pcapng ""`},
		{[]string{"transfer", "--pcapng", "no/such/dir/x.pcapng"}, "--pcapng no/such/dir/x.pcapng"},
		{[]string{"transfer", "--pcap", "client@wire=x.pcap"}, "one link"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%q: status %d, stderr %q; want %d and %q", c.args, code, stderr.String(), exitUsage, c.want)
		}
	}
}

// run --pcap NODE=FILE and --pcapng: the node's pcap is its end of its
// link in the network's pcapng; bad places are usage errors.
func TestRunCaptures(t *testing.T) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	os.WriteFile(p("s.yaml"), []byte(`hosts: [{name: a}, {name: b, listen: [{port: 9}]}]
routers: [{name: r}]
links: [{a: a, b: r}, {name: slow, a: r, b: b, rate: 2mbit, delay: 5ms, queue: 5}]
flows: [{from: a, to: b, port: 9, size: 100KB}]
`), 0o644)
	runOK(t, "run", p("s.yaml"), "--pcap", "b="+p("b.pcap"), "--pcap", "r="+p("r.pcapng"), "--pcapng", p("all.pcapng"))
	ng := readNg(t, p("all.pcapng"))
	b := readPcap(t, p("b.pcap"))
	if len(b) == 0 || len(b) != len(ng["b:slow"]) || len(readNg(t, p("r.pcapng"))) != 3 || len(ng["slow:r→b:dropped (queue)"]) == 0 {
		t.Errorf("b.pcap %d records; the pcapng's interfaces %d, b:slow %d, drops %d", len(b), len(ng), len(ng["b:slow"]), len(ng["slow:r→b:dropped (queue)"]))
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--pcap", p("x.pcap")}, "say where, as NODE=FILE"},
		{[]string{"--pcap", "r=" + p("x.pcap")}, "a pcap holds one link end and r has 2 links"},
		{[]string{"--pcap", "q=" + p("x.pcap")}, `capture at "q": no host or router`},
		{[]string{"--pcap", "r@fast=" + p("x.pcap")}, `r has no link "fast"`},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"run", p("s.yaml")}, c.args...), &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%q: status %d, stderr %q; want %d and %q", c.args, code, stderr.String(), exitUsage, c.want)
		}
	}
}

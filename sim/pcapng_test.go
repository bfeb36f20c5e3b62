package sim

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

// ngOf replays the log of the capture test's scenario into a pcapng of
// every link end, with drops.
func ngOf(t *testing.T, seed uint64) (*World, []byte, []byte, []byte) {
	t.Helper()
	w, rside, sside := scenario(t, seed)
	var b bytes.Buffer
	c, err := w.CaptureAll(&b, NgOptions{Drops: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range w.Log().Events() {
		c.Event(&e)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return w, b.Bytes(), rside, sside
}

// The pcapng holds, per link end, exactly the records the one-end pcap
// capture holds, and the drops of each direction on interfaces named by
// link, direction and reason; the same seed writes the same bytes.
func TestNgCapture(t *testing.T) {
	w, ng, rside, sside := ngOf(t, 11)
	_, ng2, _, _ := ngOf(t, 11)
	if !bytes.Equal(ng, ng2) {
		t.Fatal("same seed: pcapng files differ")
	}
	rd, err := pcapgo.NewNgReader(bytes.NewReader(ng), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	perIface := map[int][][]byte{}
	for {
		data, ci, err := rd.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		perIface[ci.InterfaceIndex] = append(perIface[ci.InterfaceIndex], append([]byte(nil), data...))
	}
	names := map[string]int{}
	for i := range rd.NInterfaces() {
		intf, _ := rd.Interface(i)
		names[intf.Name] = i
	}
	if want := 2 * len(w.Links()); len(names) <= want {
		t.Fatalf("%d interfaces (%v), want the %d link ends and some drop interfaces", len(names), names, want)
	}
	for _, c := range []struct {
		name string
		pcap []byte
	}{{"r:r-srv", rside}, {"srv:r-srv", sside}} {
		id, ok := names[c.name]
		if !ok {
			t.Fatalf("no interface %q in %v", c.name, names)
		}
		pr, err := pcapgo.NewReader(bytes.NewReader(c.pcap))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ; ; n++ {
			data, _, err := pr.ReadPacketData()
			if err != nil {
				break
			}
			if n >= len(perIface[id]) || !bytes.Equal(perIface[id][n], data) {
				t.Fatalf("%s: record %d differs from the pcap's", c.name, n)
			}
		}
		if n != len(perIface[id]) || n == 0 {
			t.Fatalf("%s: %d records in the pcapng, %d in the pcap", c.name, len(perIface[id]), n)
		}
	}
	// Every drop of the bottleneck's r→srv direction is on a drop
	// interface of that direction named by its reason.
	wantDrops := map[string]int{}
	for _, e := range w.Log().Events() {
		if e.Verdict == Dropped && e.Link == "r-srv" && (e.End == 0) == (e.Dir == Out) {
			wantDrops[e.Reason]++
		}
	}
	if len(wantDrops) < 2 {
		t.Fatalf("the scenario dropped too little on r→srv: %v", wantDrops)
	}
	for reason, n := range wantDrops {
		id, ok := names["r-srv:r→srv:dropped ("+reason+")"]
		if !ok || len(perIface[id]) != n {
			t.Errorf("drops (%s): %d in the log, interface found %v with %d records", reason, n, ok, len(perIface[id]))
		}
	}
}

// tshark reads the pcapng, names its interfaces and finds nothing
// malformed.
func TestNgCaptureTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (apt-get install tshark); skipping the Wireshark check of the pcapng")
	}
	_, ng, _, _ := ngOf(t, 12)
	path := filepath.Join(t.TempDir(), "all.pcapng")
	if err := os.WriteFile(path, ng, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(tshark, "-n", "-r", path, "-Y", "_ws.malformed || _ws.expert.severity == error")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Fatalf("tshark flags malformed packets:\n%.2000s", s)
	}
	out, err = exec.Command(tshark, "-n", "-r", path, "-T", "fields", "-e", "frame.interface_name").Output()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		counts[l]++
	}
	if counts["srv:r-srv"] < 100 || counts["h1:h1-r"] < 100 {
		t.Errorf("tshark's interface names and counts: %v", counts)
	}
	dropped := 0
	for name, n := range counts {
		if strings.Contains(name, ":dropped (") {
			dropped += n
		}
	}
	if dropped == 0 {
		t.Errorf("tshark sees no packet on a drop interface: %v", counts)
	}
}

func TestNgCaptureErrors(t *testing.T) {
	var none *NgCapture
	none.Event(&Event{Verdict: Sent, Data: []byte{1}}) // no panic: ignored
	w := New(Config{})
	if _, err := w.CaptureAll(io.Discard, NgOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no links: %v", err)
	}
	other := New(Config{})
	l, _ := other.NewLink(Symmetric("x", DirConfig{}))
	if _, err := w.CaptureAll(io.Discard, NgOptions{Ends: []*LinkEnd{l.End(0)}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("another world's end: %v", err)
	}
}

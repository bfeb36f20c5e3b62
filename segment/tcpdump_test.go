package segment

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// TestStringMatchesTcpdump writes packets to a pcap file, has the real
// tcpdump print them (-n -S -t: numeric, absolute sequence numbers, no
// timestamp) and compares each line with Packet.String. Since String prints
// the options in our encoded order, the two must agree exactly on packets we
// encoded.
func TestStringMatchesTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump is not installed; skipping the comparison of String with tcpdump's output")
	}
	var pkts []Packet
	pkts = append(pkts, goldenSYNPacket)
	for seed := uint64(0); seed < 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 41))
		p := randPacket(rng)
		p.IP.Options = nil // tcpdump shows IPv4 options only with -v
		// High ports, so that tcpdump does not go on to decode the payload
		// as some application protocol.
		p.TCP.SrcPort = uint16(40000 + rng.IntN(20000))
		p.TCP.DstPort = uint16(40000 + rng.IntN(20000))
		// Unknown options only of kinds tcpdump has no name for.
		var u []byte
		for o := p.TCP.Options.Unknown; len(o) > 0; o = o[o[1]:] {
			opt := bytes.Clone(o[:o[1]])
			opt[0] = byte(100 + rng.IntN(100))
			u = append(u, opt...)
		}
		p.TCP.Options.Unknown = u
		pkts = append(pkts, p)
	}

	path := filepath.Join(t.TempDir(), "wire.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	for i := range pkts {
		b, err := pkts[i].Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i), 0), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	out, err := exec.Command(tcpdump, "-n", "-S", "-t", "-r", path).Output()
	if err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	i := 0
	for ; sc.Scan(); i++ {
		if i >= len(pkts) {
			t.Fatalf("tcpdump printed more lines than packets: %q", sc.Text())
		}
		want := strings.TrimPrefix(sc.Text(), "IP ")
		if got := pkts[i].String(); got != want {
			t.Errorf("packet %d:\n ours    %s\n tcpdump %s", i, got, want)
		}
	}
	if i != len(pkts) {
		t.Fatalf("tcpdump printed %d lines for %d packets", i, len(pkts))
	}
}

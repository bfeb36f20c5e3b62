package scenario

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/gopacket/pcapgo"
)

const captureSrc = `
seed: 3
sample: 20ms
hosts:
  - name: a
  - name: b
    listen: [{port: 9}]
routers: [{name: r}]
links:
  - {a: a, b: r, rate: 100mbit, delay: 1ms}
  - {name: slow, a: r, b: b, rate: 2mbit, delay: 10ms, queue: 8}
flows:
  - {from: a, to: b, port: 9, size: 150KB}
`

// A pcap at b's end, a pcapng of r's two ends and one of the whole
// network: b's interface in the pcapngs holds the pcap's records, the
// drops at slow's queue are on their own interface and are the series'
// drops, and the same seed writes the same bytes.
func TestCaptures(t *testing.T) {
	run := func() (pcap, rng, all []byte, res *Result) {
		var p, r1, a bytes.Buffer
		res, err := Run(parseOK(t, captureSrc), Options{Captures: []Capture{
			{Node: "b", Out: &p}, {Node: "r", NG: true, Out: &r1}, {NG: true, Out: &a}}})
		if err != nil || res.Failed() > 0 {
			t.Fatalf("run: %v %v", err, res.Flows[0].Err)
		}
		return p.Bytes(), r1.Bytes(), a.Bytes(), res
	}
	pcap, rng, all, res := run()
	_, rng2, all2, _ := run()
	if !bytes.Equal(rng, rng2) || !bytes.Equal(all, all2) {
		t.Error("the same seed wrote different pcapng files")
	}
	read := func(b []byte) map[string][][]byte {
		rd, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][][]byte{}
		for {
			data, ci, err := rd.ReadPacketData()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			intf, _ := rd.Interface(ci.InterfaceIndex)
			out[intf.Name] = append(out[intf.Name], append([]byte(nil), data...))
		}
	}
	whole, atR := read(all), read(rng)
	if len(atR) != 3 || atR["r:slow"] == nil || atR["r:a-r"] == nil {
		t.Errorf("r's pcapng: interfaces %v", keys(atR))
	}
	if len(whole) != 5 {
		t.Errorf("the network's pcapng: interfaces %v, want the 4 link ends and slow's drops", keys(whole))
	}
	pr, err := pcapgo.NewReader(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; ; n++ {
		data, _, err := pr.ReadPacketData()
		if err != nil {
			break
		}
		if n >= len(whole["b:slow"]) || !bytes.Equal(data, whole["b:slow"][n]) {
			t.Fatalf("b's pcap record %d is not the pcapng's", n)
		}
	}
	if n == 0 || n != len(whole["b:slow"]) {
		t.Errorf("b: %d pcap records, %d in the pcapng", n, len(whole["b:slow"]))
	}
	var drops uint64
	for _, l := range res.Series.Links() {
		for _, p := range l.Points {
			drops += p.Drops
		}
	}
	if d := whole["slow:r→b:dropped (queue)"]; drops == 0 || uint64(len(d)) != drops || len(atR["slow:r→b:dropped (queue)"]) != len(d) {
		t.Errorf("drop interface: %d packets; the series counts %d drops", len(d), drops)
	}
}

func keys(m map[string][][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

func TestCaptureErrors(t *testing.T) {
	s := parseOK(t, captureSrc)
	for _, c := range []struct {
		cap  Capture
		want string
	}{
		{Capture{Node: "x", Out: io.Discard}, `capture at "x": no host or router has this name`},
		{Capture{Node: "r", Out: io.Discard}, "a pcap holds one link end and r has 2 links (a-r, slow); name one (r@a-r)"},
		{Capture{Node: "r", Link: "nope", Out: io.Discard}, `r has no link "nope" (its links: a-r, slow)`},
		{Capture{Out: io.Discard}, "every link end needs pcapng"},
		{Capture{Node: "a"}, "no writer"},
	} {
		err := s.CheckCaptures([]Capture{c.cap})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cap, err, c.want)
		}
		if _, err := Run(s, Options{Captures: []Capture{c.cap}}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run with %+v: %v", c.cap, err)
		}
	}
	if err := s.CheckCaptures([]Capture{{Node: "r", Link: "slow", Out: io.Discard}}); err != nil {
		t.Errorf("r@slow: %v", err)
	}
}

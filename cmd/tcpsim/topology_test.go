package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
)

func decodeTransfer(t *testing.T, args ...string) runDoc {
	t.Helper()
	var doc runDoc
	if err := json.Unmarshal([]byte(runOK(t, append([]string{"transfer", "--json"}, args...)...)), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// runUsage runs tcpsim expecting a usage error (status 2) and returns its
// first line of standard error.
func runUsage(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != exitUsage {
		t.Fatalf("tcpsim %s: exit status %d, want %d\nstderr: %s", strings.Join(args, " "), code, exitUsage, stderr.String())
	}
	line, _, _ := strings.Cut(stderr.String(), "\n")
	return line
}

// --up-rate and --down-rate give each direction its own rate: a flow's
// goodput each way is close to, and never above, its direction's rate;
// one direction's flag leaves the other at --rate.
func TestTransferAsymmetricRates(t *testing.T) {
	link := []string{"--size", "1MB", "--up-rate", "2mbit", "--down-rate", "8mbit"}
	d := decodeTransfer(t, link...)
	if want := "delay 25ms, rate 2mbit up / 8mbit down, mtu 1500, queue 100"; d.Link != want {
		t.Errorf("link %q, want %q", d.Link, want)
	}
	rv := decodeTransfer(t, append(link, "--reverse")...)
	if up, down := d.Flows[0].Goodput, rv.Flows[0].Goodput; up < 1.8e6 || up > 2e6 || down < 6.5e6 || down > 8e6 {
		t.Errorf("over 2mbit up / 8mbit down: goodput %.2f Mbit/s up, %.2f Mbit/s down", up/1e6, down/1e6)
	}
	fw := decodeTransfer(t, "--size", "1MB", "--rate", "4mbit", "--down-rate", "1mbit").Flows[0]
	if g := fw.Goodput; g < 3.6e6 || g > 4e6 {
		t.Errorf("up at --rate 4mbit with --down-rate 1mbit: %.2f Mbit/s", g/1e6)
	}
}

// --up-delay and --down-delay add up to the handshake's round trip, and
// --up-loss drops only what the client sends.
func TestTransferAsymmetricDelayLoss(t *testing.T) {
	f := decodeTransfer(t, "--size", "100KB", "--rate", "0", "--up-delay", "10ms", "--down-delay", "40ms").Flows[0]
	if f.HandshakeMS < 50 || f.HandshakeMS > 50.5 {
		t.Errorf("handshake RTT %.3f ms over 10 ms up and 40 ms down, want 50", f.HandshakeMS)
	}
	f = decodeTransfer(t, "--size", "500KB", "--rate", "0", "--reverse", "--up-loss", "10%").Flows[0]
	if f.Status != "completed" || f.Delivered[0] >= f.Packets[0] || f.Delivered[1] != f.Packets[1] {
		t.Errorf("--up-loss 10%%: client sent %d, %d delivered; server sent %d, %d delivered (%s)",
			f.Packets[0], f.Delivered[0], f.Packets[1], f.Delivered[1], f.Status)
	}
	out := runOK(t, "get", "http://server.example/", "--down-rate", "1mbit", "--up-delay", "5ms")
	if !strings.Contains(out, "link: delay 5ms up / 25ms down, rate 10mbit up / 1mbit down, mtu 1500") {
		t.Errorf("get's link line:\n%s", out)
	}
}

func TestTransferDirectionFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "5mbit", "--up-rate", "1mbit", "--down-rate", "2mbit"}, "--rate 5mbit is unused: --up-rate and --down-rate set both directions"},
		{[]string{"--delay", "5ms", "--up-delay", "1ms", "--down-delay", "2ms"}, "--delay 5ms is unused"},
		{[]string{"--loss", "1%", "--up-loss", "1%", "--down-loss", "2%"}, "--loss 1% is unused"},
		{[]string{"--down-loss", "1%", "--loss-ge", "1%,10%"}, "--down-loss 1% and --loss-ge"},
		{[]string{"--reorder", "5%", "--up-delay", "0s"}, "--reorder 5% needs a non-zero --up-delay"},
		{[]string{"--up-rate", "fast"}, "--up-rate"},
	} {
		if got := runUsage(t, append([]string{"transfer"}, c.args...)...); !strings.Contains(got, c.want) {
			t.Errorf("%v: %q, want it to contain %q", c.args, got, c.want)
		}
	}
}

// ipv4 returns the IPv4 header's TTL and source and destination addresses
// of a captured packet (raw IP, as tcpsim's captures are).
func ipv4(t *testing.T, p []byte) (ttl byte, src, dst netip.Addr) {
	t.Helper()
	if len(p) < 20 || p[0]>>4 != 4 {
		t.Fatalf("not an IPv4 packet: % x", p[:min(len(p), 20)])
	}
	return p[8], netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20]))
}

// A dumbbell's flows all cross the one link between its routers, each from
// its client to that client's own server, and share its rate.
func TestTransferDumbbell(t *testing.T) {
	ng := filepath.Join(t.TempDir(), "d.pcapng")
	d := decodeTransfer(t, "--topology", "dumbbell:3", "--flows", "6", "--size", "300KB", "--pcapng", ng)
	seen := map[[2]netip.Addr]int{}
	for _, p := range readNg(t, ng)["router1:wire"] {
		_, src, dst := ipv4(t, p)
		seen[[2]netip.Addr{src, dst}]++
	}
	var bytes int64
	var last float64
	for i, f := range d.Flows {
		c, s := netip.MustParseAddrPort(f.Client).Addr(), netip.MustParseAddrPort(f.Server).Addr()
		k := i % 3
		if c != clientHostPrefix(k+1).Addr() || s != serverHostPrefix(k+1).Addr() || f.Status != "completed" {
			t.Errorf("flow %d: %v -> %v (%s), want client%d %v -> server%d %v", i+1, c, s, f.Status, k+1, clientHostPrefix(k+1).Addr(), k+1, serverHostPrefix(k+1).Addr())
		}
		if seen[[2]netip.Addr{c, s}] == 0 || seen[[2]netip.Addr{s, c}] == 0 {
			t.Errorf("flow %d's packets do not cross the bottleneck both ways", i+1)
		}
		bytes += f.Bytes[0]
		last = max(last, f.LastByte)
	}
	if len(seen) != 6 {
		t.Errorf("the bottleneck carries %d client-server directions, want 6 (3 pairs, both ways)", len(seen))
	}
	// Together they cannot beat the bottleneck's 10 Mbit/s, and they
	// fill most of it.
	if g := float64(bytes) * 8 / last; g > 10e6 || g < 7e6 {
		t.Errorf("aggregate goodput %.2f Mbit/s over a 10mbit bottleneck", g/1e6)
	}
	// The access links are fast: one pair's flow goes as fast as two
	// hosts on the link.
	one := decodeTransfer(t, "--topology", "dumbbell:1", "--size", "1MB").Flows[0]
	two := decodeTransfer(t, "--size", "1MB").Flows[0]
	if r := one.Goodput / two.Goodput; r < 0.97 || r > 1.03 {
		t.Errorf("dumbbell:1 goodput %.3f Mbit/s, two hosts %.3f", one.Goodput/1e6, two.Goodput/1e6)
	}
}

// A chain's routers each decrement the TTL, every hop is the link the
// flags describe (4 hops of 25 ms: a 200 ms handshake), and get fetches
// over it.
func TestChainHops(t *testing.T) {
	ng := filepath.Join(t.TempDir(), "c.pcapng")
	d := decodeTransfer(t, "--topology", "chain:3", "--size", "100KB", "--pcapng", ng)
	f := d.Flows[0]
	if f.Client != "10.0.0.1:"+strings.Split(f.Client, ":")[1] || !strings.HasPrefix(f.Server, "10.0.3.2:") || f.Status != "completed" {
		t.Errorf("flow %s -> %s (%s)", f.Client, f.Server, f.Status)
	}
	if f.HandshakeMS < 200 || f.HandshakeMS > 201 {
		t.Errorf("handshake RTT %.3f ms over 4 hops of 25 ms, want 200", f.HandshakeMS)
	}
	caps := readNg(t, ng)
	for hop, want := range map[string]byte{"client:hop1": 64, "router1:hop2": 63, "router2:hop3": 62, "router3:hop4": 61} {
		ps := caps[hop]
		var n int
		for _, p := range ps {
			ttl, src, _ := ipv4(t, p)
			if src == netip.MustParseAddr("10.0.0.1") {
				n++
				if ttl != want {
					t.Fatalf("%s: the client's packet has TTL %d, want %d", hop, ttl, want)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: none of the client's packets (interfaces: %d)", hop, len(caps))
		}
	}
	out := runOK(t, "get", "http://server.example/", "--topology", "chain:2")
	for _, want := range []string{"path: client 10.0.0.1, 2 router(s), server 10.0.2.2: 3 hops, each the link below",
		"hosts: client 10.0.0.1, server 10.0.2.2;", "three-way handshake: SYN at 0.150386"} {
		if !strings.Contains(out, want) {
			t.Errorf("get over chain:2: no %q in\n%s", want, out)
		}
	}
}

// --topology star:N is --clients N, packet for packet.
func TestTopologyStarIsClients(t *testing.T) {
	a := runOK(t, "transfer", "--size", "200KB", "--flows", "4", "--clients", "2")
	b := runOK(t, "transfer", "--size", "200KB", "--flows", "4", "--topology", "star:2")
	_, a, _ = strings.Cut(a, "\n")
	_, b, _ = strings.Cut(b, "\n")
	if _, rest, ok := strings.Cut(b, "\n"); !ok || !strings.HasPrefix(b, "topology: star, clients 10.1.0.1 … 10.1.1.1") || rest != a {
		t.Errorf("--clients 2:\n%s\n--topology star:2:\n%s", a, b)
	}
}

func TestTopologyErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"transfer", "--topology", "ring:3"}, `invalid argument "ring:3" for "--topology" flag: want star:N, dumbbell:N or chain:N`},
		{[]string{"transfer", "--topology", "dumbbell"}, "give the number of client-server pairs after a colon, e.g. dumbbell:3"},
		{[]string{"transfer", "--topology", "chain:33"}, `"33": want 1 to 32 routers`},
		{[]string{"transfer", "--topology", "star:0"}, `"0": want 1 to 10000 client hosts`},
		{[]string{"transfer", "--topology", "dumbbell:2", "--clients", "2"}, "--clients 2 and --topology dumbbell:2 are exclusive"},
		{[]string{"transfer", "--topology", "chain:2", "--flows", "20000"}, "--flows 20000 over --topology chain:2 is 20000 flows per client host; one client address has 16384 ports toward the server's port (a chain has one client host: at most 16384 flows)"},
		{[]string{"get", "http://server.example/", "--topology", "dumbbell:2"}, "get fetches from one client, so its one shape is chain:N"},
		{[]string{"get", "http://server.example/", "--topology", "chain:2", "--repeat", "3"}, "--topology chain:2 and --repeat are exclusive"},
	} {
		if got := runUsage(t, c.args...); !strings.Contains(got, c.want) {
			t.Errorf("%v: %q, want it to contain %q", c.args, got, c.want)
		}
	}
}

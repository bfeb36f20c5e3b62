package main

import (
	"bytes"
	"encoding/json"
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

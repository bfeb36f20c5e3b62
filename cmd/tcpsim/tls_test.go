package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/cryptotest"
)

func getOut(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"get"}, args...), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// https:// runs crypto/tls over the simulated connection: the handshake is
// its own line with its round trips, TLS 1.3 taking one and TLS 1.2 two,
// and each flight of records below it, in the order they left.
func TestGetHTTPS(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    []string
		trips   string
		flights []string // each flight's side and records, in order
	}{
		{[]string{"https://server.example/"}, []string{"TLS handshake: TLS 1.3, TLS_AES_128_GCM_SHA256", "port 443, the default for https", `"200 OK" back: 10240 body bytes`}, "1 round trip(s) before the request",
			[]string{"client  ClientHello (", "server  ServerHello, ChangeCipherSpec, 4 encrypted records (", "client  ChangeCipherSpec, 1 encrypted record ("}},
		{[]string{"https://server.example/", "--tls", "1.2"}, []string{"TLS handshake: TLS 1.2, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "= 2.0 × the 0.050096 s RTT"}, "2 round trip(s) before the request",
			[]string{"client  ClientHello (", "server  ServerHello, Certificate, ServerKeyExchange, ServerHelloDone (", "client  ClientKeyExchange, ChangeCipherSpec, Finished (encrypted) (", "server  ChangeCipherSpec, Finished (encrypted) ("}},
		{[]string{"https://server.example:8443/x", "--tls", "1.3", "--nodelay"}, []string{"port 8443, from the URL", "GET /x sent: "}, "1 round trip(s) before the request", nil},
	} {
		out, errs, code := getOut(t, tc.args...)
		if code != exitOK {
			t.Fatalf("get %v: exit %d\n%s%s", tc.args, code, out, errs)
		}
		for _, w := range append(tc.want, tc.trips, tlsNote) {
			if !strings.Contains(out, w) {
				t.Errorf("get %v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
		if tc.flights == nil {
			continue
		}
		// The flights are the lines between the handshake line and step 5.
		var got []string
		in := false
		for _, l := range strings.Split(out, "\n") {
			switch {
			case strings.Contains(l, "TLS handshake: "):
				in = true
			case in && strings.HasPrefix(l, "5 "):
				in = false
			case in:
				got = append(got, strings.TrimSpace(l))
			}
		}
		if len(got) != len(tc.flights) {
			t.Fatalf("get %v: %d flight lines, want %d:\n%s", tc.args, len(got), len(tc.flights), strings.Join(got, "\n"))
		}
		var last float64
		for i, w := range tc.flights {
			var at float64
			if _, err := fmt.Sscan(got[i], &at); err != nil || at < last || !strings.Contains(got[i], w) {
				t.Errorf("get %v: flight %d is %q, want %q after %.6f", tc.args, i+1, got[i], w, last)
			}
			last = at
		}
	}
	// Without --nodelay the request waits for the ACK of the client's
	// Finished (Nagle), and the story says so.
	out, _, _ := getOut(t, "https://server.example/")
	if !strings.Contains(out, "Nagle's algorithm held it") {
		t.Errorf("no Nagle note:\n%s", out)
	}
	out, _, _ = getOut(t, "https://server.example/", "--nodelay")
	if strings.Contains(out, "Nagle's algorithm held it") {
		t.Errorf("Nagle note with --nodelay:\n%s", out)
	}
}

// The body arrives intact through loss; what is printed is the same on
// every run (the key bytes differ, their sizes and times do not).
func TestGetHTTPSLossSameStory(t *testing.T) {
	args := []string{"https://server.example/big", "--size", "200KB", "--loss", "5%", "--seed", "3"}
	a, errs, code := getOut(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, a, errs)
	}
	if !strings.Contains(a, "retransmission") {
		t.Fatalf("no retransmission at 5%% loss:\n%s", a)
	}
	b, _, _ := getOut(t, args...)
	if a != b {
		t.Errorf("two runs printed different stories:\n%s\n---\n%s", a, b)
	}
}

// With Go's cryptographic randomness fixed (testing/cryptotest, for tests
// only), the packets are byte for byte the same; tshark decodes them as
// TLS.
func TestGetHTTPSDeterministicPcap(t *testing.T) {
	dir := t.TempDir()
	var pcaps [2][]byte
	for i := range pcaps {
		cryptotest.SetGlobalRandom(t, 42)
		p := filepath.Join(dir, "tls.pcap")
		if out, errs, code := getOut(t, "https://server.example/", "--pcap", p); code != exitOK {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		var err error
		if pcaps[i], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(pcaps[0], pcaps[1]) {
		t.Fatal("same seed and the same crypto randomness gave different pcaps")
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (apt-get install tshark); skipping the TLS decode check")
	}
	p := filepath.Join(dir, "tls.pcap")
	out, err := exec.Command(tshark, "-n", "-r", p, "-Y", "tls.handshake.type", "-T", "fields", "-e", "tls.handshake.type").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	got := strings.Fields(string(out))
	if len(got) < 2 || got[0] != "1" || !strings.HasPrefix(got[1], "2") {
		t.Errorf("tshark found handshake types %q, want a ClientHello (1) then a ServerHello (2)", got)
	}
}

func TestGetHTTPSFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"http://server.example/", "--tls", "1.2"}, "is not https://"},
		{[]string{"https://server.example/", "--tls", "1.1"}, "want 1.3 or 1.2"},
		{[]string{"ftp://server.example/"}, "want http or https"},
	} {
		_, errs, code := getOut(t, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("get %v: exit %d, %q; want exit %d with %q", tc.args, code, errs, exitUsage, tc.want)
		}
	}
}

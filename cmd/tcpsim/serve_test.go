package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim/tun/tuntest"
)

// The test binary doubles as the tcpsim command: with TCPSIM_TEST_AS_MAIN=1
// in its environment it runs the CLI on its arguments and exits. The TUN
// tests start it that way inside a namespace (ip netns exec), so that they
// can interrupt it like a user pressing Ctrl-C.
func init() {
	if os.Getenv("TCPSIM_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
}

// TestServeUsageErrors checks the flag errors of serve and get --tun; they
// need no device.
func TestServeUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--tun is required"},
		{[]string{"serve", "--tun", "tun0", "--addr", "192.0.2.2"}, `--addr "192.0.2.2": want an IPv4 address with a prefix length`},
		{[]string{"serve", "--tun", "tun0", "--addr", "2001:db8::1/64"}, "want an IPv4 address"},
		{[]string{"serve", "--tun", "tun0", "--addr", "192.0.2.2/32"}, "room for the kernel's address"},
		{[]string{"serve", "--tun", "tun0", "--mss", "1000"}, "--mss 1000 is not supported with --tun"},
		{[]string{"serve", "--tun", "tun0", "--port", "0"}, "--port"},
		{[]string{"serve", "--tun", "tun0", "--reorder", "10%"}, "needs a non-zero --delay"},
		{[]string{"serve", "--tun", "tun0", "extra"}, "unknown command"},
		{[]string{"serve", "--tun", "tun0", "--file", ""}, `--file "": want the name of a file to serve`},
		{[]string{"get", "--tun", "tun0", "--size", "1MB", "http://192.0.2.1/"}, "--size does not apply with --tun"},
		{[]string{"get", "--tun", "tun0", "--dns", "on", "http://192.0.2.1/"}, "--dns does not apply with --tun"},
		{[]string{"get", "--tun", "tun0", "--reorder", "5%", "http://192.0.2.1/"}, "needs a non-zero --delay"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("tcpsim %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errb.String(), exitUsage, tc.want)
		}
	}
}

// TestServeDeviceErrors: a missing or down device is a run failure whose
// message says how to fix it.
func TestServeDeviceErrors(t *testing.T) {
	ns := tuntest.NewNamespace(t)
	ns.IP("tuntap", "add", "dev", "down0", "mode", "tun")
	for _, tc := range []struct {
		dev, want string
	}{
		{"nosuch0", "ip tuntap add dev nosuch0 mode tun"},
		{"down0", "ip link set down0 up"},
	} {
		var out, errb bytes.Buffer
		code := run([]string{"serve", "--netns", ns.Name, "--tun", tc.dev}, &out, &errb)
		if code != exitFailure || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("serve --tun %s: exit %d, stderr %q; want exit %d and %q", tc.dev, code, errb.String(), exitFailure, tc.want)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"get", "--netns", ns.Name, "--tun", "nosuch0", "http://192.0.2.1/"}, &out, &errb); code != exitFailure ||
		!strings.Contains(errb.String(), "device not found") {
		t.Errorf("get --tun nosuch0: exit %d, stderr %q; want exit 1 and \"device not found\"", code, errb.String())
	}
}

func sizedSum(n int64) [32]byte {
	h := sha256.New()
	sizedBody(h, n)
	return [32]byte(h.Sum(nil))
}

// startServe runs `tcpsim serve args...` inside ns as a child process and
// waits until it serves. It returns the process and its stdout so far (the
// rest keeps arriving in out).
func startServe(t *testing.T, ns *tuntest.Namespace, out *syncBuffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := ns.Command(context.Background(), append([]string{os.Args[0], "serve"}, args...)...)
	cmd.Env = append(os.Environ(), "TCPSIM_TEST_AS_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Start(cmd); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sent := false
		for sc.Scan() {
			out.WriteLine(sc.Text())
			if !sent && strings.HasPrefix(sc.Text(), "serving ") {
				ready <- true
				sent = true
			}
		}
		out.Close()
		if !sent {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatalf("tcpsim serve exited before serving: %s\nstdout: %s", stderr.String(), out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("tcpsim serve did not start serving within 30 s\nstdout: %s", out.String())
	}
	return cmd
}

// syncBuffer collects lines from one goroutine for another.
type syncBuffer struct {
	mu   chan struct{}
	b    strings.Builder
	done chan struct{}
}

func newSyncBuffer() *syncBuffer {
	return &syncBuffer{mu: make(chan struct{}, 1), done: make(chan struct{})}
}

func (s *syncBuffer) WriteLine(l string) {
	s.mu <- struct{}{}
	s.b.WriteString(l + "\n")
	<-s.mu
}

func (s *syncBuffer) Close() { close(s.done) }

func (s *syncBuffer) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

// curlSum fetches url with curl in ns and returns the body's length and hash.
func curlSum(t *testing.T, ns *tuntest.Namespace, url string) (int, [32]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body, err := ns.Run(ctx, "curl", "--silent", "--show-error", "--fail", "--output", "-", url)
	if err != nil {
		t.Fatal(err)
	}
	return len(body), sha256.Sum256(body)
}

// TestServeCurl runs `tcpsim serve` on a TUN device in a namespace, fetches
// from it with curl (with faults on tcpsim's side, a capture and a trace),
// then interrupts it as Ctrl-C would: it must stop with status 0, print
// each connection's summary, and leave a capture of the traffic.
func TestServeCurl(t *testing.T) {
	ns := tuntest.NewNamespace(t, "curl")
	ns.AddTUN("tun0", netip.MustParsePrefix("192.0.2.1/24"), 0)
	pcap := filepath.Join(t.TempDir(), "serve.pcap")
	out := newSyncBuffer()
	cmd := startServe(t, ns, out, "--tun", "tun0", "--addr", "192.0.2.2/24", "--port", "8080",
		"--loss", "5%", "--reorder", "10%", "--delay", "1ms", "--seed", "7", "--pcap", pcap, "-v")

	for _, n := range []int64{100 << 10, 1 << 20} {
		got, sum := curlSum(t, ns, "http://192.0.2.2:8080/"+strconv.FormatInt(n, 10))
		if int64(got) != n || sum != sizedSum(n) {
			t.Fatalf("curl /%d: %d bytes, sha256 %x; want %d bytes, %x", n, got, sum, n, sizedSum(n))
		}
	}
	page, _ := curlSum(t, ns, "http://192.0.2.2:8080/")
	if page != 1<<20 {
		t.Errorf("curl /: %d bytes, want the default page of 1 MiB", page)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("tcpsim serve after Ctrl-C: %v\n%s", err, lastLines(out.String(), 20))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("tcpsim serve did not stop within 30 s of Ctrl-C")
	}
	<-out.done
	text := out.String()
	for _, want := range []string{
		"tcpsim 192.0.2.2/24 on tun0 (MTU 1500); link: delay 1ms, rate unlimited, queue unlimited, loss 5%, reorder 10%",
		"serving http://192.0.2.2:8080/",
		"192.0.2.1.", // a trace line from the kernel's side
		"[3] connection 192.0.2.1:",
		"stopped",
		"dropped (loss)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("serve output lacks %q:\n%s", want, lastLines(text, 30))
		}
	}
	if st, err := os.Stat(pcap); err != nil || st.Size() < 1<<20 {
		t.Errorf("capture %s: %v, %d bytes; want more than 1 MiB", pcap, err, sizeOf(st))
	}
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return 0
	}
	return st.Size()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestGetTUN fetches from a Go HTTP server on kernel sockets in a namespace
// with `tcpsim get --tun` and checks the reported size and hash.
func TestGetTUN(t *testing.T) {
	ns := tuntest.NewNamespace(t)
	ns.AddTUN("tun0", netip.MustParsePrefix("192.0.2.1/24"), 0)
	l, err := ns.Listen("tcp4", "192.0.2.1:8000")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: serveHandler([]byte("kernel page\n"))}
	go srv.Serve(l)
	defer srv.Close()
	// 100 KiB stays below the receive buffer (see the interop package's
	// TestActiveOpenWindowWithinBuffer for what larger bodies run into).
	const n = 100 << 10
	var out, errb bytes.Buffer
	code := run([]string{"get", "--netns", ns.Name, "--tun", "tun0", "--addr", "192.0.2.2/24",
		"--loss", "2%", "--seed", "3", fmt.Sprintf("http://192.0.2.1:8000/%d", n)}, &out, &errb)
	if code != exitOK {
		t.Fatalf("get --tun: exit %d: %s\n%s", code, errb.String(), out.String())
	}
	want := fmt.Sprintf("http://192.0.2.1:8000/%d: 200 OK, %d bytes, sha256 %x", n, n, sizedSum(n))
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "[1] connection 192.0.2.2:") {
		t.Fatalf("get --tun output lacks %q and a connection summary:\n%s", want, out.String())
	}
}

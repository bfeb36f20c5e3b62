//go:build linux

package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim/tun/tuntest"
)

// Addresses inside every test namespace: the kernel owns kernelAddr on the
// TUN device, the peer behind the device (tcpsim or gVisor) owns simPrefix.
var (
	kernelAddr = netip.MustParsePrefix("192.0.2.1/24")
	simPrefix  = netip.MustParsePrefix("192.0.2.2/24")
)

// startServer serves h on l until clean-up, which closes the server and
// waits for Serve to return.
func startServer(t testing.TB, l net.Listener, h http.Handler) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv
}

// curlBody runs curl in the namespace, fetches url and checks that the body
// is the one for seed and n.
func curlBody(t testing.TB, ns *tuntest.Namespace, url string, seed uint64, n int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := ns.Command(ctx, "curl", "--silent", "--show-error", "--fail", "--max-time", "110", "--output", "-", url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	checkErr := func() error {
		h := newHashCheck()
		_, err := io.Copy(h, out)
		if werr := cmd.Wait(); werr != nil {
			return fmt.Errorf("curl %s: %v: %s", url, werr, strings.TrimSpace(stderr.String()))
		}
		if err != nil {
			return err
		}
		return h.check(seed, n)
	}()
	if checkErr != nil {
		t.Fatalf("curl: %v\nsockets in the namespace:\n%s", checkErr, ns.Sockets())
	}
}

// goClientBody fetches url with a Go client on kernel sockets in the
// namespace and checks the body; it closes the client's connections after.
func goClientBody(t testing.TB, ns *tuntest.Namespace, url string, seed uint64, n int64) {
	t.Helper()
	cl := ns.HTTPClient()
	cl.Timeout = 2 * time.Minute
	defer cl.CloseIdleConnections()
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatalf("kernel Go client: GET %s: %v\nsockets:\n%s", url, err, ns.Sockets())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("kernel Go client: GET %s: %s", url, resp.Status)
	}
	checkBody(t, "kernel Go client", resp.Body, seed, n)
}

// hashCheck hashes what is written to it.
type hashCheck struct {
	n int64
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (c *hashCheck) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func (c *hashCheck) check(seed uint64, n int64) error {
	want := bodyHash(seed, n)
	if got := c.h.Sum(nil); c.n != n || [32]byte(got) != want {
		return fmt.Errorf("got %d bytes with SHA-256 %x, want %d bytes with %x", c.n, got, n, want)
	}
	return nil
}

// checkKernelClean waits (up to 10 s) until the kernel has no TCP socket
// left in the namespace except listeners and TIME-WAIT, then checks that
// the kernel neither sent a RST nor had an established connection reset.
func checkKernelClean(t testing.TB, ns *tuntest.Namespace) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var ss string
	for {
		ss = ns.MustRun("ss", "-tanH")
		busy := ""
		for _, line := range strings.Split(strings.TrimSpace(ss), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || f[0] == "LISTEN" || f[0] == "TIME-WAIT" {
				continue
			}
			busy = line
		}
		if busy == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the kernel still has a connection that is not closed after 10 s: %q\n%s", busy, ns.Sockets())
		}
		time.Sleep(10 * time.Millisecond) // polling the kernel, which runs on the wall clock
	}
	for _, c := range []string{"TcpOutRsts", "TcpEstabResets", "TcpExtTCPAbortOnData", "TcpExtTCPAbortOnClose"} {
		v, err := ns.Counter(c)
		if err != nil {
			t.Fatal(err)
		}
		if v != 0 {
			t.Errorf("kernel counter %s = %d, want 0 (no reset)\n%s", c, v, ss)
		}
	}
}

// errConnReset is the errno a kernel socket reports after a RST.
var errConnReset = syscall.ECONNRESET

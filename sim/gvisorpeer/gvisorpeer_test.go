package gvisorpeer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

var (
	addrA = netip.MustParsePrefix("10.0.0.1/24")
	addrB = netip.MustParsePrefix("10.0.0.2/24")
)

// TestMain checks that no test leaves a gVisor or bridge goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func pipe(t *testing.T, mtu int) (*Host, *Host) {
	t.Helper()
	a, b, err := Pipe(Config{Addr: addrA, MTU: mtu}, Config{Addr: addrB, MTU: mtu})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Close()
		b.Close()
	})
	return a, b
}

func body(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestPipeBulk sends a few megabytes each way between two gVisor hosts over
// the bridge and checks the bytes and that packets really crossed it.
func TestPipeBulk(t *testing.T) {
	for _, mtu := range []int{1500, 9000, 65535} {
		t.Run(fmt.Sprintf("mtu%d", mtu), func(t *testing.T) {
			a, b := pipe(t, mtu)
			l, err := b.Listen(5001)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			want := body(3<<20, uint64(mtu))
			var wg sync.WaitGroup
			var got []byte
			var srvErr error
			wg.Go(func() {
				c, err := l.Accept()
				if err != nil {
					srvErr = err
					return
				}
				defer c.Close()
				got, srvErr = io.ReadAll(c)
				if srvErr == nil {
					_, srvErr = c.Write([]byte("ok"))
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := a.Dial(ctx, netip.AddrPortFrom(b.Addr(), 5001))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write(want); err != nil {
				t.Fatal(err)
			}
			c.(interface{ CloseWrite() error }).CloseWrite()
			ack, err := io.ReadAll(c)
			c.Close()
			wg.Wait()
			if srvErr != nil {
				t.Fatal(srvErr)
			}
			if err != nil || string(ack) != "ok" {
				t.Fatalf("reply %q, %v; want \"ok\"", ack, err)
			}
			if sha256.Sum256(got) != sha256.Sum256(want) {
				t.Fatalf("received %d bytes with a different hash; sent %d", len(got), len(want))
			}
			sa, sb := a.Stats(), b.Stats()
			if min := uint64(len(want) / mtu); sa.Sent < min || sb.Delivered < min {
				t.Errorf("a sent %d, b got %d packets; want at least %d", sa.Sent, sb.Delivered, min)
			}
		})
	}
}

// TestPipeHTTP runs net/http between two gVisor hosts.
func TestPipeHTTP(t *testing.T) {
	a, b := pipe(t, 1500)
	l, err := b.Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	want := body(1<<20, 7)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(want)
	})}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	cl := a.HTTPClient()
	resp, err := cl.Get("http://10.0.0.2:80/x")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes (%v), want %d identical bytes", len(got), err, len(want))
	}
	cl.CloseIdleConnections()
	srv.Close()
	<-done
}

// TestDeliverRejectsNonIPv4 checks that junk is counted, not passed on.
func TestDeliverRejectsNonIPv4(t *testing.T) {
	a, _ := pipe(t, 1500)
	a.Deliver(nil)
	a.Deliver([]byte{0x60, 0, 0, 0})
	if got := a.Stats().Rejected; got != 2 {
		t.Fatalf("Rejected = %d, want 2", got)
	}
	// A truncated IPv4 header reaches gVisor, which drops it.
	a.Deliver([]byte{0x45, 0, 0})
	if got := a.Stats().Delivered; got != 1 {
		t.Fatalf("Delivered = %d, want 1", got)
	}
}

func TestConfigErrors(t *testing.T) {
	out := func([]byte) {}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Out: out}, "Config.Addr"},
		{Config{Addr: netip.MustParsePrefix("::1/128"), Out: out}, "Config.Addr"},
		{Config{Addr: addrA}, "Config.Out"},
		{Config{Addr: addrA, Out: out, MTU: 20}, "Config.MTU 20"},
		{Config{Addr: addrA, Out: out, MTU: 70000}, "Config.MTU 70000"},
		{Config{Addr: addrA, Out: out, QueueLen: -1}, "Config.QueueLen -1"},
		{Config{Addr: addrA, Out: out, Gateway: netip.MustParseAddr("::1")}, "Config.Gateway"},
	} {
		h, err := New(tc.cfg)
		if err == nil {
			h.Close()
			t.Errorf("New(%+v) succeeded, want error mentioning %q", tc.cfg, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want it to mention %q", tc.cfg, err, tc.want)
		}
	}
}

// TestClosed checks that a closed host refuses new work and that Close is
// idempotent.
func TestClosed(t *testing.T) {
	a, _ := pipe(t, 1500)
	a.Close()
	a.Close()
	if _, err := a.Listen(1); err == nil {
		t.Error("Listen after Close succeeded")
	}
	if _, err := a.Dial(context.Background(), netip.MustParseAddrPort("10.0.0.2:1")); err == nil {
		t.Error("Dial after Close succeeded")
	}
}

// TestRACKOption checks that gVisor's loss detection follows Config.RACK:
// off by default (gVisor's RACK can stall, google/gvisor#6113), RACK-TLP
// when asked for.
func TestRACKOption(t *testing.T) {
	for _, rack := range []bool{false, true} {
		h, err := New(Config{Addr: netip.MustParsePrefix("10.0.0.1/24"), Out: func([]byte) {}, RACK: rack})
		if err != nil {
			t.Fatal(err)
		}
		var got tcpip.TCPRecovery
		if err := h.Stack().TransportProtocolOption(tcp.ProtocolNumber, &got); err != nil {
			t.Fatalf("reading TCPRecovery: %v", err)
		}
		want := tcpip.TCPRecovery(0)
		if rack {
			want = tcpip.TCPRACKLossDetection
		}
		if got != want {
			t.Errorf("Config.RACK=%v: gVisor's TCPRecovery is %v, want %v", rack, got, want)
		}
		h.Close()
	}
}

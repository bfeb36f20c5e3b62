package simnet_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tcpsim/tcpsim/simdns"
	"github.com/tcpsim/tcpsim/simnet"
)

// TestMain loads Go's resolver configuration outside any synctest bubble
// (see simdns.PrepareGoResolver).
func TestMain(m *testing.M) {
	simdns.PrepareGoResolver()
	os.Exit(m.Run())
}

// Go's own resolver asks a DNS server host over the kit's lossy UDP, on both
// drivers, and a closed UDP port refuses a connected socket.
func TestUDPResolver(t *testing.T) {
	for _, d := range []simnet.Driver{simnet.Goroutines, simnet.Tasks} {
		t.Run(map[simnet.Driver]string{simnet.Goroutines: "goroutines", simnet.Tasks: "tasks"}[d], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := simnet.New(t, simnet.Options{Driver: d, Link: simnet.Link{Delay: 10 * time.Millisecond, Loss: 0.1}})
				dns, client := n.Host("dns"), n.Host("client")
				www := n.Host("www")
				pc, err := dns.ListenPacket(":53")
				if err != nil {
					t.Fatal(err)
				}
				srv := &simdns.Server{Records: map[string]netip.Addr{"www.example.": www.Addr()}}
				go srv.Serve(pc)
				r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return client.DialContext(ctx, network, "dns:53")
				}}
				start := time.Now()
				for i := range 20 {
					addrs, err := r.LookupHost(context.Background(), "www.example.")
					if err != nil || len(addrs) != 1 || addrs[0] != www.Addr().String() {
						t.Fatalf("lookup %d over 10%% loss: %v, %v; server %+v", i, addrs, err, srv.Stats())
					}
				}
				// Without loss 20 lookups take 20 round trips; a lost query
				// or answer costs the resolver's 5 s timeout before its retry.
				if took := time.Since(start); took < 5*time.Second {
					t.Errorf("20 lookups over 10%% loss took %v of fake time: none was retried", took)
				}
				c, err := client.DialContext(context.Background(), "udp", "www:9")
				if err != nil {
					t.Fatal(err)
				}
				c.Write([]byte("anyone?"))
				c.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := c.Read(make([]byte, 8)); !errors.Is(err, syscall.ECONNREFUSED) {
					t.Errorf("read after a datagram to a closed port: %v, want ECONNREFUSED", err)
				}
				if _, err := dns.ListenPacket(":53"); !errors.Is(err, syscall.EADDRINUSE) {
					t.Errorf("second bind of :53: %v, want EADDRINUSE", err)
				}
			})
		})
	}
}

// A crash fails a blocked ReadFrom with ErrCrashed.
func TestUDPCrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(t, simnet.Options{Link: simnet.Link{Delay: time.Millisecond}})
		h := n.Host("a")
		pc, err := h.ListenPacket(":7")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, _, err := pc.ReadFrom(make([]byte, 4)); done <- err }()
		synctest.Wait()
		h.Crash(simnet.Silently)
		if err := <-done; !errors.Is(err, simnet.ErrCrashed) {
			t.Fatalf("ReadFrom during a crash: %v, want ErrCrashed", err)
		}
	})
}

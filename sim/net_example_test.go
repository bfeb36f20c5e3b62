package sim_test

// The examples of docs/http.md, as code that go test compiles and runs.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// twoHosts builds a world with a client (10.0.0.1) and a server host named
// server.example (10.0.0.2; AddHost puts the name in the hosts table)
// joined by one link.
func twoHosts(d sim.DirConfig) (w *sim.World, client, server *stack.Host, err error) {
	w = sim.New(sim.Config{Seed: 1})
	ca, sa := netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("10.0.0.2/24")
	if client, err = w.AddHost("client", ca, stack.TCPConfig{}); err != nil {
		return nil, nil, nil, err
	}
	if server, err = w.AddHost("server.example", sa, stack.TCPConfig{}); err != nil {
		return nil, nil, nil, err
	}
	if _, err = w.Connect("client", ca, "server.example", sa, sim.Symmetric("wire", d)); err != nil {
		return nil, nil, nil, err
	}
	return w, client, server, nil
}

// Driver A: tasks on the virtual clock. The server answers with net/http's
// http.ReadRequest and (*http.Response).Write, the client writes with
// (*http.Request).Write and reads with http.ReadResponse.
func ExampleNewTaskNet() {
	w, client, server, err := twoHosts(sim.DirConfig{Delay: 25 * time.Millisecond, Rate: 10_000_000})
	if err != nil {
		fmt.Println(err)
		return
	}
	cn, sn := sim.NewTaskNet(w, client), sim.NewTaskNet(w, server)
	body := bytes.Repeat([]byte("every byte crossed a simulated link\n"), 1000)

	w.Spawn("server", func(t *sim.Task) {
		ln, err := sn.Listen("tcp", ":80")
		if err != nil {
			fmt.Println(err)
			return
		}
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			fmt.Println(err)
			return
		}
		resp := &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Request: req,
			ContentLength: int64(len(body)), Body: io.NopCloser(bytes.NewReader(body)), Close: true}
		bw := bufio.NewWriter(c)
		resp.Write(bw)
		bw.Flush()
	})
	w.Spawn("client", func(t *sim.Task) {
		c, err := cn.DialContext(context.Background(), "tcp", "server.example:80")
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close()
		req, _ := http.NewRequest("GET", "http://server.example/", http.NoBody)
		req.Write(c)
		resp, err := http.ReadResponse(bufio.NewReader(c), req)
		if err != nil {
			fmt.Println(err)
			return
		}
		got, err := io.ReadAll(resp.Body)
		fmt.Printf("%s: %d bytes (equal: %v), error %v\n", resp.Status, len(got), bytes.Equal(got, body), err)
	})
	if err := w.Run(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 200 OK: 36000 bytes (equal: true), error <nil>
}

// Errors match the net package's: a SYN answered by a reset is
// ECONNREFUSED, an unknown name a *net.DNSError, a passed deadline
// os.ErrDeadlineExceeded with Timeout() true.
func ExampleNet_DialContext() {
	w, client, _, err := twoHosts(sim.DirConfig{Delay: 25 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	cn := sim.NewTaskNet(w, client)
	w.Spawn("client", func(t *sim.Task) {
		_, err := cn.DialContext(context.Background(), "tcp", "server.example:80")
		var oe *net.OpError
		errors.As(err, &oe)
		fmt.Println(errors.Is(err, syscall.ECONNREFUSED), oe.Op, oe.Addr, oe.Err)
		_, err = cn.DialContext(context.Background(), "tcp", "nowhere.example:80")
		fmt.Println(err)
		// A deadline on the simulator's clock: Net.Now() is virtual time.
		ctx, cancel := context.WithDeadline(context.Background(), cn.Now().Add(10*time.Millisecond))
		defer cancel()
		_, err = cn.DialContext(ctx, "tcp", "10.0.0.9:80")
		fmt.Println(errors.Is(err, context.DeadlineExceeded), t.Now())
	})
	if err := w.Run(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// true dial 10.0.0.2:80 connect: connection refused
	// dial tcp: lookup nowhere.example: no such host
	// true 60ms
}

// Driver B: unmodified http.Client and http.Server over the simulated
// network, on the fake clock of a testing/synctest bubble: 5 MB across a
// 50 ms, 10 Mbit/s link with 1% loss. This is docs/http.md's example.
func TestDocsHTTPDownload(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		// Create the world inside the bubble.
		w, client, server, err := twoHosts(sim.DirConfig{
			Delay: 50 * time.Millisecond, Rate: 10_000_000, QueuePackets: 100,
			Faults: []sim.Fault{sim.Loss{P: 0.01}},
		})
		if err != nil {
			t.Fatal(err)
		}
		loop, err := w.StartLoop()
		if err != nil {
			t.Fatal(err)
		}
		body := bytes.Repeat([]byte("0123456789"), 500_000)
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
		h, err := sim.StartHTTP(loop, client, server, 80, handler)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := h.Close(); err != nil { // the clean-up order is HTTP.Close's job
				t.Error(err)
			}
		}()

		start := time.Now() // fake time: 2000-01-01 in the bubble
		resp, err := h.Client.Get("http://server.example/big")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("got %d bytes (%v), want the %d sent", len(got), err, len(body))
		}
		took := time.Since(start)
		// 5 MB at 10 Mbit/s is 4 s at the very least.
		if took < 4*time.Second || took > 60*time.Second {
			t.Errorf("took %v of virtual time", took)
		}
		t.Logf("%d bytes in %v of virtual time", len(got), took)
	})
}

// HTTP.Close may be called more than once (a deferred Close after an
// explicit one): the first does the work, the others return its result.
func TestHTTPCloseTwice(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		w, client, server, err := twoHosts(sim.DirConfig{Delay: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		loop, err := w.StartLoop()
		if err != nil {
			t.Fatal(err)
		}
		h, err := sim.StartHTTP(loop, client, server, 80, http.NotFoundHandler())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := h.Client.Get("http://server.example/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("status %d", resp.StatusCode)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

package simnet_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tcpsim/tcpsim/simnet"
)

// An unmodified net/http client and server on a link that loses 2 % of the
// packets each way. (In a test, simnet.New(t, …) replaces Start and Close,
// and inside testing/synctest the delays cost no real time.)
func Example_httpOnALossyLink() {
	n, err := simnet.Start(simnet.Options{Link: simnet.Link{Delay: 5 * time.Millisecond, Loss: 0.02}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n.Close()
	body := strings.Repeat("every byte crossed a lossy link\n", 2000)
	n.Host("server").Serve(":80", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))

	resp, err := n.Host("client").HTTPClient().Get("http://server/")
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, len(got), "bytes, intact:", string(got) == body, err)
	// Output: 200 OK 64000 bytes, intact: true <nil>
}

// A line-based protocol under 5 % loss and 5 % reordering, with a
// deadline on the whole exchange.
func Example_linesUnderLossAndReordering() {
	n, err := simnet.Start(simnet.Options{Seed: 7, Link: simnet.Link{
		Delay: 5 * time.Millisecond, Loss: 0.05, Reorder: 0.05}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n.Close()
	ln, err := n.Host("server").Listen(":7")
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() { // the server answers each line in upper case
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewScanner(c)
		for r.Scan() {
			fmt.Fprintln(c, strings.ToUpper(r.Text()))
		}
	}()

	c, err := n.Host("client").Dial("server:7")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		for i := range 200 {
			fmt.Fprintf(c, "line %d\n", i)
		}
	}()
	r := bufio.NewScanner(c)
	ok := 0
	for i := 0; i < 200 && r.Scan(); i++ {
		if r.Text() == fmt.Sprintf("LINE %d", i) {
			ok++
		}
	}
	fmt.Println(ok, "of 200 answers, in order; error:", r.Err())
	// Output: 200 of 200 answers, in order; error: <nil>
}

// A partition cuts the server off while it answers a request; the client's
// first attempt times out, the network heals a second later, and the retry
// (after a second of back-off) succeeds.
func Example_partitionDuringARequest() {
	n, err := simnet.Start(simnet.Options{Link: simnet.Link{Delay: 2 * time.Millisecond}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n.Close()
	var calls atomic.Int32
	n.Host("server").Serve(":80", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			// The request is in; the network fails before the answer.
			n.Partition("client", "server")
			time.AfterFunc(time.Second, func() { n.Repair("client", "server") })
		}
		io.WriteString(w, "answer\n")
	}))

	client := n.Host("client").HTTPClient()
	client.Timeout = 500 * time.Millisecond
	for attempt := 1; attempt <= 3; attempt++ {
		resp, err := client.Get("http://server/")
		if err != nil {
			var te interface{ Timeout() bool }
			fmt.Printf("attempt %d: timed out: %v\n", attempt, errors.As(err, &te) && te.Timeout())
			time.Sleep(time.Second)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("attempt %d: %s %q\n", attempt, resp.Status, b)
		break
	}
	// Output:
	// attempt 1: timed out: true
	// attempt 2: 200 OK "answer\n"
}

// A server crashes, resetting its connections, and restarts with a fresh
// stack on the same address.
func Example_crashAndRestart() {
	n, err := simnet.Start(simnet.Options{Link: simnet.Link{Delay: 2 * time.Millisecond}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n.Close()
	server := n.Host("server")
	serve := func(boot int) {
		server.Serve(":80", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "boot %d", boot)
		}))
	}
	serve(1)
	client := n.Host("client").HTTPClient()
	get := func() {
		resp, err := client.Get("http://server/")
		if err != nil {
			fmt.Println("GET:", err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println("GET:", resp.Status, string(b))
	}
	get()

	// A raw connection open across the crash.
	ln, _ := server.Listen(":7")
	go func() {
		if c, err := ln.Accept(); err == nil {
			io.Copy(io.Discard, c)
		}
	}()
	c, err := n.Host("client").Dial("server:7")
	if err != nil {
		fmt.Println(err)
		return
	}
	server.Crash(simnet.WithResets)
	_, err = c.Read(make([]byte, 1))
	fmt.Println("read after the crash: reset:", errors.Is(err, syscall.ECONNRESET))

	server.Restart()
	serve(2)
	get()
	// Output:
	// GET: 200 OK boot 1
	// read after the crash: reset: true
	// GET: 200 OK boot 2
}

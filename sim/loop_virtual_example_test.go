package sim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"time"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/simdns"
)

// net/http's own server and client and Go's own resolver, on virtual time
// in an ordinary program (no test, no synctest bubble): the virtual loop
// moves the clock only while every goroutine is blocked.
func ExampleWorld_StartVirtualLoop() {
	w, client, server, err := twoHosts(sim.DirConfig{Delay: 50 * time.Millisecond, Rate: 10_000_000, QueuePackets: 100})
	if err != nil {
		panic(err)
	}
	loop, err := w.StartVirtualLoop()
	if err != nil {
		panic(err)
	}
	// A DNS server for the name, on the server host's port 53.
	pc, err := sim.NewLoopNet(loop, server).ListenPacket("udp", ":53")
	if err != nil {
		panic(err)
	}
	www := server.Addrs()[0].Addr()
	dns := &simdns.Server{Records: map[string]netip.Addr{"www.example.": www}}
	go dns.Serve(pc)

	hs, err := sim.StartHTTP(loop, client, server, 80, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil // the real clock's date would change the bytes
		w.Write(make([]byte, 1_000_000))
	}))
	if err != nil {
		panic(err)
	}
	cnet := sim.NewLoopNet(loop, client)
	r := simdns.GoResolver(cnet, netip.AddrPortFrom(www, 53))

	start := loop.Now()
	addrs, err := r.LookupNetIP(context.Background(), "ip4", "www.example.")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%v: www.example. is %v\n", loop.Now()-start, addrs[0])
	resp, err := hs.Client.Get("http://" + addrs[0].String() + "/")
	if err != nil {
		panic(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Printf("%v: %s, %d bytes, %v\n", loop.Now()-start, resp.Status, n, err)

	hs.Close() // closes the loop too
	pc.Close()
	// Output:
	// 100.121606ms: www.example. is 10.0.0.2
	// 1.493329607s: 200 OK, 1000000 bytes, <nil>
}

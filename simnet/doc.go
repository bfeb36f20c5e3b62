// Package simnet is a network-testing kit on top of tcpsim's simulator: it
// gives a Go test a faulty network in one line and a real packet-level TCP
// underneath (handshakes, retransmissions, congestion control, resets).
//
//	a, b := simnet.Pipe(t, simnet.Link{Loss: 0.05, Delay: 10 * time.Millisecond})
//
// returns two connected net.Conns over a lossy link. For more than one
// connection, build a network of named hosts:
//
//	n := simnet.New(t, simnet.Options{Link: simnet.Link{Delay: 20 * time.Millisecond, Loss: 0.01}})
//	n.Host("server").Serve(":80", handler)          // an *http.Server
//	resp, err := n.Host("client").HTTPClient().Get("http://server/")
//
// Every host sits on its own access link to one router, so any host can
// reach any other. While the test runs, Partition, Repair, Hold, Release
// and Path change what happens between two hosts, per direction, and
// Host.Crash and Host.Restart take a host down and bring it back with a
// fresh TCP stack on the same address.
//
// The kit works inside a testing/synctest bubble (time is fake: a minute of
// retransmissions takes milliseconds) and outside one (real time). Create
// the network inside the bubble. Clean-up is registered with t.Cleanup and
// runs in the order net/http and the simulator need.
//
// When every goroutine waits on the network and nothing can move any more,
// the kit fails the test with a few lines naming each blocked call, its
// host, its connection and the state of both ends, then closes the network
// so that the blocked calls return net.ErrClosed and the test can end.
//
// docs/kit.md describes the API in full.
package simnet

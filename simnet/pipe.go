package simnet

import (
	"fmt"
	"net"
	"testing"
)

// Pipe returns two connected net.Conns over a simulated network whose two
// hosts, "client" and "server", each send through link l: the first Conn
// was dialed by client, the second accepted by server. The network is
// closed by t.Cleanup. Use it inside or outside a testing/synctest bubble
// (inside, call it in the bubble).
//
//	a, b := simnet.Pipe(t, simnet.Link{Loss: 0.05, Delay: 10 * time.Millisecond})
func Pipe(t testing.TB, l Link) (net.Conn, net.Conn) {
	t.Helper()
	n := New(t, Options{Link: l})
	a, b, err := n.Pipe("client", "server")
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// Pipe connects host from to host to (creating either if needed) and
// returns both ends: from's dialed Conn and to's accepted one.
func (n *Net) Pipe(from, to string) (net.Conn, net.Conn, error) {
	if err := n.usable(); err != nil {
		return nil, nil, err
	}
	if from == to {
		return nil, nil, fmt.Errorf("simnet: Pipe(%q, %q): name two different hosts", from, to)
	}
	if err := n.Host(from).err; err != nil { // from first: it gets the lower address
		return nil, nil, err
	}
	ln, err := n.Host(to).Listen(":0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	acc := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		acc <- res{c, err}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	a, err := n.Host(from).Dial(fmt.Sprintf("%s:%d", to, port))
	if err != nil {
		ln.Close()
		<-acc
		return nil, nil, err
	}
	r := <-acc
	if r.err != nil {
		a.Close()
		return nil, nil, r.err
	}
	return a, r.c, nil
}

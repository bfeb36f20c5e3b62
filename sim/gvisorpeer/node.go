package gvisorpeer

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"

	tcpstack "github.com/tcpsim/tcpsim/stack"
)

// Node puts a gVisor host on a tcpsim link. It implements sim's Node and
// Interfacer interfaces, so World.Connect can give it an interface like any
// tcpsim host; the gVisor stack is created then, with the address and MTU
// that Connect passes.
//
// Packets cross between the two worlds like this:
//   - the link delivers to Node.Deliver in scheduler context; the packet is
//     copied into gVisor at once (gVisor processes it on its own goroutines);
//   - gVisor's packets come out on the Host's writer goroutine, are copied,
//     and reach the link's Send through do, which must run its argument in
//     scheduler context: pass the wall-clock driver's Loop.Do.
type Node struct {
	cfg Config
	do  func(func())

	mu   sync.Mutex
	host *Host
	link tcpstack.Link
}

// NewNode returns a Node whose gVisor host will be created with cfg (Addr,
// MTU and Out are ignored: they come from the link) when it gets its
// interface. do must run a function in scheduler context, from any goroutine,
// without waiting for it (Loop.Do).
func NewNode(cfg Config, do func(func())) (*Node, error) {
	if do == nil {
		return nil, errors.New("gvisorpeer: NewNode needs a do function that runs work in scheduler context (the wall-clock Loop's Do)")
	}
	return &Node{cfg: cfg, do: do}, nil
}

// AddInterface creates the gVisor host with address addr and MTU mtu on
// link. A gVisor Node has exactly one interface; its index is 0.
func (n *Node) AddInterface(addr netip.Prefix, link tcpstack.Link, mtu int) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.host != nil {
		return 0, fmt.Errorf("gvisorpeer: node already has its interface %v; it supports only one", n.host.addr)
	}
	if link == nil {
		return 0, errors.New("gvisorpeer: AddInterface with a nil link")
	}
	cfg := n.cfg
	cfg.Addr, cfg.MTU = addr, mtu
	cfg.Out = func(p []byte) {
		c := append([]byte(nil), p...)
		n.do(func() { link.Send(c) })
	}
	h, err := New(cfg)
	if err != nil {
		return 0, err
	}
	n.host, n.link = h, link
	return 0, nil
}

// Deliver hands a packet from the link to gVisor (sim's Node interface).
// Packets that arrive before the interface exists are dropped.
func (n *Node) Deliver(ifIndex int, pkt []byte) {
	if h := n.Host(); h != nil {
		h.Deliver(pkt)
	}
}

// Host returns the gVisor host, or nil before AddInterface.
func (n *Node) Host() *Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.host
}

// Close closes the gVisor host, if any.
func (n *Node) Close() error {
	if h := n.Host(); h != nil {
		return h.Close()
	}
	return nil
}

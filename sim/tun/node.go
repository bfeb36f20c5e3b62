package tun

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"github.com/tcpsim/tcpsim/stack"
)

// Node puts a TUN device on a tcpsim link: it stands for the kernel at the
// far end of the link. It implements sim's Node and Interfacer interfaces, so
//
//	w.Connect("tcpsim", simAddr, "kernel", kernelAddr, cfg)
//
// gives the device an interface like any host, and the link's delay, rate,
// faults and capture apply to the kernel's traffic in both directions.
//
// Packets cross like this:
//   - inbound (kernel → tcpsim): a reader goroutine reads the device, copies
//     each packet and hands it to the link's Send through do, which runs it in
//     scheduler context (the wall-clock driver's Loop.Do);
//   - outbound (tcpsim → kernel): the link delivers to Node.Deliver in
//     scheduler context, which writes the packet to the device.
//
// Packets that are not IPv4 (the kernel may send IPv6 router solicitations
// on a fresh device) are dropped and counted in Stats.
type Node struct {
	dev *Device
	do  func(func())

	mu      sync.Mutex
	link    stack.Link
	started bool
	done    chan struct{} // closed when the reader has returned

	stats   nodeStats
	errOnce sync.Once
	err     error // first read or write error other than Close
}

type nodeStats struct {
	read, written, notIPv4, writeErrors atomic.Uint64
}

// NodeStats counts the packets that crossed the device.
type NodeStats struct {
	Read        uint64 // packets read from the device and sent on the link
	Written     uint64 // packets written to the device
	NotIPv4     uint64 // packets read and dropped because they were not IPv4
	WriteErrors uint64 // packets the device refused
}

// NewNode wraps dev. do must run its argument in scheduler context, from any
// goroutine, without waiting for it (the wall-clock Loop's Do). The reader
// starts when the node gets its interface; Close stops it and closes dev.
func NewNode(dev *Device, do func(func())) (*Node, error) {
	if dev == nil {
		return nil, errors.New("tun: NewNode with a nil device")
	}
	if do == nil {
		return nil, errors.New("tun: NewNode needs a do function that runs work in scheduler context (the wall-clock Loop's Do)")
	}
	return &Node{dev: dev, do: do, done: make(chan struct{})}, nil
}

// Device returns the device.
func (n *Node) Device() *Device { return n.dev }

// AddInterface attaches the node to link and starts reading the device. addr
// is the kernel's address on the link (informational: the kernel's own
// configuration decides). A link MTU above the device's is an error, since
// the kernel would not accept such packets.
func (n *Node) AddInterface(addr netip.Prefix, link stack.Link, mtu int) (int, error) {
	if link == nil {
		return 0, errors.New("tun: AddInterface with a nil link")
	}
	if mtu > n.dev.MTU() {
		return 0, fmt.Errorf("tun: link MTU %d exceeds the MTU %d of %s; lower the link's MTU or raise the device's (ip link set dev %s mtu %d)",
			mtu, n.dev.MTU(), n.dev.Name(), n.dev.Name(), mtu)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return 0, fmt.Errorf("tun: %s is already attached to a link; a TUN node has one interface", n.dev.Name())
	}
	n.link, n.started = link, true
	go n.reader(link)
	return 0, nil
}

func (n *Node) reader(link stack.Link) {
	defer close(n.done)
	buf := make([]byte, 65536)
	for {
		k, err := n.dev.ReadPacket(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				n.fail(fmt.Errorf("tun: read %s: %w", n.dev.Name(), err))
			}
			return
		}
		if k < 1 || buf[0]>>4 != 4 {
			n.stats.notIPv4.Add(1)
			continue
		}
		n.stats.read.Add(1)
		pkt := append([]byte(nil), buf[:k]...)
		n.do(func() { link.Send(pkt) })
	}
}

func (n *Node) fail(err error) {
	n.errOnce.Do(func() {
		n.mu.Lock()
		n.err = err
		n.mu.Unlock()
	})
}

// Deliver writes a packet from the link to the device (sim's Node
// interface). It runs in scheduler context.
func (n *Node) Deliver(ifIndex int, pkt []byte) {
	if err := n.dev.WritePacket(pkt); err != nil {
		n.stats.writeErrors.Add(1)
		if !errors.Is(err, os.ErrClosed) {
			n.fail(fmt.Errorf("tun: write %s: %w", n.dev.Name(), err))
		}
		return
	}
	n.stats.written.Add(1)
}

// Stats returns the node's counters.
func (n *Node) Stats() NodeStats {
	return NodeStats{
		Read:        n.stats.read.Load(),
		Written:     n.stats.written.Load(),
		NotIPv4:     n.stats.notIPv4.Load(),
		WriteErrors: n.stats.writeErrors.Load(),
	}
}

// Err returns the first error reading or writing the device, other than
// the one Close causes, or nil.
func (n *Node) Err() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.err
}

// Close closes the device and waits for the reader to stop. No packet is
// handed to do after Close returns. It is idempotent.
func (n *Node) Close() error {
	err := n.dev.Close()
	n.mu.Lock()
	started := n.started
	n.mu.Unlock()
	if started {
		<-n.done
	}
	if errors.Is(err, os.ErrClosed) {
		err = nil
	}
	return err
}

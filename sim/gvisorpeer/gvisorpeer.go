// Package gvisorpeer runs a gVisor netstack host (gvisor.dev/gvisor/pkg/tcpip)
// as a peer that exchanges raw IPv4 packets with tcpsim.
//
// A Host owns one gVisor stack with one interface, IPv4 and TCP. Packets the
// gVisor stack sends come out of Config.Out, one call per packet, on the
// Host's own writer goroutine; packets for the gVisor stack go in through
// Deliver, which any goroutine may call. That is the whole wire: the bridge
// adds no delay, loss or reordering of its own, so whatever sits between Out
// and Deliver (a tcpsim link with its faults and capture, a plain function
// that hands the packet to another Host) decides what the peer sees.
//
// Applications use the gVisor side through net.Conn and net.Listener
// (gVisor's gonet adapters): Dial, Listen, and HTTPClient for net/http.
//
// What it is not: gVisor runs its own goroutines and timers on the wall clock,
// so a Host cannot run inside a testing/synctest bubble or under tcpsim's
// virtual-time driver; pair it with the wall-clock driver. The gVisor stack
// is a reference peer for interoperability tests and benchmarks, not part of
// the simulator.
//
// The protocols are gVisor's: IPv4 (RFC 791) and TCP (RFC 9293) with SACK
// (RFC 2018), timestamps and window scaling (RFC 7323) switched on, and
// gVisor's RACK off unless Config.RACK asks for it (see there why).
package gvisorpeer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// nicID is the identifier of the Host's only interface.
const nicID tcpip.NICID = 1

// DefaultMTU is the interface MTU when Config.MTU is zero.
const DefaultMTU = 1500

// defaultQueue is the length of the outbound packet queue between the gVisor
// stack and the writer goroutine when Config.QueueLen is zero. gVisor drops
// a packet when the queue is full, as a NIC with a full ring would.
const defaultQueue = 4096

// Config describes one gVisor host.
type Config struct {
	// Addr is the host's address and its subnet, for example 10.0.0.2/24.
	// Required; IPv4 only.
	Addr netip.Prefix
	// Gateway, when valid, is the next hop for destinations outside Addr's
	// subnet. Without it only the subnet is reachable.
	Gateway netip.Addr
	// MTU of the interface in bytes, 68 to 65535; zero means DefaultMTU.
	MTU int
	// Out receives every IPv4 packet the gVisor stack sends, on the Host's
	// writer goroutine, one call at a time and in the order gVisor queued
	// them. pkt is valid only during the call: copy it to keep it.
	// Required.
	Out func(pkt []byte)
	// QueueLen is the number of outbound packets that may wait for Out;
	// zero means 4096.
	QueueLen int
	// SendBuffer and ReceiveBuffer, when non-zero, set the default TCP
	// buffer sizes in bytes (gVisor's defaults are 1 MiB, and it grows the
	// receive buffer on its own).
	SendBuffer, ReceiveBuffer int
	// NoSACK turns SACK (RFC 2018) off; it is on by default.
	NoSACK bool
	// RACK turns on gVisor's RACK-TLP loss detection (RFC 8985), gVisor's
	// own default once SACK is on. It is off here because gVisor's RACK can
	// stall a connection for good: both ends go idle with data unacknowledged
	// and no timer armed (google/gvisor#6113; Tailscale turns it off for the
	// same reason). TestGVisorOverSimLink hit it once in about 300 runs under
	// load with RACK on, and never in 150 with it off. Without it gVisor
	// detects loss by three duplicate ACKs and SACK (RFC 6675-like).
	RACK bool
}

// Host is a gVisor stack wired to a packet pipe. It is safe for concurrent use.
type Host struct {
	stack *stack.Stack
	ep    *channel.Endpoint
	addr  netip.Prefix
	mtu   int
	out   func([]byte)

	cancel context.CancelFunc
	done   chan struct{} // closed when the writer goroutine has returned
	once   sync.Once

	delivered atomic.Uint64 // packets handed in through Deliver
	sent      atomic.Uint64 // packets handed out through Out
	rejected  atomic.Uint64 // packets Deliver refused (not IPv4, too short)
}

// Errors returned by New for a bad Config.
var (
	errNoOut  = errors.New("gvisorpeer: Config.Out is nil; it must receive the packets the gVisor stack sends")
	errClosed = errors.New("gvisorpeer: host is closed")
)

// New starts a gVisor host described by cfg. Close releases it.
func New(cfg Config) (*Host, error) {
	if !cfg.Addr.IsValid() || !cfg.Addr.Addr().Is4() {
		return nil, fmt.Errorf("gvisorpeer: Config.Addr %v is not an IPv4 prefix such as 10.0.0.2/24", cfg.Addr)
	}
	if cfg.Out == nil {
		return nil, errNoOut
	}
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if cfg.MTU < 68 || cfg.MTU > 65535 {
		return nil, fmt.Errorf("gvisorpeer: Config.MTU %d is outside 68..65535", cfg.MTU)
	}
	if cfg.QueueLen == 0 {
		cfg.QueueLen = defaultQueue
	}
	if cfg.QueueLen < 0 {
		return nil, fmt.Errorf("gvisorpeer: Config.QueueLen %d is negative", cfg.QueueLen)
	}
	if cfg.Gateway.IsValid() && !cfg.Gateway.Is4() {
		return nil, fmt.Errorf("gvisorpeer: Config.Gateway %v is not IPv4", cfg.Gateway)
	}
	if cfg.SendBuffer < 0 || cfg.ReceiveBuffer < 0 {
		return nil, fmt.Errorf("gvisorpeer: buffer sizes %d/%d must not be negative", cfg.SendBuffer, cfg.ReceiveBuffer)
	}

	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	fail := func(what string, err tcpip.Error) (*Host, error) {
		s.Destroy()
		return nil, fmt.Errorf("gvisorpeer: %s: %v", what, err)
	}
	sack := tcpip.TCPSACKEnabled(!cfg.NoSACK)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		return fail("enable SACK", err)
	}
	recovery := tcpip.TCPRecovery(0)
	if cfg.RACK {
		recovery = tcpip.TCPRACKLossDetection
	}
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &recovery); err != nil {
		return fail("set loss recovery", err)
	}
	if cfg.SendBuffer > 0 {
		opt := tcpip.TCPSendBufferSizeRangeOption{Min: 4096, Default: cfg.SendBuffer, Max: max(cfg.SendBuffer, 4<<20)}
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &opt); err != nil {
			return fail("set send buffer", err)
		}
	}
	if cfg.ReceiveBuffer > 0 {
		opt := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: cfg.ReceiveBuffer, Max: max(cfg.ReceiveBuffer, 4<<20)}
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &opt); err != nil {
			return fail("set receive buffer", err)
		}
	}

	ep := channel.New(cfg.QueueLen, uint32(cfg.MTU), "")
	if err := s.CreateNIC(nicID, ep); err != nil {
		return fail("create NIC", err)
	}
	local := tcpip.AddrFrom4(cfg.Addr.Addr().As4())
	pa := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: local, PrefixLen: cfg.Addr.Bits()},
	}
	if err := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
		return fail("add address", err)
	}
	routes := []tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: nicID}}
	if cfg.Gateway.IsValid() {
		routes = append(routes, tcpip.Route{Destination: header.IPv4EmptySubnet, Gateway: tcpip.AddrFrom4(cfg.Gateway.As4()), NIC: nicID})
	}
	s.SetRouteTable(routes)

	ctx, cancel := context.WithCancel(context.Background())
	h := &Host{
		stack:  s,
		ep:     ep,
		addr:   cfg.Addr,
		mtu:    cfg.MTU,
		out:    cfg.Out,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go h.writer(ctx)
	return h, nil
}

// writer hands every packet gVisor queues to Out, until Close.
func (h *Host) writer(ctx context.Context) {
	defer close(h.done)
	var buf []byte
	for {
		pkt := h.ep.ReadContext(ctx)
		if pkt == nil {
			return
		}
		buf = buf[:0]
		for _, s := range pkt.AsSlices() {
			buf = append(buf, s...)
		}
		pkt.DecRef()
		h.sent.Add(1)
		h.out(buf)
	}
}

// Deliver hands one inbound IPv4 packet to the gVisor stack. It copies pkt,
// so the caller may reuse it at once. Any goroutine may call it. A packet
// that is not IPv4 is counted (Stats().Rejected) and dropped; everything
// else, malformed or not, is gVisor's to judge.
func (h *Host) Deliver(pkt []byte) {
	if len(pkt) < 1 || pkt[0]>>4 != 4 {
		h.rejected.Add(1)
		return
	}
	h.delivered.Add(1)
	p := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(pkt)})
	h.ep.InjectInbound(ipv4.ProtocolNumber, p)
	p.DecRef()
}

// Addr returns the host's address.
func (h *Host) Addr() netip.Addr { return h.addr.Addr() }

// MTU returns the interface MTU.
func (h *Host) MTU() int { return h.mtu }

// Stack returns the underlying gVisor stack, for tests that need its
// statistics or options. Do not close it directly; use Close.
func (h *Host) Stack() *stack.Stack { return h.stack }

// Stats counts the packets that crossed the bridge.
type Stats struct {
	Delivered uint64 // inbound packets handed to gVisor
	Sent      uint64 // outbound packets handed to Out
	Rejected  uint64 // inbound packets dropped because they were not IPv4
	// Dropped is gVisor's count of packets it discarded on receipt
	// (malformed, bad checksum, no endpoint, ...).
	Dropped uint64
}

// Stats returns the bridge's counters.
func (h *Host) Stats() Stats {
	st := h.stack.Stats()
	return Stats{
		Delivered: h.delivered.Load(),
		Sent:      h.sent.Load(),
		Rejected:  h.rejected.Load(),
		Dropped:   st.IP.MalformedPacketsReceived.Value() + st.TCP.ChecksumErrors.Value() + st.TCP.InvalidSegmentsReceived.Value(),
	}
}

func fullAddr(ap netip.AddrPort) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(ap.Addr().As4()), Port: ap.Port()}
}

// Dial opens a TCP connection from the gVisor host to raddr.
func (h *Host) Dial(ctx context.Context, raddr netip.AddrPort) (net.Conn, error) {
	if !raddr.Addr().Is4() {
		return nil, fmt.Errorf("gvisorpeer: dial %v: not an IPv4 address", raddr)
	}
	if h.isClosed() {
		return nil, errClosed
	}
	c, err := gonet.DialContextTCP(ctx, h.stack, fullAddr(raddr), ipv4.ProtocolNumber)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Listen opens a TCP listener on the host's address and port.
func (h *Host) Listen(port uint16) (net.Listener, error) {
	if h.isClosed() {
		return nil, errClosed
	}
	l, err := gonet.ListenTCP(h.stack, fullAddr(netip.AddrPortFrom(h.addr.Addr(), port)), ipv4.ProtocolNumber)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// HTTPClient returns an http.Client whose connections are made by the gVisor
// host. Close its idle connections (CloseIdleConnections) before Close.
func (h *Host) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if network != "tcp" && network != "tcp4" {
				return nil, fmt.Errorf("gvisorpeer: network %q is not supported, only tcp", network)
			}
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return nil, fmt.Errorf("gvisorpeer: %q is not an IPv4 address and port (no name resolution here): %w", addr, err)
			}
			return h.Dial(ctx, ap)
		},
		DisableCompression:    true,
		ResponseHeaderTimeout: 30 * time.Second,
	}}
}

func (h *Host) isClosed() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// Close aborts the host's connections, stops its goroutines and waits for
// them. Out is not called after Close returns. Close is idempotent.
func (h *Host) Close() error {
	h.once.Do(func() {
		h.cancel()
		<-h.done
		h.stack.Close()
		h.ep.Close()
		h.stack.Wait()
	})
	return nil
}

// Pipe starts two hosts wired back to back: every packet one sends is
// delivered to the other at once, with nothing in between. It is the
// reference setup for checking the bridge itself. The Out fields of a and b
// are ignored.
func Pipe(a, b Config) (*Host, *Host, error) {
	var ha, hb atomic.Pointer[Host]
	a.Out = func(p []byte) {
		if h := hb.Load(); h != nil {
			h.Deliver(p)
		}
	}
	b.Out = func(p []byte) {
		if h := ha.Load(); h != nil {
			h.Deliver(p)
		}
	}
	x, err := New(a)
	if err != nil {
		return nil, nil, err
	}
	y, err := New(b)
	if err != nil {
		x.Close()
		return nil, nil, err
	}
	ha.Store(x)
	hb.Store(y)
	return x, y, nil
}

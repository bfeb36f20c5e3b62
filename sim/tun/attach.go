package tun

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// AttachConfig describes a tcpsim host behind a TUN device.
type AttachConfig struct {
	// Addr is the tcpsim host's address and subnet, e.g. 192.0.2.2/24. The
	// subnet should be the one the kernel routes into the device. Required.
	Addr netip.Prefix
	// Kernel is the kernel's address on the device, used to name the far
	// end of the link in traces; the zero value uses Addr's network
	// address. It does not configure the kernel.
	Kernel netip.Prefix
	// World configures the simulated world (seed, event log, OnEvent for a
	// live trace). Epoch defaults to the wall-clock time of Attach, so pcap
	// timestamps are real times.
	World sim.Config
	// ToKernel and FromKernel configure the two directions of the link
	// between the tcpsim host and the device: delay, rate, queue and faults.
	// Their MTU defaults to the device's MTU and must not exceed it.
	ToKernel, FromKernel sim.DirConfig
	// HostName names the tcpsim host (default "tcpsim"); the device's node
	// is named "kernel". The link is "tcpsim-kernel", end A (0) at tcpsim.
	HostName string
	// TCP holds the host's TCP tunables.
	TCP stack.TCPConfig
}

// Attachment is a running tcpsim host behind a TUN device: a World on the
// wall-clock driver with the host, the device's Node and the link between
// them. Use Net for sockets (net.Conn, net.Listener) and Loop.Call for
// anything else that touches the world.
type Attachment struct {
	World *sim.World
	Loop  *sim.Loop
	Host  *stack.Host
	Net   *sim.Net
	Node  *Node
	Link  *sim.Link

	once sync.Once
	err  error
}

// Attach builds a world with one tcpsim host at cfg.Addr, links it to dev
// and starts the wall-clock driver. It takes dev over: Attachment.Close
// closes it, and so does a failed Attach once the device's node exists.
func Attach(dev *Device, cfg AttachConfig) (*Attachment, error) {
	if !cfg.Addr.IsValid() || !cfg.Addr.Addr().Is4() {
		return nil, fmt.Errorf("tun: AttachConfig.Addr %v is not an IPv4 prefix such as 192.0.2.2/24", cfg.Addr)
	}
	if !cfg.Kernel.IsValid() {
		cfg.Kernel = netip.PrefixFrom(cfg.Addr.Masked().Addr(), cfg.Addr.Bits())
	}
	if cfg.HostName == "" {
		cfg.HostName = "tcpsim"
	}
	for _, d := range []*sim.DirConfig{&cfg.ToKernel, &cfg.FromKernel} {
		if d.MTU == 0 {
			d.MTU = dev.MTU()
		}
	}
	if cfg.World.Epoch.IsZero() {
		cfg.World.Epoch = time.Now()
	}
	w := sim.New(cfg.World)
	env := w.NewHostEnv()
	h, err := stack.NewHost(stack.HostConfig{Name: cfg.HostName, Env: env, Seed: w.SeedFor("host", cfg.HostName), TCP: cfg.TCP})
	if err != nil {
		return nil, err
	}
	env.Bind(h)
	loop, err := w.StartLoop()
	if err != nil {
		return nil, err
	}
	node, err := NewNode(dev, loop.Do)
	if err != nil {
		loop.Close()
		return nil, err
	}
	a := &Attachment{World: w, Loop: loop, Host: h, Node: node}
	if cerr := loop.Call(func() {
		if err = w.AddNode(cfg.HostName, h); err != nil {
			return
		}
		if err = w.AddNode("kernel", node); err != nil {
			return
		}
		a.Link, err = w.Connect(cfg.HostName, cfg.Addr, "kernel", cfg.Kernel,
			sim.LinkConfig{Name: cfg.HostName + "-kernel", AB: cfg.ToKernel, BA: cfg.FromKernel})
	}); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		loop.Close()
		// The node owns nothing yet if Connect failed before its
		// interface; closing it releases the reader if it started.
		node.Close()
		return nil, fmt.Errorf("tun: attach %s: %w", dev.Name(), err)
	}
	a.Net = sim.NewLoopNet(loop, h)
	return a, nil
}

// Close stops the device's reader and closes the device, then stops the
// loop (which services the work already submitted). Close sockets and
// servers first. It is idempotent and returns the first error.
func (a *Attachment) Close() error {
	a.once.Do(func() {
		a.err = errors.Join(a.Node.Close(), a.Loop.Close(), a.Node.Err())
	})
	return a.err
}

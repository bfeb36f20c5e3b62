package tun

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Device is an open Linux TUN device in IFF_TUN|IFF_NO_PI mode: every read
// returns one IPv4 (or IPv6) packet the kernel routed to the device, every
// write hands one packet to the kernel as if it had arrived on the device.
//
// Reads block in Go's network poller, so Close interrupts a pending Read.
// ReadPacket and WritePacket may be called from different goroutines.
type Device struct {
	f    *os.File
	name string
	mtu  int
}

// Open attaches to the existing TUN device name in the calling goroutine's
// network namespace. The device must exist, be a TUN (not TAP) device, and be
// up; the errors for each case wrap ErrNoTUN, ErrNotFound, ErrNotTUN,
// ErrDown, ErrBusy or ErrPermission and say how to fix it. The MTU is read
// from the device.
//
// Set the device up by hand as docs/tun.md shows, for example:
//
//	ip tuntap add dev tun0 mode tun user $(id -un)
//	ip addr add 192.0.2.1/24 dev tun0
//	ip link set tun0 up
func Open(name string) (*Device, error) {
	if name == "" || len(name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tun: device name %q must be 1 to %d bytes", name, unix.IFNAMSIZ-1)
	}
	// An AF_INET socket answers questions about interfaces in this
	// namespace (SIOCGIFFLAGS, SIOCGIFMTU) without touching the device.
	sock, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tun: socket for interface queries: %w", err)
	}
	defer unix.Close(sock)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return nil, fmt.Errorf("tun: device name %q: %w", name, err)
	}
	if err := unix.IoctlIfreq(sock, unix.SIOCGIFFLAGS, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return nil, fmt.Errorf("%w: no interface %q in this network namespace; create it with "+
				"`ip tuntap add dev %s mode tun user $(id -un)`, give it an address and bring it up (docs/tun.md)",
				ErrNotFound, name, name)
		}
		return nil, fmt.Errorf("tun: query interface %q: %w", name, err)
	}
	up := ifr.Uint16()&unix.IFF_UP != 0

	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENODEV):
			return nil, fmt.Errorf("%w: open /dev/net/tun: %v; load the driver with `modprobe tun` "+
				"(in a container, pass the device in, e.g. docker run --device /dev/net/tun --cap-add NET_ADMIN)", ErrNoTUN, err)
		case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
			return nil, fmt.Errorf("%w: open /dev/net/tun: %v; run as root or make the device node readable and writable by your user", ErrPermission, err)
		}
		return nil, fmt.Errorf("tun: open /dev/net/tun: %w", err)
	}
	ifr, _ = unix.NewIfreq(name)
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		switch {
		case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
			return nil, fmt.Errorf("%w: attach to %q: %v; run as root, or re-create the device for your user: "+
				"`ip tuntap del dev %s mode tun && ip tuntap add dev %s mode tun user $(id -un)`", ErrPermission, name, err, name, name)
		case errors.Is(err, unix.EBUSY):
			return nil, fmt.Errorf("%w: attach to %q: %v; another program has it open (stop it, or use another device)", ErrBusy, name, err)
		case errors.Is(err, unix.EINVAL):
			return nil, fmt.Errorf("%w: attach to %q: %v; the interface exists but is not a single-queue TUN device without "+
				"packet information (a TAP device, a multi_queue or pi device, or not a tuntap device at all); "+
				"re-create it with `ip tuntap add dev %s mode tun`", ErrNotTUN, name, err, name)
		}
		return nil, fmt.Errorf("tun: attach to %q: %w", name, err)
	}
	if !up {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: interface %q is down; bring it up with `ip link set %s up` (and give it an address, "+
			"e.g. `ip addr add 192.0.2.1/24 dev %s`)", ErrDown, name, name, name)
	}
	ifr, _ = unix.NewIfreq(name)
	if err := unix.IoctlIfreq(sock, unix.SIOCGIFMTU, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: read the MTU of %q: %w", name, err)
	}
	mtu := int(ifr.Uint32())
	// The fd is non-blocking, so os.NewFile registers it with the poller
	// and Close wakes a blocked Read.
	return &Device{f: os.NewFile(uintptr(fd), "/dev/net/tun:"+name), name: name, mtu: mtu}, nil
}

// OpenInNamespace is Open run inside the network namespace at nsPath (for
// example /var/run/netns/NAME, as made by `ip netns add NAME`). The device
// stays attached to that namespace; the returned Device may be used from any
// goroutine.
func OpenInNamespace(nsPath, name string) (*Device, error) {
	var d *Device
	err := InNamespace(nsPath, func() error {
		var err error
		d, err = Open(name)
		return err
	})
	return d, err
}

// InNamespace runs fn on a goroutine locked to an OS thread that has joined
// the network namespace at nsPath, and waits for it. Only system calls fn
// makes on that goroutine happen in the namespace; goroutines it starts do
// not inherit it. File descriptors fn opens (a TUN device, a socket) keep
// their namespace when used elsewhere. Joining a namespace needs
// CAP_SYS_ADMIN.
func InNamespace(nsPath string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread returns to the runtime only if it is back in its
		// original namespace; otherwise it exits with the goroutine
		// (we never unlock), so no other goroutine runs in the wrong one.
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("tun: open this thread's network namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("tun: open network namespace %s: %w", nsPath, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			if errors.Is(err, unix.EPERM) {
				err = fmt.Errorf("%w (joining a namespace needs root or CAP_SYS_ADMIN): %w", ErrPermission, err)
			}
			errc <- fmt.Errorf("tun: enter network namespace %s: %w", nsPath, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

// Name returns the interface name.
func (d *Device) Name() string { return d.name }

// MTU returns the interface MTU read when the device was opened.
func (d *Device) MTU() int { return d.mtu }

// ReadPacket reads one packet into b and returns its length. A packet longer
// than b is truncated by the kernel; size b to at least MTU bytes. After
// Close it returns an error wrapping os.ErrClosed.
func (d *Device) ReadPacket(b []byte) (int, error) {
	return d.f.Read(b)
}

// WritePacket hands one IP packet to the kernel.
func (d *Device) WritePacket(pkt []byte) error {
	_, err := d.f.Write(pkt)
	return err
}

// Close detaches from the device and wakes a blocked ReadPacket. The
// interface itself stays (a device made with `ip tuntap add` is persistent).
func (d *Device) Close() error { return d.f.Close() }

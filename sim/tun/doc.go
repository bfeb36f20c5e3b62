// Package tun attaches tcpsim to a Linux TUN device, so that the real kernel
// (curl, a browser, any program) exchanges IPv4 packets with a tcpsim host.
//
// A Device is the raw device: opened in IFF_TUN|IFF_NO_PI mode, one IP packet
// per read or write, its MTU read from the interface. Open refuses a device
// that is missing, down, not a TUN device, busy or not permitted, with an
// error (ErrNotFound, ErrDown, ErrNotTUN, ErrBusy, ErrPermission, ErrNoTUN)
// whose message says how to fix it. docs/tun.md shows how to set a device up
// by hand with `ip tuntap` and `ip netns`.
//
// A Node puts a Device on a simulated link as the far end of it (the
// kernel), so that the link's delay, rate, faults and capture apply to the
// kernel's traffic in both directions; a reader goroutine hands inbound
// packets to the scheduler through the wall-clock Loop's Do. Attach builds
// the usual arrangement in one call: a World on the wall-clock driver, one
// tcpsim host, the device's Node and the link between them, with a blocking
// socket API (sim.Net) for net/http.
//
// What it is not: it does not create, address or configure interfaces (that
// is ip's job, or the test harness's in package tuntest), it does not speak
// IPv6, and it exists only on Linux. Everything the kernel sends arrives on
// the wall clock, so a simulation with a TUN device runs under sim's
// wall-clock driver, in real time.
package tun

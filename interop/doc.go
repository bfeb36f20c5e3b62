// Package interop holds tcpsim's interoperability tests and comparison
// benchmarks: tcpsim's stack against TCP stacks that nobody here wrote.
//
//   - The Linux kernel, over a TUN device in a network namespace that each
//     test creates and deletes itself (package sim/tun/tuntest): curl and Go
//     programs on kernel sockets fetch from tcpsim's HTTP server, and tcpsim's
//     client fetches from a kernel HTTP server, with and without faults on
//     tcpsim's side. These tests need root, /dev/net/tun and iproute2, and skip
//     with a one-line reason without them.
//   - gVisor's netstack, in process, bridged onto a simulated link (package
//     sim/gvisorpeer) on the wall-clock driver.
//
// The package has no code of its own besides this comment: everything is in
// its tests. Set TCPSIM_LONG=1 for the long sweeps (more seeds, bigger
// bodies); the default run stays short.
package interop

// Package sim is the world that tcpsim hosts live in: it owns virtual time,
// randomness, links, faults, routers, name resolution and capture.
//
// The centre is a Scheduler: one event queue ordered by (time, priority,
// insertion sequence). Every piece of protocol and link work runs in
// scheduler context, one event at a time, so nothing in a simulation runs
// concurrently with anything else and the same seed always gives the same
// packets. Two drivers run the same queue:
//
//   - the virtual driver (World.Run, World.RunUntil) jumps the clock from one
//     event to the next as fast as the CPU allows. Blocking-style code runs in
//     tasks (World.Spawn) that the scheduler resumes one at a time and that
//     block only in the simulator's calls (Task.Sleep, Task.Wait).
//   - the wall-clock driver (Loop) is one goroutine that sleeps on the time
//     package until the next event is due. Outside tests it runs in real time
//     (for TUN devices); inside testing/synctest it runs on the bubble's fake
//     clock, so ordinary goroutines (net/http clients and servers) can use the
//     simulated network. Other goroutines reach scheduler context only
//     through Loop.Kick, Loop.Do and Loop.Call.
//
// A World holds the scheduler, the seed, the hosts table (name → IPv4
// address), nodes (hosts, routers, anything implementing Node), point-to-point
// Links with per-direction delay, jitter, rate, queue limit or queue
// discipline (Qdisc: RED, CoDel, FQCoDel, PIE), MTU and Faults, and the
// event Log every packet verdict is written to. Capture writes pcap
// files from a chosen link end.
//
// Net (in the net_*.go files) puts blocking net.Conn and net.Listener
// values over stack hosts for either driver.
//
// Package sim is not a TCP implementation (that is package stack) and does not
// parse anything but IPv4 headers, which the Router needs (RFC 791, RFC 1812
// §5.3.1 for the TTL, RFC 1624 for the incremental checksum update). Fault
// injection follows the vocabulary of Linux netem. See docs/sim.md and
// docs/faults.md.
package sim

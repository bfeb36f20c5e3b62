// Package stack is the IPv4 and TCP engine of one tcpsim host: interfaces,
// routes and IPv4 input checks, and TCP connections (RFC 9293) with
// retransmission (RFC 6298), congestion control (RFC 5681, NewReno per
// RFC 6582), flow control with window scaling (RFC 7323 §2), Nagle and
// silly-window avoidance, delayed ACKs, and an event-driven, non-blocking
// socket API (Host.Listen, Listener.Accept, Host.Connect, and Conn's Read,
// Write, CloseWrite, Close and Abort, with readiness callbacks).
//
// It has no goroutines and never reads a clock: everything it does happens
// inside a call from its driver (package sim, or a test), which tells it the
// current time through Env. Inbound packets arrive through Host.Deliver,
// due timers fire in Host.Advance, and outbound packets leave through a Link.
//
// It is not a blocking net.Conn (package sim builds those on top of it), not
// a router, and not the wire format (packages ippacket and segment). It does
// not implement RACK-TLP, urgent data, ICMP, IP fragmentation or IPv6;
// docs/tcp.md lists the details and the defaults.
//
// Read RFC 9293 (TCP), RFC 6298 (retransmission timer), RFC 5681 and RFC 6582
// (congestion control), RFC 3042 (limited transmit), RFC 2018 (SACK, on unless TCPConfig.DisableSACK),
// RFC 6675, RFC 6937 and RFC 2883 (SACK loss recovery, PRR, D-SACK),
// RFC 5961 (RST, SYN and ACK checks), RFC 6528 and
// RFC 6056 (initial sequence numbers and ephemeral ports) before changing the
// engine.
package stack

import "time"

// Env is what a Host needs from the world around it. Times are virtual:
// durations since the simulation's epoch. The package imports time for the
// Duration type only; it never calls the time package.
type Env interface {
	// Now returns the current virtual time. It never goes backwards.
	Now() time.Duration
	// WakeAt asks the driver to call Host.Advance at virtual time t or as
	// soon after as possible. A host may ask many times; the driver keeps
	// the earliest pending request. Spurious calls to Advance are harmless.
	WakeAt(t time.Duration)
}

// Link carries IPv4 packets away from a host's interface.
type Link interface {
	// Send transmits one IPv4 packet. It is called from the driver's
	// context (inside Deliver, Advance or a socket call). pkt is valid only
	// during the call: a link that keeps the packet copies it.
	Send(pkt []byte)
}

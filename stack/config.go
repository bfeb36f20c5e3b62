package stack

import (
	"fmt"
	"time"
)

// TCPConfig holds the TCP tunables of a host. A zero field takes the default
// shown beside it; docs/tcp.md compares each default with the RFCs and with
// Linux. Negative durations and sizes are rejected by NewHost, except where
// a field says that a negative value switches the feature off.
type TCPConfig struct {
	// MSL is the maximum segment lifetime; TIME_WAIT lasts 2×MSL.
	// Default 30 s (Linux's fixed 60 s TIME_WAIT; RFC 9293 suggests 2 min).
	MSL time.Duration
	// RTOInitial is the retransmission timeout before any RTT sample.
	// Default 1 s (RFC 6298 §2.1; Linux also uses 1 s).
	RTOInitial time.Duration
	// RTOMin is the lower bound of the computed RTO. Default 200 ms
	// (Linux's TCP_RTO_MIN; RFC 6298 §2.4 says 1 s).
	RTOMin time.Duration
	// RTOMax is the upper bound of the RTO after backoff. Default 60 s
	// (RFC 6298 §2.5's floor for a maximum; Linux uses 120 s).
	RTOMax time.Duration
	// SYNRetries is how many times a SYN is retransmitted before connect
	// fails with ETIMEDOUT. Default 6 (Linux tcp_syn_retries).
	SYNRetries int
	// SYNACKRetries is how many times a SYN-ACK is retransmitted before a
	// half-open passive connection is dropped. Default 5 (Linux).
	SYNACKRetries int
	// DataRetries is how many consecutive retransmission timeouts of the same
	// data end the connection with ETIMEDOUT. Default 15 (Linux tcp_retries2).
	// It also bounds zero-window probes in a row that draw no ACK.
	DataRetries int
	// ConnectTimeout bounds the whole active open; 0 means only SYNRetries
	// limits it.
	ConnectTimeout time.Duration
	// DelayedAck is the delayed-ACK timer. Default 40 ms (Linux's minimum
	// ATO; RFC 9293 §3.8.6.3 requires less than 0.5 s, and NewHost rejects
	// 500 ms or more). A negative value
	// disables delayed ACKs: every data segment is acknowledged at once.
	DelayedAck time.Duration
	// SendBuffer and RecvBuffer are the per-connection buffer sizes in
	// bytes. Default 256 KiB each. The receive buffer bounds the advertised
	// window and all out-of-order data held.
	SendBuffer, RecvBuffer int
	// NoDelay disables Nagle's algorithm (RFC 9293 §3.7.4) on new
	// connections; Conn.SetNoDelay changes it per connection. Default off
	// (Nagle on), as RFC 9293 requires; note that Go's net package turns
	// Nagle off by default.
	NoDelay bool
	// InitialWindow is the initial congestion window in segments; 0 means
	// RFC 6928: min(10×MSS, max(2×MSS, 14600 bytes)).
	InitialWindow int
	// DisableWindowScale turns off the RFC 7323 window scale option.
	DisableWindowScale bool
	// DisableSACK turns off selective acknowledgments (RFC 2018), which are
	// on by default as in Linux: the SYN offers SACK-permitted; when both
	// SYNs carry it, ACKs carry SACK blocks for out-of-order data and fast
	// recovery retransmits the holes the peer reports.
	DisableSACK bool
	// FinWait2Timeout bounds FIN_WAIT_2 for connections the application has
	// fully closed (Linux tcp_fin_timeout). Default 60 s.
	FinWait2Timeout time.Duration
	// TTL is the IPv4 time to live of outgoing packets. Default 64.
	TTL uint8

	// SYN cookies (issue 10 item 5, syncookie.go).

	// SYNCookies chooses when a listener answers a SYN with a cookie
	// (RFC 4987 §3.6) instead of keeping a half-open connection. 0 (the
	// default, Linux tcp_syncookies=1): when the SYN queue is full, so that
	// a SYN flood does not lock legitimate clients out. 1: always (Linux
	// tcp_syncookies=2). Negative: never; a SYN that finds the queue full is
	// dropped. A full accept queue drops SYNs in every mode.
	SYNCookies int

	// Issue 10 item 1: the limiter of ACKs that answer unacceptable
	// segments (out of window, ACK of unsent data, ACK too old, challenge
	// ACKs for RST and SYN); see ratelimit.go.

	// InvalidAckInterval is the least time between two such ACKs of one
	// connection. Default 500 ms (Linux tcp_invalid_ratelimit); negative
	// disables the per-connection limit.
	InvalidAckInterval time.Duration
	// ChallengeAckLimit bounds such ACKs per host and second (RFC 5961 §7,
	// Linux tcp_challenge_ack_limit); each second's budget is randomised
	// around it as in Linux. Default 1000; negative disables the host limit.
	ChallengeAckLimit int

	// Issue 11, loss recovery (prr.go).

	// PRRConservative makes Proportional Rate Reduction use its
	// conservative reduction bound (PRR-CRB, RFC 6937 §3) when pipe falls
	// below ssthresh: strict packet conservation, no slow start back up to
	// ssthresh. The default is the slow-start reduction bound (PRR-SSRB),
	// as in Linux.
	PRRConservative bool

	// DisableDSACK stops reporting duplicate segments in D-SACK blocks
	// (RFC 2883; Linux tcp_dsack). D-SACK blocks the peer sends are
	// recognised either way.
	DisableDSACK bool
}

// Defaults, named so that tests and docs refer to one place.
const (
	DefaultMSL             = 30 * time.Second
	DefaultRTOInitial      = time.Second
	DefaultRTOMin          = 200 * time.Millisecond
	DefaultRTOMax          = 60 * time.Second
	DefaultSYNRetries      = 6
	DefaultSYNACKRetries   = 5
	DefaultDataRetries     = 15
	DefaultDelayedAck      = 40 * time.Millisecond
	DefaultBuffer          = 256 << 10
	DefaultFinWait2Timeout = 60 * time.Second
	DefaultTTL             = 64
	// maxBuffer bounds SendBuffer and RecvBuffer: with the largest window
	// scale (14) a window can describe 1 GiB, and we keep well below.
	maxBuffer = 64 << 20
	// minBuffer is the smallest buffer: one full segment.
	minBuffer = 536
)

func (c *TCPConfig) applyDefaults() error {
	type dur struct {
		name string
		p    *time.Duration
		def  time.Duration
	}
	for _, d := range []dur{
		{"MSL", &c.MSL, DefaultMSL},
		{"RTOInitial", &c.RTOInitial, DefaultRTOInitial},
		{"RTOMin", &c.RTOMin, DefaultRTOMin},
		{"RTOMax", &c.RTOMax, DefaultRTOMax},
		{"FinWait2Timeout", &c.FinWait2Timeout, DefaultFinWait2Timeout},
	} {
		if *d.p < 0 {
			return fmt.Errorf("stack: TCPConfig.%s is %v; it must not be negative", d.name, *d.p)
		}
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	if c.ConnectTimeout < 0 {
		return fmt.Errorf("stack: TCPConfig.ConnectTimeout is %v; it must not be negative", c.ConnectTimeout)
	}
	if c.DelayedAck == 0 {
		c.DelayedAck = DefaultDelayedAck
	}
	if c.DelayedAck >= 500*time.Millisecond {
		// RFC 9293 §3.8.6.3 (MUST-40): an ACK may be delayed by less than 0.5 s only.
		return fmt.Errorf("stack: TCPConfig.DelayedAck is %v; RFC 9293 §3.8.6.3 requires less than 500ms", c.DelayedAck)
	}
	if c.RTOMin > c.RTOMax {
		return fmt.Errorf("stack: TCPConfig.RTOMin %v exceeds RTOMax %v", c.RTOMin, c.RTOMax)
	}
	type num struct {
		name string
		p    *int
		def  int
	}
	for _, n := range []num{
		{"SYNRetries", &c.SYNRetries, DefaultSYNRetries},
		{"SYNACKRetries", &c.SYNACKRetries, DefaultSYNACKRetries},
		{"DataRetries", &c.DataRetries, DefaultDataRetries},
		{"SendBuffer", &c.SendBuffer, DefaultBuffer},
		{"RecvBuffer", &c.RecvBuffer, DefaultBuffer},
	} {
		if *n.p < 0 {
			return fmt.Errorf("stack: TCPConfig.%s is %d; it must not be negative", n.name, *n.p)
		}
		if *n.p == 0 {
			*n.p = n.def
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"SendBuffer", c.SendBuffer}, {"RecvBuffer", c.RecvBuffer}} {
		if n.v < minBuffer || n.v > maxBuffer {
			return fmt.Errorf("stack: TCPConfig.%s is %d; it must lie in [%d, %d]", n.name, n.v, minBuffer, maxBuffer)
		}
	}
	if c.InitialWindow < 0 {
		return fmt.Errorf("stack: TCPConfig.InitialWindow is %d; it must not be negative", c.InitialWindow)
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.SYNCookies > 1 {
		return fmt.Errorf("stack: TCPConfig.SYNCookies is %d; it must be negative (off), 0 (when the SYN queue is full) or 1 (always)", c.SYNCookies)
	}

	c.applyAckLimitDefaults()
	return nil
}

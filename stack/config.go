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
	// NotSentLowat is the host's not-sent low-water mark in bytes (Linux's
	// net.ipv4.tcp_notsent_lowat), used by connections whose own
	// (Conn.SetNotSentLowat) is 0. 0, the default, means none (Linux's
	// default is UINT_MAX, the same). See Conn.SetNotSentLowat.
	NotSentLowat int
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
	// EphemeralPorts is the range local ports are picked from (ports.go).
	// Default 49152-65535, IANA's (Linux uses 32768-60999).
	EphemeralPorts PortRange

	// FastOpen enables TCP Fast Open (RFC 7413, fastopen.go) with the bits
	// of Linux's net.ipv4.tcp_fastopen: FastOpenClient (0x1), FastOpenServer
	// (0x2), FastOpenClientNoCookie (0x4), FastOpenServerNoCookie (0x200),
	// FastOpenServerAll (0x400). Default 0: off (Linux's default is 0x1).
	FastOpen int
	// FastOpenKey is the server's 16-byte cookie key (Linux's
	// net.ipv4.tcp_fastopen_key, each 32-bit word little-endian); nil draws
	// it from the host's seed.
	FastOpenKey []byte

	// SYN cookies (issue 10 item 5, syncookie.go).

	// SYNCookies chooses when a listener answers a SYN with a cookie
	// (RFC 4987 §3.6) instead of keeping a half-open connection. 0 (the
	// default, Linux tcp_syncookies=1): when the SYN queue is full, so that
	// a SYN flood does not lock legitimate clients out. 1: always (Linux
	// tcp_syncookies=2). Negative: never; a SYN that finds the queue full is
	// dropped. A full accept queue drops SYNs in every mode.
	SYNCookies int

	// QuickAcks, when positive, turns on Linux's quick-ACK mode
	// (quickack.go): at the start of a connection and after an idle time
	// above the RTO, up to this many data segments are acknowledged at once
	// each. Linux's TCP_MAX_QUICKACKS is 16 (DefaultQuickAcks), and the
	// linux profile sets it. Default 0: off (RFC 9293 delayed ACKs).
	QuickAcks int

	// LinuxRTO computes the RTO as Linux does: SRTT + max(4·RTTVAR,
	// RTOMin), the minimum flooring the variance term, where RFC 6298
	// floors the sum, max(SRTT + 4·RTTVAR, RTOMin) (rto.go). On a 20 ms path
	// with a steady RTT that is 220 ms against 200 ms. The linux profile
	// sets it.
	LinuxRTO bool

	// LinuxRTTSamples takes an RTT sample from every ACK of new data, as
	// Linux does, from the oldest segment it newly acknowledges unless the
	// ACK covers retransmitted data (rttlinux.go), instead of RFC 6298's
	// one timed segment per round trip. Default off; the linux profile
	// leaves it off too (its figures were measured without); the
	// packetdrill runner (sim/tcptest) turns it on, as its scripts see
	// Linux's SRTT in its pacing rate and tcpi_rtt.
	LinuxRTTSamples bool

	// CwndLimitedGrowth lets cwnd grow only while the sender uses it, as
	// Linux's tcp_is_cwnd_limited: in slow start up to twice the largest
	// flight of the last window, in congestion avoidance only when the
	// flight reached cwnd (cwndlimit.go). The linux profile sets it.
	// Default off: every ACK of new data may grow cwnd (RFC 5681).
	CwndLimitedGrowth bool

	// TSOBurst, when positive, places PSH as Linux does (push.go). Linux
	// sends new data in bursts of at most TSOBurst segments (tcp_min_tso_segs,
	// its TSO autosizing floor at low rates; 2) and at most half of cwnd
	// (tcp_cwnd_test); the last segment of every burst of two or more
	// segments carries PSH, as does the segment that empties the send
	// buffer. The linux profile sets 2. Default 0: PSH only on the segment
	// that empties the send buffer (the end of the application's writes).
	TSOBurst int

	// DeliveredGrowth lets an ACK grow cwnd by what it newly delivers, as
	// Linux counts delivered segments: data the peer SACKed earlier, or
	// reported by duplicate ACKs without SACK, does not count a second time
	// when the cumulative ACK covers it (cwndlimit.go); and once reordering
	// of more than three segments has been measured (RACK), an ACK that
	// only SACKs grows cwnd by what it delivered, as Linux's
	// tcp_may_raise_cwnd allows. The linux profile sets it. Default off:
	// the bytes the cumulative ACK covers count (RFC 5681, RFC 3465).
	DeliveredGrowth bool

	// RecoveryExitSsthresh sets cwnd to ssthresh when fast recovery ends
	// (RFC 6582 §3.2 step 3, option 2), as Linux's tcp_end_cwnd_reduction
	// does; the sender may then send up to ssthresh at once. The linux
	// profile sets it. Default off: option 1, cwnd = min(ssthresh,
	// FlightSize + SMSS), which avoids that burst (newreno.go).
	RecoveryExitSsthresh bool

	// CWRReduction makes a reduction for an ECN echo or a local drop
	// gradual, as Linux's CWR state: PRR (prr.go) takes cwnd from its
	// value before the signal down to ssthresh over the window of data
	// then outstanding, the window does not grow meanwhile, and cwnd is
	// ssthresh once that window is acknowledged (ecn.go). The linux
	// profile sets it. Default off: cwnd = ssthresh at once (RFC 3168
	// §6.1.2).
	CWRReduction bool

	// SendBufferPerChunk makes Write check the send buffer as Linux checks
	// sk_sndbuf: before each new chunk of the size Linux gives an skb (half
	// the peer's largest window, at most 64 KiB less headers, in whole MSS;
	// see Conn.SetNotSentLowat), not byte by byte. A write that starts a
	// chunk with less than SendBuffer queued fills the chunk, so the queue
	// may exceed SendBuffer by up to one chunk, and a blocked writer needs
	// more acknowledged before it is writable again (free space at least
	// half of what is queued). Linux also charges each skb's overhead, which
	// tcpsim does not. The linux profile sets it. Default off: the buffer
	// is byte-exact.
	SendBufferPerChunk bool

	// SlowStartUncapped lets HyStart++'s slow start grow cwnd by all that
	// an ACK acknowledges, as Linux's tcp_slow_start does, instead of at
	// most L = 8 SMSS per ACK (RFC 9406 §4.2, whose L is infinite only for
	// a paced sender). A stretch ACK of ten segments then grows cwnd by ten.
	// The linux profile sets it. It matters only with CUBIC's HyStart++.
	SlowStartUncapped bool

	// NoSlowStartAfterIdle keeps cwnd when data leaves a connection that
	// has sent nothing for longer than the RTO. By default (false) cwnd
	// falls back to the restart window there (RFC 5681 §4.1), as Linux
	// does with its default net.ipv4.tcp_slow_start_after_idle = 1; true is
	// that sysctl set to 0, which the packetdrill corpus's defaults.sh
	// does. The algorithm is still told of the idle period (AfterIdle).
	NoSlowStartAfterIdle bool

	// LinuxCubic makes the cubic algorithm behave as Linux's tcp_cubic
	// (cubic_linux.go) instead of RFC 9438 with RFC 9406 HyStart++: whole
	// segments, Linux's fixed-point window function (K and the target from
	// its scaled integers, one increase per cnt segments acknowledged, the
	// target looked up one minimum RTT ahead, at most one segment per two
	// acknowledged), ssthresh = 717/1024 of cwnd, Linux's HyStart (a delay
	// test on the 9th RTT sample of a round, threshold the connection's
	// minimum RTT plus clamp(minRTT/8, 4 ms, 16 ms), and an ACK-train test,
	// both leaving slow start at once with ssthresh = cwnd, from a cwnd of
	// 16 segments), HyStart again in the slow start after a timeout, and
	// the epoch moved forward by an idle period. Default off; the linux
	// profile leaves it off too, because its cubic models the published
	// algorithms (RFC 9438's CUBIC, RFC 9406's HyStart++, which Linux does
	// not implement) and its figures were measured that way; the
	// packetdrill runner (sim/tcptest) turns it on, as its scripts assert
	// Linux's exact windows.
	LinuxCubic bool
	// LinuxHyStartDetect chooses Linux HyStart's tests with LinuxCubic, as
	// tcp_cubic's hystart_detect module parameter: 1 the ACK train, 2 the
	// delay test, 3 both. 0 means 3, Linux's default; a negative value
	// turns HyStart off (plain slow start up to the first loss, Linux's
	// hystart=0). Other bits are ignored.
	LinuxHyStartDetect int

	// ECN enables Explicit Congestion Notification (RFC 3168, ecn.go):
	// ECNOff (0, the default), ECNOn (ask on active opens, accept on passive
	// ones) or ECNPassive (accept only; Linux's tcp_ecn=2 and the linux
	// profile's).
	ECN int

	// RACK turns on RACK time-based loss detection (RFC 8985 §6, rack.go)
	// for connections with SACK: recovery starts when a segment sent before
	// a delivered one is overdue by RTT plus a reordering window, not on
	// three duplicate ACKs; and the tail loss probe (RFC 8985 §7, tlp.go).
	// The linux profile sets it (tcp_recovery=1). Default off.
	RACK bool
	// LinuxRACK makes RACK take RACK.rtt as Linux's tcp_rack_advance does:
	// from the last segment an ACK delivers, newly SACKed segments taken
	// before cumulatively acknowledged ones and each in sequence order,
	// where RFC 8985 §6.2 takes it from the most recently sent one. After a
	// retransmission, an ACK that also covers an original segment then
	// carries that segment's longer RTT, so segments sent with it are not
	// yet lost (rack.go). The linux profile sets it; it matters only with
	// RACK.
	LinuxRACK bool

	// Keep-alives (RFC 1122 §4.2.3.6) and the user timeout (RFC 5482);
	// keepalive.go.

	// KeepAlive turns keep-alive probes on for new connections
	// (SO_KEEPALIVE); Conn.SetKeepAlive changes it per connection. Default
	// off, as RFC 1122 requires and Linux does.
	KeepAlive bool
	// KeepAliveIdle is how long a connection hears nothing before the first
	// probe. Default 2 h (RFC 1122's least default; Linux tcp_keepalive_time).
	KeepAliveIdle time.Duration
	// KeepAliveInterval separates unanswered probes. Default 75 s (Linux
	// tcp_keepalive_intvl).
	KeepAliveInterval time.Duration
	// KeepAliveProbes is how many unanswered probes end the connection with
	// a RST and ETIMEDOUT. Default 9 (Linux tcp_keepalive_probes).
	KeepAliveProbes int
	// UserTimeout, when positive, bounds how long a connection may have
	// data to deliver without any of it being acknowledged (TCP_USER_TIMEOUT,
	// RFC 5482); it then fails with ETIMEDOUT and replaces DataRetries as
	// the retransmission limit. Default 0: none.
	UserTimeout time.Duration

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

	// Issues 11 and 13: congestion control (ccapi.go, congestion.go,
	// newreno.go, cubic.go, hystart.go, dctcp.go, pacing.go).

	// CongestionControl names the algorithm of each new connection, one of
	// CongestionControls(): "newreno" (RFC 5681 slow start and congestion
	// avoidance, the default when empty), "cubic" (RFC 9438 CUBIC with
	// HyStart++, RFC 9406, in its initial slow start, as Linux's default),
	// "dctcp" (RFC 8257; needs ECN), "bbr" (a slice of the IETF BBRv3
	// draft), or a name registered with
	// RegisterCongestionControl. All share the engine's loss recovery.
	// NewHost rejects any other name.
	CongestionControl string

	// Pacing turns on the engine's pacing rule for every connection
	// (pacing.go; Linux's tcp_update_pacing_rate, as when the fq qdisc is
	// installed). Off by default: only an algorithm that asks paces.
	Pacing bool
	// MaxPacingRate caps each connection's pacing rate, bytes per second,
	// as SO_MAX_PACING_RATE (and, like it, turns pacing on); 0: no cap.
	// Conn.SetMaxPacingRate changes it per connection.
	MaxPacingRate uint64

	// RFC 7323 timestamps (issue 10, item 2).

	// DisableTimestamps turns off the RFC 7323 timestamps option, which is
	// on by default as in Linux (tcp_timestamps): the SYN offers it, and
	// when both SYNs carry it every segment carries TSval and TSecr, old
	// duplicates are rejected by PAWS (§5) and RTT samples come from the
	// echoed timestamps (§4). Without it a connection is safe from old
	// duplicates only while rate × MSL stays below 2^31 bytes.
	DisableTimestamps bool

	// Orphans (issue 10 item 4, orphan.go): connections the application
	// has closed with Close that are not yet fully closed.

	// OrphanRetries is how many retransmission timeouts in a row, or
	// zero-window probes since the window last opened (answered or not),
	// an orphan gets before it is reset. Default 8 (Linux
	// tcp_orphan_retries, whose default 0 means 8). Negative: orphans are
	// limited only as other connections are (DataRetries), so a peer that
	// answers every probe with a zero window keeps one for ever.
	OrphanRetries int
	// MaxOrphans caps the orphans of the host: a Close beyond it resets the
	// connection instead (Linux tcp_max_orphans). Default 65536. Negative:
	// no cap.
	MaxOrphans int

	// Host memory (issue 10 item 6, memory.go): bytes of send and receive
	// ring arrays (out-of-order data included) all connections hold
	// together, as Linux's tcp_mem but in bytes. Above MemPressure the host
	// is under memory pressure until the total falls below MemLow: it
	// refuses new connections, offers smaller windows and gives drained
	// buffers back. MemHigh is never exceeded: writes and arriving data
	// beyond it are cut. Defaults: MemHigh = max(1 GiB, 16 × (SendBuffer +
	// RecvBuffer)); MemPressure = 2/3 and MemLow = 1/2 of MemHigh (Linux's
	// ratios). A zero field takes its default; MemLow ≤ MemPressure ≤
	// MemHigh is required. A negative MemHigh removes the bound (the memory
	// is still accounted, Host.Memory).
	MemLow, MemPressure, MemHigh int64

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

	// Issue 11, spurious retransmissions (undo.go, frto.go).

	// Undo turns on the detection of unnecessary retransmissions, by
	// timestamps (Eifel, RFC 3522) and by D-SACK (RFC 3708), and the undo of
	// the cwnd and ssthresh reduction they caused, after a fast recovery or
	// an RTO, as Linux does (tcp_try_undo_recovery, tcp_try_undo_partial,
	// tcp_try_undo_dsack, tcp_try_undo_loss). The linux profile sets it.
	// Default off: RFC 5681's reductions stand (RFC 3522 and RFC 3708 are
	// Experimental).
	Undo bool
	// FRTO turns on F-RTO (RFC 5682, the SACK-enhanced variant as Linux's
	// tcp_frto=2): after an RTO, new data goes before the rest of the
	// window is resent, and the ACKs it draws tell a spurious timeout (the
	// segments were delayed) from a loss; a spurious one is undone and the
	// window is not resent. The linux profile sets it. Default off (RFC
	// 5682 is Experimental).
	FRTO bool
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
	DefaultOrphanRetries   = 8
	DefaultMaxOrphans      = 65536
	// DefaultMemHigh is the least default MemHigh (see TCPConfig).
	DefaultMemHigh int64 = 1 << 30
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
	if c.NotSentLowat < 0 {
		return fmt.Errorf("stack: TCPConfig.NotSentLowat is %d; it must not be negative", c.NotSentLowat)
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
	if err := c.portRangeDefaults(); err != nil {
		return err
	}
	if c.OrphanRetries == 0 {
		c.OrphanRetries = DefaultOrphanRetries
	}
	if c.MaxOrphans == 0 {
		c.MaxOrphans = DefaultMaxOrphans
	}
	if err := c.memDefaults(); err != nil {
		return err
	}
	if c.FastOpen < 0 || c.FastOpen > 0xffffffff {
		return fmt.Errorf("stack: TCPConfig.FastOpen is %d; it must be a set of Linux tcp_fastopen bits", c.FastOpen)
	}
	if n := len(c.FastOpenKey); n != 0 && n != 16 {
		return fmt.Errorf("stack: TCPConfig.FastOpenKey has %d bytes; it must have 16 (or none)", n)
	}
	if c.SYNCookies > 1 {
		return fmt.Errorf("stack: TCPConfig.SYNCookies is %d; it must be negative (off), 0 (when the SYN queue is full) or 1 (always)", c.SYNCookies)
	}

	c.applyAckLimitDefaults()
	if c.ECN < ECNOff || c.ECN > ECNPassive {
		return fmt.Errorf("stack: TCPConfig.ECN is %d; want ECNOff (0), ECNOn (1) or ECNPassive (2)", c.ECN)
	}
	if c.TSOBurst < 0 {
		return fmt.Errorf("stack: TCPConfig.TSOBurst is %d; it must not be negative (0 keeps PSH on the end of the data only)", c.TSOBurst)
	}
	if c.QuickAcks < 0 {
		return fmt.Errorf("stack: TCPConfig.QuickAcks is %d; it must not be negative (0 turns quick-ACK mode off)", c.QuickAcks)
	}
	if err := c.applyKeepAliveDefaults(); err != nil {
		return err
	}
	return c.checkCongestionControl()
}

// memDefaults fills and checks MemLow, MemPressure and MemHigh (memory.go).
func (c *TCPConfig) memDefaults() error {
	if c.MemHigh < 0 {
		c.MemLow, c.MemPressure = -1, -1
		return nil
	}
	if c.MemLow < 0 || c.MemPressure < 0 {
		return fmt.Errorf("stack: TCPConfig.MemLow %d and MemPressure %d must not be negative", c.MemLow, c.MemPressure)
	}
	if c.MemHigh == 0 {
		c.MemHigh = max(DefaultMemHigh, 16*int64(c.SendBuffer+c.RecvBuffer))
	}
	if c.MemPressure == 0 {
		c.MemPressure = c.MemHigh / 3 * 2
	}
	if c.MemLow == 0 {
		c.MemLow = min(c.MemHigh/2, c.MemPressure)
	}
	if c.MemLow > c.MemPressure || c.MemPressure > c.MemHigh {
		return fmt.Errorf("stack: TCPConfig memory thresholds MemLow %d ≤ MemPressure %d ≤ MemHigh %d do not hold", c.MemLow, c.MemPressure, c.MemHigh)
	}
	return nil
}

package stack

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// The congestion-control API: an algorithm written against it decides how
// the congestion window (and, if it wants, the pacing rate) of one
// connection evolves; the engine keeps doing everything else. Loss
// detection and recovery (RFC 5681 fast retransmit, RFC 6582 NewReno
// partial ACKs, RFC 6675 SACK recovery with RFC 6937 PRR, RACK, the
// retransmission timer) are the engine's and shared by every algorithm, as
// Linux shares them between its tcp_congestion_ops: during a recovery the
// engine sets cwnd, and the algorithm only says what ssthresh becomes when
// one starts, unless it is a RecoveryCwndOwner (BBR), which sets cwnd
// through the recovery itself.
//
// An algorithm is registered by name (RegisterCongestionControl), and
// TCPConfig.CongestionControl, the CLI's --cc and a scenario's
// congestion_control select it by that name. Each connection gets its own
// instance from the registered constructor.
//
// All byte counts are payload bytes, all times the host's virtual clock.

// CongestionAlgorithm is a congestion-control algorithm. The engine calls
// its methods from the connection's context, never concurrently.
type CongestionAlgorithm interface {
	// Init runs once, when the connection reaches ESTABLISHED and its send
	// MSS is known, with cwnd at the initial window and ssthresh
	// "arbitrarily high" (RFC 5681 §3.1). An algorithm may change both.
	Init(cc *CCConn)
	// OnAck runs for every ACK that advances SND.UNA, after SND.UNA moved
	// and after the engine's own recovery handling. Outside recovery it is
	// where the window grows (slow start, congestion avoidance); during a
	// recovery (a.InRecovery) the engine has already set cwnd and an
	// algorithm usually only takes note.
	OnAck(cc *CCConn, a AckSample)
	// OnCongestion is a congestion event: it returns the new ssthresh. For
	// CongestionLoss the engine then runs its recovery down to it; for
	// CongestionECN cwnd becomes max(ssthresh, 1 SMSS); for
	// CongestionTimeout cwnd becomes 1 SMSS (the loss window); for
	// CongestionTimeoutAgain the result is ignored (RFC 5681 §3.1 keeps
	// ssthresh when the same segment times out again).
	OnCongestion(cc *CCConn, ev CongestionEvent) (ssthresh uint32)
	// AfterIdle runs when data is about to leave a connection idle for
	// longer than the RTO, after the engine has applied RFC 5681 §4.1's
	// restart window.
	AfterIdle(cc *CCConn)
}

// SendObserver is implemented by an algorithm that wants to see every data
// segment sent (HyStart++ takes its RTT samples that way). OnSend runs
// before SND.MAX moves: seq is below cc.SndMax() for a retransmission.
type SendObserver interface {
	OnSend(cc *CCConn, seq, next segment.Seq)
}

// RateObserver is implemented by an algorithm that wants delivery-rate
// samples (the IETF delivery-rate-estimation draft, rate.go). The engine
// keeps the per-segment state only for such algorithms. OnRateSample runs
// once per ACK that delivered data (cumulatively or by SACK), after every
// other handling of the ACK (OnAck included) and before new data is sent.
type RateObserver interface {
	OnRateSample(cc *CCConn, rs RateSample)
}

// LossObserver is implemented by a RateObserver that wants to hear of
// each segment the engine finds lost, as it finds it, with what the
// delivery-rate estimator recorded when the segment was sent (the BBR
// draft's BBRHandleLostPacket). OnLost runs while an ACK is processed,
// before its OnRateSample, once per segment counted in RateSample's
// NewlyFoundLost (not for what is counted lost only when resent).
type LossObserver interface {
	OnLost(cc *CCConn, ls LostSegment)
}

// LostSegment is a segment found lost, as the rate estimator saw it sent.
type LostSegment struct {
	Bytes        uint32 // its payload
	TxInFlight   uint32 // the data in flight once it had left (P.tx_in_flight)
	Lost         uint64 // bytes found lost since it was sent, itself included (C.lost − P.lost)
	IsAppLimited bool   // it was sent while the application limited the sender
}

// CwndUndoer is implemented by an algorithm that can take back a reduction
// the engine found spurious (F-RTO, D-SACK or timestamp undo; Linux's
// undo_cwnd). UndoCwnd returns the cwnd to restore; priorCwnd is cwnd before
// the reduction. It should also restore what the algorithm remembered of the
// event (RFC 9438 §4.9 for CUBIC). Without it the engine restores
// max(cwnd, priorCwnd), as Linux's tcp_reno_undo_cwnd. The engine restores
// ssthresh itself.
type CwndUndoer interface {
	UndoCwnd(cc *CCConn, priorCwnd uint32) uint32
}

// RecoveryCwndOwner is implemented by an algorithm that sets cwnd itself
// during a loss recovery (BBR's packet conservation, as Linux's BBR takes
// over cwnd in TCP_CA_Recovery). The engine still finds the losses,
// retransmits, asks OnCongestion for ssthresh and keeps the recovery's
// state, but it leaves cwnd alone from start to end: no RFC 6937 PRR (with
// SACK), no RFC 6582 inflation by duplicate ACKs or deflation by partial
// ACKs (without), and no cwnd = min(ssthresh, ...) when the recovery ends.
//
// OnRecoveryStart runs once a fast recovery has begun (after OnCongestion
// returned ssthresh, before the fast retransmit, which goes whatever cwnd
// says): what the algorithm sets then is cwnd until it changes it, from
// OnAck or OnRateSample, which keep running on every ACK. OnRecoveryEnd
// runs when the recovery ends: on the ACK that covers the recovery point
// (before that ACK's OnAck and OnRateSample), when the engine undoes the
// recovery as spurious (before UndoCwnd, or the engine's max(cwnd,
// priorCwnd)), or when the retransmission timer expires in it (before
// OnCongestion, and before the engine sets cwnd to 1 SMSS). Without SACK a duplicate ACK delivers
// nothing an algorithm is told of, so only cumulative ACKs can move cwnd.
type RecoveryCwndOwner interface {
	OnRecoveryStart(cc *CCConn)
	OnRecoveryEnd(cc *CCConn)
}

// CongestionEvent says what made the engine ask for a new ssthresh.
type CongestionEvent int

const (
	// CongestionLoss is a loss found by duplicate ACKs, SACK or RACK, or a
	// tail loss probe that repaired one: a fast recovery starts.
	CongestionLoss CongestionEvent = iota
	// CongestionECN is an ACK with ECE (RFC 3168 §6.1.2), at most once per
	// window of data; nothing is retransmitted.
	CongestionECN
	// CongestionTimeout is the first expiry of the retransmission timer for
	// a segment.
	CongestionTimeout
	// CongestionTimeoutAgain is a further expiry for the same segment.
	CongestionTimeoutAgain
)

func (e CongestionEvent) String() string {
	switch e {
	case CongestionLoss:
		return "loss"
	case CongestionECN:
		return "ecn"
	case CongestionTimeout:
		return "timeout"
	case CongestionTimeoutAgain:
		return "timeout-again"
	}
	return fmt.Sprintf("CongestionEvent(%d)", int(e))
}

// AckSample is what one ACK that advanced SND.UNA tells an algorithm.
type AckSample struct {
	// Acked is the number of bytes SND.UNA advanced by (the SYN and FIN
	// not counted). With TCPConfig.DeliveredGrowth (the linux profile) it
	// is what the ACK newly delivered, as Linux counts it for its
	// algorithms: bytes the peer had already reported by SACK (or by
	// duplicate ACKs) count once, not again when SND.UNA passes them.
	Acked uint32
	// RTT is the round-trip sample this ACK gave the RFC 6298 estimator
	// (the timed segment or a timestamp echo), 0 if none.
	RTT time.Duration
	// ECE: the ACK carried ECN-Echo (counted whether or not the engine
	// reduced the window for it).
	ECE bool
	// InRecovery: a loss recovery was in progress when the ACK arrived (the
	// ACK that ends one counts as part of it).
	InRecovery bool
	// CwndLimited: the sender has been using its window, so that growing it
	// is justified (RFC 7661's concern; always true unless
	// TCPConfig.CwndLimitedGrowth is on, as Linux's tcp_is_cwnd_limited).
	CwndLimited bool
}

// RateSample is one delivery-rate sample (draft-cheng-iccrg-delivery-rate-
// estimation §3): Delivered bytes were delivered over Interval, so the
// delivery rate is Delivered/Interval. A sample with Interval 0 is not
// valid (no data was newly delivered, or the interval came out shorter
// than the minimum RTT, which a real path cannot deliver in).
type RateSample struct {
	Delivered      uint64        // bytes delivered in the sample's interval
	Interval       time.Duration // max(send elapsed, ACK elapsed)
	IsAppLimited   bool          // the sample's first segment was sent while the application, not cwnd, limited the flight
	PriorDelivered uint64        // the connection's delivered count when that segment was sent
	RTT            time.Duration // RTT of the most recently sent segment this ACK delivered, 0 if only retransmissions
	NewlyDelivered uint32        // bytes this ACK delivered (acknowledged or SACKed)
	TotalDelivered uint64        // the connection's delivered count after this ACK
	InFlight       uint32        // bytes in flight after this ACK (as CCConn.InFlight)

	// Loss and ECN over the sample (the BBR draft's RS.lost and
	// RS.tx_in_flight, and Linux's delivered_ce). The engine counts a
	// segment lost when RACK marks it (with RACK on), when it falls below
	// RFC 6675's loss boundary in a recovery neither SACKed nor resent
	// (without RACK), or when it is resent without having been found lost
	// (a timeout, a rescue or a tail loss probe); it counts again if its
	// retransmission is found lost.
	Lost           uint64 // bytes found lost since the sample's segment was sent (C.lost − P.lost)
	NewlyLost      uint32 // bytes found lost since the last sample: by this ACK, or resent without being found lost
	NewlyFoundLost uint32 // of NewlyLost, what this ACK found lost (the BBR draft's rs.newly_lost), not what was counted when resent
	TxInFlight     uint32 // the data in flight once the sample's segment had left (P.tx_in_flight, an estimate: in flight after the ACK before it, plus what was sent since)
	// CE: bytes delivered by ACKs with ECE, counted only when the receiver
	// echoes CE per segment (the algorithm is a CEEchoer and ECN was
	// negotiated); 0 with RFC 3168's echo, which latches ECE until CWR and
	// so says only that some segment of the window was marked.
	DeliveredCE      uint64 // over the sample's interval (C.delivered_ce − P.delivered_ce)
	NewlyDeliveredCE uint32 // of NewlyDelivered
}

// Rate returns the sample's delivery rate in bytes per second, 0 if the
// sample is not valid.
func (rs RateSample) Rate() uint64 {
	if rs.Interval <= 0 {
		return 0
	}
	return uint64(float64(rs.Delivered) * float64(time.Second) / float64(rs.Interval))
}

// CCConn is an algorithm's view of its connection: what it reads and the
// two things it controls, cwnd and the pacing rate. It is the connection
// itself under another type, so no method allocates.
type CCConn Conn

func (cc *CCConn) conn() *Conn { return (*Conn)(cc) }

// Cwnd is the congestion window in bytes.
func (cc *CCConn) Cwnd() uint32 { return cc.cwnd }

// SetCwnd sets the congestion window, in bytes; it is kept at least one
// SMSS and at most 2^30.
func (cc *CCConn) SetCwnd(b uint32) { cc.cwnd = min(max(b, uint32(cc.sndMSS)), 1<<30) }

// Ssthresh is the slow-start threshold in bytes.
func (cc *CCConn) Ssthresh() uint32 { return cc.ssthresh }

// SetSsthresh sets the slow-start threshold, in bytes.
func (cc *CCConn) SetSsthresh(b uint32) { cc.ssthresh = b }

// InSlowStart reports cwnd < ssthresh.
func (cc *CCConn) InSlowStart() bool { return cc.cwnd < cc.ssthresh }

// MSS is the send MSS in bytes (RFC 5681's SMSS).
func (cc *CCConn) MSS() uint32 { return uint32(cc.sndMSS) }

// InitialWindow is the initial window in bytes: TCPConfig.InitialWindow
// segments, or RFC 6928's min(10·SMSS, max(2·SMSS, 14600)).
func (cc *CCConn) InitialWindow() uint32 {
	smss := uint32(cc.sndMSS)
	if iw := cc.h.cfg.InitialWindow; iw > 0 {
		return uint32(iw) * smss
	}
	return min(10*smss, max(2*smss, 14600))
}

// FlightSize is RFC 5681's FlightSize: bytes sent and not yet cumulatively
// acknowledged.
func (cc *CCConn) FlightSize() uint32 { return cc.conn().flightSize() }

// InFlight is the engine's estimate of the bytes in the network: with SACK
// RFC 6675's pipe (or RACK's), without it FlightSize.
func (cc *CCConn) InFlight() uint32 {
	c := cc.conn()
	if c.sackOK {
		return c.pipe()
	}
	return c.flightSize()
}

// SndUna is SND.UNA, the oldest unacknowledged sequence number.
func (cc *CCConn) SndUna() segment.Seq { return cc.sndUna }

// SndMax is one past the highest sequence number sent.
func (cc *CCConn) SndMax() segment.Seq { return cc.sndMax }

// InRecovery reports whether a loss recovery is in progress.
func (cc *CCConn) InRecovery() bool { return cc.cc.inRecovery() }

// Now is the host's virtual time.
func (cc *CCConn) Now() time.Duration { return cc.h.env.Now() }

// SRTT is the RFC 6298 smoothed RTT, 0 before the first sample.
func (cc *CCConn) SRTT() time.Duration { return cc.srtt }

// MinRTT is the least RTT sample the connection has had, 0 before the
// first.
func (cc *CCConn) MinRTT() time.Duration { return cc.ccx.minRTT }

// ECN reports whether ECN was negotiated on the connection.
func (cc *CCConn) ECN() bool { return cc.ecn.ok }

// Delivered is the connection's count of bytes delivered (acknowledged or
// SACKed), kept only for a RateObserver (0 otherwise).
func (cc *CCConn) Delivered() uint64 { return cc.ccx.rate.delivered }

// AppLimited reports whether the application, not cwnd, limits the
// sender: the delivery-rate estimator's C.app_limited, set when output
// ran out of data with room left in cwnd and cleared once what was then in
// flight is delivered (kept only for a RateObserver; false otherwise).
func (cc *CCConn) AppLimited() bool { return cc.ccx.rate.appLimited != 0 }

// PacingRate is the pacing rate in force, bytes per second; 0 when the
// connection does not pace.
func (cc *CCConn) PacingRate() uint64 { return cc.conn().pacingRate() }

// SetPacingRate turns pacing on for the connection with the given rate in
// bytes per second (capped by the maximum pacing rate, TCPConfig's or
// Conn.SetMaxPacingRate's); the engine's own rule (Linux's
// tcp_update_pacing_rate) no longer sets it. 0 stops pacing by the
// algorithm.
func (cc *CCConn) SetPacingRate(bytesPerSec uint64) { cc.conn().setAlgPacingRate(bytesPerSec) }

// EnablePacing turns on the engine's pacing rule for the connection (as a
// Linux algorithm that asks for pacing, pacing.go): max(cwnd,
// FlightSize)/SRTT, times 2 while cwnd < ssthresh/2, times 1.2 after.
func (cc *CCConn) EnablePacing() { cc.pace.asked = true; cc.pace.update() }

// ccState is what the engine keeps for the API beyond the control block.
type ccState struct {
	alg      CongestionAlgorithm
	sendObs  SendObserver      // alg, if it observes sends
	rateObs  RateObserver      // alg, if it takes rate samples
	recOwner RecoveryCwndOwner // alg, if it sets cwnd during a recovery
	lossObs  LossObserver      // alg, if it observes each lost segment (with rateObs)
	sendHook bool              // sendObs or rateObs is set: ccSent has something to tell
	name     string
	minRTT   time.Duration
	ackRTT   time.Duration // the RFC 6298 sample of the ACK being processed
	ackECE   bool          // the ACK being processed carried ECE
	lrtt     rttRecs       // rttlinux.go, with TCPConfig.LinuxRTTSamples
	rate     rateState     // rate.go, for a RateObserver
	needsECN bool
	ceEcho   bool // the receiver echoes CE per segment (CEEchoer)
}

// ECNRequirer is implemented by an algorithm that only works with ECN
// (DCTCP). TCPConfig validation rejects it with ECN off, and an active open
// asks for ECN even when TCPConfig.ECN is ECNPassive, as Linux does for an
// algorithm flagged TCP_CONG_NEEDS_ECN.
type ECNRequirer interface {
	RequiresECN() bool
}

// CEEchoer is implemented by an algorithm whose receiver echoes CE as
// DCTCP's does (RFC 8257 §3.2): ECE on an ACK says whether the last data
// segment carried CE, and a change of that state sends an immediate ACK
// for the data before it, instead of RFC 3168's ECE latched until CWR.
type CEEchoer interface {
	EchoCEPerSegment() bool
}

// The registry of algorithms, by name.
var ccRegistry = struct {
	sync.RWMutex
	byName map[string]func() CongestionAlgorithm
	order  []string // registration order; the built-ins first
}{byName: map[string]func() CongestionAlgorithm{}}

var ccNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,31}$`)

// RegisterCongestionControl makes an algorithm available by name to
// TCPConfig.CongestionControl (and so to the CLI's --cc and scenarios). New
// returns a fresh instance for each connection (and is also called when a
// configuration is checked, to see which optional interfaces the algorithm
// implements: it should do nothing else). The name is 1 to 32 of the
// characters a-z, 0-9, '_', '.', '-' and must not be taken; registering from
// an init function, TestMain or main before any host is made is the usual
// way. It is safe for concurrent use.
func RegisterCongestionControl(name string, new func() CongestionAlgorithm) error {
	if !ccNameRE.MatchString(name) {
		return fmt.Errorf("stack: congestion control name %q: want 1 to 32 of a-z, 0-9, '_', '.', '-', starting with a letter or digit", name)
	}
	if new == nil {
		return fmt.Errorf("stack: congestion control %q: the constructor is nil", name)
	}
	ccRegistry.Lock()
	defer ccRegistry.Unlock()
	if _, ok := ccRegistry.byName[name]; ok {
		return fmt.Errorf("stack: congestion control %q is already registered", name)
	}
	ccRegistry.byName[name] = new
	ccRegistry.order = append(ccRegistry.order, name)
	return nil
}

func mustRegister(name string, new func() CongestionAlgorithm) {
	if err := RegisterCongestionControl(name, new); err != nil {
		panic(err)
	}
}

// Names of the built-in algorithms.
const (
	CCNewReno = "newreno"
	CCCubic   = "cubic"
	CCDCTCP   = "dctcp"
	CCBBR     = "bbr"
)

func init() {
	mustRegister(CCNewReno, func() CongestionAlgorithm { return &renoWindow{} })
	mustRegister(CCCubic, func() CongestionAlgorithm { return newCubic() })
	mustRegister(CCDCTCP, func() CongestionAlgorithm { return newDCTCP() })
	mustRegister(CCBBR, func() CongestionAlgorithm { return newBBR() })
}

// CongestionControls lists the names TCPConfig.CongestionControl accepts:
// the default (newreno) first, then the other built-ins, then the
// registered ones in registration order.
func CongestionControls() []string {
	ccRegistry.RLock()
	defer ccRegistry.RUnlock()
	return slices.Clone(ccRegistry.order)
}

// CongestionControlRequiresECN reports whether the named algorithm only
// works with ECN (ECNRequirer, as dctcp); false for an unknown name.
func CongestionControlRequiresECN(name string) bool {
	f := lookupCongestionControl(name)
	if f == nil {
		return false
	}
	r, ok := f().(ECNRequirer)
	return ok && r.RequiresECN()
}

func lookupCongestionControl(name string) func() CongestionAlgorithm {
	ccRegistry.RLock()
	defer ccRegistry.RUnlock()
	return ccRegistry.byName[name]
}

// checkCongestionControl fills in the default algorithm and rejects an
// unknown name, or an algorithm that needs ECN with ECN off (called by
// TCPConfig.applyDefaults).
func (c *TCPConfig) checkCongestionControl() error {
	if c.CongestionControl == "" {
		c.CongestionControl = CCNewReno
	}
	f := lookupCongestionControl(c.CongestionControl)
	if f == nil {
		return fmt.Errorf("stack: TCPConfig.CongestionControl is %q; known algorithms: %s",
			c.CongestionControl, strings.Join(CongestionControls(), ", "))
	}
	if r, ok := f().(ECNRequirer); ok && r.RequiresECN() {
		if c.ECN == ECNOff {
			return fmt.Errorf("stack: TCPConfig.CongestionControl %q requires ECN; TCPConfig.ECN is ECNOff (want ECNOn or ECNPassive)", c.CongestionControl)
		}
	}
	return nil
}

// ccHandle returns the algorithm's view of c.
func (c *Conn) ccHandle() *CCConn { return (*CCConn)(c) }

// ccAck tells the algorithm of an ACK that advanced SND.UNA by acked bytes;
// inRecovery is the recovery state when the ACK arrived.
func (c *Conn) ccAck(acked uint32, inRecovery bool) {
	if c.cwrReducing() {
		return // ecn.go: the window is being reduced, not grown (Linux's tcp_cong_control)
	}
	c.ccx.alg.OnAck(c.ccHandle(), AckSample{
		Acked:       acked,
		RTT:         c.ccx.ackRTT,
		ECE:         c.ccx.ackECE,
		InRecovery:  inRecovery,
		CwndLimited: c.cwndMayGrow(), // cwndlimit.go
	})
}

// ccCongestion asks the algorithm for ssthresh after event ev.
func (c *Conn) ccCongestion(ev CongestionEvent) uint32 {
	return c.ccx.alg.OnCongestion(c.ccHandle(), ev)
}

// ccSent tells a SendObserver, the rate estimator and pacing of a segment
// sent. Inlined: with none of them in use (NewReno, no pacing) it is four
// tests and no call.
func (c *Conn) ccSent(seq, next segment.Seq) {
	if c.pace.on || c.ccx.sendHook || c.h.cfg.LinuxRTTSamples {
		c.ccSentAll(seq, next)
	}
}

// ccSentAll is ccSent with something to tell.
func (c *Conn) ccSentAll(seq, next segment.Seq) {
	if c.pace.on {
		c.paceSent(seq, next) // pacing.go
	}
	if c.h.cfg.LinuxRTTSamples {
		c.rttRecSent(seq, next) // rttlinux.go
	}
	if c.ccx.sendObs != nil {
		c.ccx.sendObs.OnSend(c.ccHandle(), seq, next)
	}
	if c.ccx.rateObs != nil {
		c.rateSent(seq, next) // rate.go
	}
}

// ccRTT records an RFC 6298 RTT sample for the algorithm (rto.go).
func (c *Conn) ccRTT(r time.Duration) {
	c.ccx.ackRTT = r
	if c.ccx.minRTT == 0 || r < c.ccx.minRTT {
		c.ccx.minRTT = r
	}
}

// ccAckStart runs as an acceptable ACK's processing begins (input.go).
func (c *Conn) ccAckStart(th *segment.Header) {
	c.ccx.ackRTT, c.ccx.ackECE = 0, false
	if c.ecn.ok || c.h.cfg.LinuxRTTSamples {
		c.ccAckStartAll(th) // (inlined: without ECN or Linux's RTT samples there is nothing more)
	}
}

// ccAckStartAll is the rest of ccAckStart.
func (c *Conn) ccAckStartAll(th *segment.Header) {
	c.ccx.ackECE = th.Flags&segment.FlagECE != 0 && c.ecn.ok
	if c.h.cfg.LinuxRTTSamples {
		c.rttRecAck(th.Ack) // rttlinux.go
	}
}

// ccAckEnd runs once the ACK has been processed (input.go): a rate sample
// for a RateObserver.
func (c *Conn) ccAckEnd() {
	if c.ccx.rateObs != nil {
		c.rateOnAck() // rate.go
	}
}

// ccAfterSend runs when output has sent what it could (output.go).
func (c *Conn) ccAfterSend() {
	if c.ccx.rateObs != nil {
		c.rateCheckAppLimited() // rate.go
	}
}

// setAlgorithm installs alg as c's algorithm.
func (c *Conn) setAlgorithm(name string, alg CongestionAlgorithm) {
	c.ccx.alg, c.ccx.name = alg, name
	c.ccx.sendObs, _ = alg.(SendObserver)
	c.ccx.rateObs, _ = alg.(RateObserver)
	c.ccx.sendHook = c.ccx.sendObs != nil || c.ccx.rateObs != nil
	c.ccx.recOwner, _ = alg.(RecoveryCwndOwner)
	c.ccx.lossObs, _ = alg.(LossObserver)
	c.ccx.needsECN, c.ccx.ceEcho = false, false
	if r, ok := alg.(ECNRequirer); ok {
		c.ccx.needsECN = r.RequiresECN()
	}
	if e, ok := alg.(CEEchoer); ok {
		c.ccx.ceEcho = e.EchoCEPerSegment()
	}
	c.ccx.rate = rateState{}
}

// SetCongestionControl switches the connection to the named algorithm, as
// Linux's TCP_CONGESTION socket option: a new instance replaces the old
// one, and if the connection is already established its Init runs at once
// with cwnd and ssthresh as they are. An unknown name, or an algorithm that
// needs ECN on a connection that has none (or, before ESTABLISHED, on a
// host with ECN off), is an error and changes nothing.
func (c *Conn) SetCongestionControl(name string) error {
	f := lookupCongestionControl(name)
	if f == nil {
		return fmt.Errorf("stack: congestion control %q is unknown; known algorithms: %s", name, strings.Join(CongestionControls(), ", "))
	}
	alg := f()
	r, needs := alg.(ECNRequirer)
	needs = needs && r.RequiresECN()
	established := c.state != StateClosed && c.state != StateSynSent && c.state != StateSynReceived
	if needs && (established && !c.ecn.ok || !established && c.h.cfg.ECN == ECNOff) {
		return fmt.Errorf("stack: congestion control %q requires ECN, which this connection does not have", name)
	}
	c.setAlgorithm(name, alg)
	c.pace.algRate = 0
	c.pace.update()
	if established {
		alg.Init(c.ccHandle())
	}
	return nil
}

// CongestionControl names the connection's algorithm.
func (c *Conn) CongestionControl() string { return c.ccx.name }

// ccRecoveryStart tells a RecoveryCwndOwner that a fast recovery began; it
// reports whether the algorithm owns cwnd (the engine then leaves it).
func (c *Conn) ccRecoveryStart() bool {
	if c.ccx.recOwner == nil {
		return false
	}
	c.ccx.recOwner.OnRecoveryStart(c.ccHandle())
	return true
}

// ccRecoveryEnd tells a RecoveryCwndOwner that the recovery ended; it
// reports whether the algorithm owns cwnd.
func (c *Conn) ccRecoveryEnd() bool {
	if c.ccx.recOwner == nil {
		return false
	}
	c.ccx.recOwner.OnRecoveryEnd(c.ccHandle())
	return true
}

// ccUndoCwnd is the cwnd to restore when a reduction from priorCwnd turns
// out to be spurious (for the engine's undo: F-RTO, D-SACK, timestamps).
func (c *Conn) ccUndoCwnd(priorCwnd uint32) uint32 {
	if u, ok := c.ccx.alg.(CwndUndoer); ok {
		return u.UndoCwnd(c.ccHandle(), priorCwnd)
	}
	return max(c.cwnd, priorCwnd)
}

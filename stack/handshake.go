package stack

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Connection establishment: RFC 9293 §3.5 (three-way handshake and
// simultaneous open), §3.7.1 (MSS option), RFC 7323 §2 (window scale),
// RFC 6528 (ISN), RFC 6056 (ephemeral ports).

// IANA ephemeral port range (RFC 6335 §6), used as RFC 6056 suggests.
const (
	ephemeralLow   = 49152
	ephemeralHigh  = 65535
	ephemeralCount = ephemeralHigh - ephemeralLow + 1
)

// defaultMSS is the send MSS when the peer's SYN carries no MSS option
// (RFC 9293 §3.7.1, MUST-15: 536 for IPv4).
const defaultMSS = 536

// minSendMSS bounds a peer's tiny MSS option from below so that a hostile
// or broken peer cannot make us send one-byte segments (Linux clamps to 48).
const minSendMSS = 64

// newConn creates a connection control block bound to key and registers it
// in the demultiplexing table.
func (h *Host) newConn(key connKey, ifIdx int) *Conn {
	h.nextID++
	c := &Conn{
		h:      h,
		id:     h.nextID,
		key:    key,
		ifIdx:  ifIdx,
		sndBuf: newRing(h.cfg.SendBuffer),
		rcvBuf: newRing(h.cfg.RecvBuffer),
	}
	c.noDelay = h.cfg.NoDelay
	c.initKeepAlive()
	c.sndBuf.mem, c.rcvBuf.mem = &h.mem, &h.mem
	if h.cfg.SendBufferPerChunk {
		c.sndBuf.over = maxSizeGoal // a write may fill up to one chunk beyond SendBuffer (socket.go)
	}
	c.rcvMSS = h.ifaces[ifIdx].mtu - 40 // IPv4 and TCP headers without options
	c.sndMSS = min(defaultMSS, c.rcvMSS)
	c.rto = h.cfg.RTOInitial
	c.cc = newCongestionControl(c)
	c.initPacing() // pacing.go
	c.iss = segment.Seq(h.isnFor(key))
	if h.twISNSet {
		c.iss, h.twISNSet = h.twISN, false
	}
	c.sndUna, c.sndNxt, c.sndMax, c.sndSmall = c.iss, c.iss, c.iss, c.iss
	c.sndBufStart = c.iss.Add(1)
	c.tsInit()
	h.conns[key] = c
	return c
}

// wantWindowShift is the window scale we offer: the smallest shift that
// lets the 16-bit window field describe the whole receive buffer.
func (h *Host) wantWindowShift() uint8 {
	s := uint8(0)
	for h.cfg.RecvBuffer>>s > 0xffff && s < segment.MaxWindowShift {
		s++
	}
	return s
}

// activeOpen implements OPEN with an active flag (RFC 9293 §3.10.1).
func (h *Host) activeOpen(local, remote netip.AddrPort, o ConnectOptions) (*Conn, error) {
	ra := remote.Addr()
	if !ra.Is4() || ra.IsUnspecified() || ra.IsMulticast() || ra == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return nil, fmt.Errorf("stack: host %q: connect: remote address %v is not a unicast IPv4 address", h.name, ra)
	}
	if remote.Port() == 0 {
		return nil, fmt.Errorf("stack: host %q: connect to %v: remote port 0", h.name, remote)
	}
	ifIdx, ok := h.lookupRoute(ra)
	if !ok {
		return nil, fmt.Errorf("stack: host %q: connect to %v: %w", h.name, remote, ErrNoRoute)
	}
	la := local.Addr()
	if !la.IsValid() || la.IsUnspecified() {
		la = h.ifaces[ifIdx].prefix.Addr()
	} else if !h.isLocal(la) {
		return nil, fmt.Errorf("stack: host %q: connect: local address %v is not on any interface", h.name, la)
	}
	port := local.Port()
	if port == 0 {
		if port, ok = h.pickEphemeral(la, remote); !ok {
			return nil, fmt.Errorf("stack: host %q: connect to %v: %w in %v", h.name, remote, ErrNoPorts, h.cfg.EphemeralPorts)
		}
	}
	key := connKey{netip.AddrPortFrom(la, port), remote}
	if _, dup := h.conns[key]; dup {
		return nil, fmt.Errorf("stack: host %q: connect %v->%v: %w", h.name, key.local, remote, ErrAddrInUse)
	}
	c := h.newConn(key, ifIdx)
	c.accepted = true
	c.state = StateSynSent
	c.clampMSS(o.MaxSegment)
	c.synCnt = o.SYNRetries
	c.SetTOS(o.TOS)
	c.SetDontFragment(!o.NoDontFragment)
	h.counters.TCPActiveOpens++
	if !c.fastOpenConnect(o) {
		return c, nil // fastopen.go: the SYN waits for the first write
	}
	c.sendSyn()
	if t := h.cfg.ConnectTimeout; t > 0 {
		c.setTimer(&c.tm.connectEnd, h.env.Now()+t)
	}
	return c, nil
}

// pickEphemeral chooses a local port for a connection to remote with
// RFC 6056 §3.3.3 Algorithm 3 ("Simple Hash-Based Port Selection"): a keyed
// hash of the destination picks where the search starts and a global
// counter moves it on, so ports to one destination do not repeat soon and
// ports are unpredictable across seeds. A port is free when no connection
// uses the 4-tuple and no listener owns it.
func (h *Host) pickEphemeral(la netip.Addr, remote netip.AddrPort) (uint16, bool) {
	var buf [32 + 12]byte
	copy(buf[:], h.portKey[:])
	putTuple(buf[32:], connKey{netip.AddrPortFrom(la, 0), remote})
	sum := sha256.Sum256(buf[:])
	offset := binary.BigEndian.Uint32(sum[:4])
	for range h.cfg.EphemeralPorts.Count() {
		port := h.ephemeralPort(offset + h.portNext)
		h.portNext++
		if _, used := h.conns[connKey{netip.AddrPortFrom(la, port), remote}]; used {
			continue
		}
		if h.findListener(la, port) != nil {
			continue
		}
		return port, true
	}
	return 0, false
}

// processSynOptions applies the peer's SYN options: the send MSS
// (RFC 9293 §3.7.1; RFC 6691: the option excludes TCP and IP options, so
// the effective MSS is min(option, MTU − 40)) and window scaling
// (RFC 7323 §2.2: in use only if both SYNs carry the option).
func (c *Conn) processSynOptions(o *segment.Options) {
	mss := defaultMSS
	if o.HasMSS {
		mss = int(o.MSS)
	}
	// The floor guards against a peer's tiny option; our own interface's
	// MTU still caps the result (an MTU below 104 leaves less than the floor).
	c.sndMSS = min(max(minSendMSS, mss), c.rcvMSS)
	c.sackOK = o.SACKPermitted && !c.h.cfg.DisableSACK
	if o.HasWindowScale && !c.h.cfg.DisableWindowScale {
		c.wsOK = true
		c.sndWndShift = o.WindowScale // already clamped to 14 by the codec (RFC 7323 §2.3)
		c.rcvWndShift = c.h.wantWindowShift()
	} else {
		c.wsOK = false
		c.sndWndShift, c.rcvWndShift = 0, 0
	}
	c.tsNegotiate(o) // RFC 7323 §3.2: after sndMSS, which it reduces
}

// sendSyn sends (or resends) our SYN in SYN_SENT, or SYN-ACK in
// SYN_RECEIVED, with the MSS and window-scale options, and arms the
// retransmission timer.
func (c *Conn) sendSyn() {
	th := segment.Header{Seq: c.iss, Flags: segment.FlagSYN}
	th.Options.HasMSS, th.Options.MSS = true, uint16(min(c.rcvMSS, 0xffff))
	offerWS, offerSACK, offerTS := !c.h.cfg.DisableWindowScale, !c.h.cfg.DisableSACK, !c.h.cfg.DisableTimestamps
	if c.state == StateSynReceived {
		th.Flags |= segment.FlagACK
		th.Ack = c.rcvNxt
		offerWS = c.wsOK     // RFC 7323 §2.2: only in reply to a SYN that had it
		offerSACK = c.sackOK // RFC 2018 §2: likewise
		offerTS = c.tsOK     // RFC 7323 §3.2: likewise
	}
	th.Options.SACKPermitted = offerSACK
	if c.state == StateSynReceived {
		c.ecnSYNACK(&th)
	} else {
		c.ecnSYN(&th)
	}
	c.synTimestamps(&th, offerTS)
	if offerWS {
		th.Options.HasWindowScale = true
		th.Options.WindowScale = c.h.wantWindowShift()
	}
	first := c.sndMax == c.iss
	c.fastOpenSynOptions(&th, first) // fastopen.go
	p1, p2, synData := c.fastOpenSynData(first)
	// RFC 7323 §2.2: the window field of a SYN is never scaled.
	wnd := min(c.rcvWnd(), 0xffff)
	th.Window = uint16(wnd)
	if adv := c.rcvNxt.Add(wnd); c.state == StateSynReceived && adv.GreaterThan(c.rcvAdv) {
		c.rcvAdv = adv
	}
	now := c.h.env.Now()
	if c.sndMax == c.iss {
		// First transmission: time it (RFC 6298 §2 allows SYN samples;
		// Karn's rule stops us sampling a retransmitted one).
		c.rttTiming, c.rttSeq, c.rttStart = true, c.iss, now
	} else {
		c.h.counters.TCPRetransSegs++
		c.stats.retrans++
		c.rttTiming = false
		c.tsRetransmit()
	}
	c.sndNxt = c.iss.Add(1 + synData)
	if c.sndNxt.GreaterThan(c.sndMax) {
		c.sndMax = c.sndNxt // data sent on the SYN stays sent when the SYN alone is resent
	}
	c.stats.segsOut++
	c.stats.bytesOut += uint64(synData)
	c.emit(&th, p1, p2)
	c.afterAckSent()
	c.setTimer(&c.tm.rtxAt, now+c.currentRTO())
}

// inputSynSent handles a segment in SYN_SENT (RFC 9293 §3.10.7.3).
func (c *Conn) inputSynSent(th *segment.Header, payload []byte) {
	h := c.h
	f := th.Flags
	ackOK := false
	// First: check the ACK bit.
	if f&segment.FlagACK != 0 {
		// "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless
		// the RST bit is set, if so drop the segment and return)".
		if th.Ack.LessThanEq(c.iss) || th.Ack.GreaterThan(c.sndMax) {
			if f&segment.FlagRST == 0 {
				h.sendResetFor(c.key, th, len(payload))
			} else {
				h.counters.TCPRstIgnored++
			}
			return
		}
		ackOK = true // SND.UNA < SEG.ACK =< SND.NXT
		if c.synAckEchoBad(th) {
			// RFC 7323 timestamps: the echo is of no SYN of ours (Linux).
			if f&segment.FlagRST == 0 {
				h.sendResetFor(c.key, th, len(payload))
			}
			return
		}
	}
	// Second: check the RST bit. Acceptable only with an acceptable ACK
	// (RFC 9293 §3.10.7.3; RFC 5961 §3.2 leaves SYN-SENT to this rule).
	if f&segment.FlagRST != 0 {
		if !ackOK {
			h.counters.TCPRstIgnored++
			return
		}
		h.counters.TCPRstReceived++
		c.fail(errRefused) // "error: connection reset" to the user: ECONNREFUSED, as sockets report it
		return
	}
	// Fourth: check the SYN bit.
	if f&segment.FlagSYN == 0 {
		h.counters.TCPDropInState++ // neither SYN nor RST: drop
		return
	}
	c.irs = th.Seq
	c.rcvNxt = th.Seq.Add(1)
	c.rcvAdv = c.rcvNxt // nothing advertised yet; rcvAdv must start in the peer's sequence space
	c.processSynOptions(&th.Options)
	if ackOK {
		c.ecnActive(th) // ecn.go
	}
	if ackOK {
		// Our SYN is acknowledged: ESTABLISHED. The window of a SYN-ACK is
		// not scaled (RFC 7323 §2.2).
		c.tsRTT(th, th.Ack)
		c.ackSyn(th.Ack.Min(c.iss.Add(1))) // data on our SYN: fastOpenSynAck below
		c.sndWnd = uint32(th.Window)
		c.maxSndWnd = c.sndWnd
		c.sndWl1, c.sndWl2 = th.Seq, th.Ack
		c.establish()
		c.ackNow = true
		c.fastOpenSynAck(th) // fastopen.go: data it resends carries the ACK
		// Text or FIN on the SYN-ACK: "continue processing at the sixth
		// step". We accept in-order data here.
		if len(payload) > 0 || f&segment.FlagFIN != 0 {
			c.processText(th, c.rcvNxt, payload, f&segment.FlagFIN != 0)
		}
		c.output()
		return
	}
	// Simultaneous open (RFC 9293 §3.5, Figure 8): SYN without ACK. Enter
	// SYN_RECEIVED and send SYN,ACK with our original ISS. Text is not
	// queued; the peer retransmits it.
	c.state = StateSynReceived
	c.sndWnd = uint32(th.Window)
	c.sndWl1 = th.Seq
	c.sndMax = c.iss // resend the SYN as a SYN-ACK, not counted as a retransmission
	c.sendSyn()
}

// ackSyn records the acknowledgment of our SYN.
func (c *Conn) ackSyn(ack segment.Seq) {
	if c.rttTiming && ack.GreaterThan(c.rttSeq) {
		c.rttTiming = false
		c.rttSample(c.h.env.Now() - c.rttStart)
	}
	if ack.GreaterThan(c.sndUna) {
		c.noteDelivered(0) // the SYN (fastopen.go)
	}
	c.sndUna = ack
	if c.sndNxt.LessThan(ack) {
		c.sndNxt = ack
	}
	c.tm.rtxAt = 0
}

// establish enters ESTABLISHED (or FIN_WAIT_1 when the application already
// called CloseWrite) and tells the application.
func (c *Conn) establish() {
	c.tm.connectEnd = 0
	c.backoff = 0
	// RFC 6298 §5.7: if the SYN or SYN-ACK timed out and no RTT sample
	// exists, restart data transmission with an RTO of 3 s.
	if c.synRetries > 0 && c.srtt == 0 && c.rto < 3*time.Second {
		c.rto = min(3*time.Second, c.h.cfg.RTOMax)
	}
	c.synRetries = 0
	if !c.tfo.ccReady {
		c.cc.init() // a Fast Open server set it up with its SYN-ACK (fastopen.go)
	}
	c.fastOpenDone()
	c.establishedAt = c.h.env.Now()
	defer c.armKeepAlive() // once the state is set below
	if c.wrClosed {
		c.state = StateFinWait1
	} else {
		c.state = StateEstablished
	}
	if l := c.listener; l != nil {
		l.unlink(c)
		l.queue = append(l.queue, c)
		c.h.notifyListener(l, EventReadable)
	}
	c.h.notifyConn(c, EventEstablished|EventWritable)
}

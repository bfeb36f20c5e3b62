package stack

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// SYN cookies (RFC 4987 §3.6), after Linux's scheme
// (net/ipv4/syncookies.c). When a listener's SYN queue is full, a SYN is
// answered with a SYN-ACK whose ISS is a cookie and no state is kept. The
// cookie is
//
//	ISS = H(tuple) + peer's ISN + (count mod 2⁸)·2²⁴ + MAC(tuple, count, peer's ISN, data)·2³ + data
//
// where H and MAC (21 bits) are SHA-256 keyed with the host's cookie
// secret, count is the virtual time in cookieSlot units and data (3 bits)
// is the index of the peer's MSS in cookieMSSTable. An ACK that reaches the
// listener with no connection for its 4-tuple is checked: SEG.ACK − 1 must
// be a cookie made for that tuple and SEG.SEQ − 1 in this slot or the one
// before. It then creates the connection.
//
// Linux adds the data to a hash of the tuple and count, and the peer's ISN
// only outside it, so a cookie or an ISN off by one still decodes (as
// another MSS index). Here the MAC covers the ISN and the data: changing
// any bit of the cookie, or the ISN, is caught except with probability 2⁻²¹.
//
// A cookie has no room for window scale and SACK-permitted. With RFC 7323
// timestamps the SYN-ACK's TSval carries them in its low bits
// (cookieTSVal) and the ACK echoes them in TSecr (cookieTSDecode), as
// Linux's cookie_init_timestamp does. Without timestamps a cookie SYN-ACK
// offers neither, and the connection has no window scale and no SACK.

const (
	// cookieSlot is the tick of the cookie's time counter.
	cookieSlot = 64 * time.Second
	// cookieMaxAge is how many slots a cookie is accepted in: the one it was
	// made in and the next, so it lives between 64 s and 128 s (Linux: 60 s
	// slots, MAX_SYNCOOKIE_AGE 2).
	cookieMaxAge = 2
	// cookieBits is the width of the authenticated field: the data in its
	// low cookieDataBits bits and a MAC above them. The time counter takes
	// the 8 bits above it.
	cookieBits     = 24
	cookieDataBits = 3
	cookieMACMask  = 1<<(cookieBits-cookieDataBits) - 1
	// cookieRecent is how long after it last sent a cookie a listener
	// checks arriving ACKs as cookies (Linux tcp_synq_no_recent_overflow).
	cookieRecent = cookieMaxAge * cookieSlot
)

// cookieMSSTable holds the MSS values a cookie can carry; the peer's MSS is
// rounded down to one of them. Linux's IPv4 table is 536, 1300, 1440, 1460;
// we add the engine's floor (64, so that a peer asking for less than 536
// is not sent 536), 1220 (IPv6 minimum MTU behind a tunnel), 4312 (FDDI)
// and 8960 (9000-byte jumbo frames). Eight entries: three bits.
var cookieMSSTable = [...]uint16{minSendMSS, 536, 1220, 1300, 1440, 1460, 4312, 8960}

// cookieMSSIndex returns the index of the largest table entry not above
// mss (the first entry when mss is below every one).
func cookieMSSIndex(mss int) uint32 {
	for i := len(cookieMSSTable) - 1; i > 0; i-- {
		if mss >= int(cookieMSSTable[i]) {
			return uint32(i)
		}
	}
	return 0
}

// cookieOpts are the SYN options a cookie carries in the timestamp: what
// Linux keeps in the low tsOptBits bits of TSval.
type cookieOpts struct {
	wsOK   bool  // the SYN carried window scale (and we use it)
	wscale uint8 // the peer's shift, at most segment.MaxWindowShift
	sackOK bool  // the SYN carried SACK-permitted (and we use it)
	ecn    bool  // ECN negotiated; tcpsim has no ECN and never sets it
}

// The low bits of a cookie TSval (Linux TS_OPT_*): four bits of window
// scale (all ones for none), SACK, ECN.
const (
	tsOptWScaleMask = 0xf
	tsOptSACK       = 1 << 4
	tsOptECN        = 1 << 5
	tsOptBits       = 6
)

// cookieTSVal returns the TSval for a cookie SYN-ACK sent when the host's
// timestamp clock reads now: the largest value not after now whose low
// tsOptBits bits encode o. It lies at most 63 ticks before now, so the
// peer's RTT measurement and PAWS see a clock that only moves forward.
func cookieTSVal(now uint32, o cookieOpts) uint32 {
	opt := uint32(tsOptWScaleMask)
	if o.wsOK {
		opt = uint32(min(o.wscale, segment.MaxWindowShift))
	}
	if o.sackOK {
		opt |= tsOptSACK
	}
	if o.ecn {
		opt |= tsOptECN
	}
	ts := now&^(1<<tsOptBits-1) | opt
	if int32(ts-now) > 0 { // later than now: take the previous 64-tick block
		ts -= 1 << tsOptBits
	}
	return ts
}

// cookieTSDecode reads the options back from the TSecr of the ACK that
// completes a cookie handshake. A shift of 15 means no window scale; 14 is
// the largest (RFC 7323 §2.3), so 15 can mean nothing else.
func cookieTSDecode(tsecr uint32) cookieOpts {
	var o cookieOpts
	if ws := uint8(tsecr & tsOptWScaleMask); ws != tsOptWScaleMask {
		o.wsOK, o.wscale = true, min(ws, segment.MaxWindowShift)
	}
	o.sackOK = tsecr&tsOptSACK != 0
	o.ecn = tsecr&tsOptECN != 0
	return o
}

// cookieTSHook is the seam between SYN cookies and RFC 7323 timestamps.
// Host.cookieTS is nil while the host does not use timestamps; then cookie
// SYN-ACKs carry no timestamp, window scale or SACK-permitted, and the
// timestamp option on a cookie ACK is ignored.
type cookieTSHook interface {
	// tsNow returns the timestamp clock toward k's remote address: the
	// TSval of a segment sent now on k.
	tsNow(k connKey) uint32
	// adopt gives c, just created from a cookie ACK th that carried
	// timestamps, its timestamp state (TS.Recent from th's TSval; the
	// connection sends timestamps).
	adopt(c *Conn, th *segment.Header)
}

// cookieSecret returns the key of the cookie hash. It is derived from the
// RFC 6528 secret, itself drawn from the host's seeded generator, so runs
// stay deterministic per seed and no draw is added to that generator.
func (h *Host) cookieSecret() *[32]byte {
	if !h.cookieKeySet {
		var buf [32 + 9]byte
		copy(buf[:], h.isnSecret[:])
		copy(buf[32:], "syncookie")
		h.cookieKey, h.cookieKeySet = sha256.Sum256(buf[:]), true
	}
	return &h.cookieKey
}

// cookieHash is SHA-256 keyed with the cookie secret over the 4-tuple and
// the given words, cut to 32 bits. which separates H(tuple) (1) from the
// MAC (0).
func (h *Host) cookieHash(k connKey, count, peerISN, data uint32, which byte) uint32 {
	var buf [32 + 12 + 12 + 1]byte
	copy(buf[:], h.cookieSecret()[:])
	putTuple(buf[32:], k)
	binary.BigEndian.PutUint32(buf[44:], count)
	binary.BigEndian.PutUint32(buf[48:], peerISN)
	binary.BigEndian.PutUint32(buf[52:], data)
	buf[56] = which
	sum := sha256.Sum256(buf[:])
	return binary.BigEndian.Uint32(sum[:4])
}

// cookieCount is the time counter: virtual time in cookieSlot units.
func (h *Host) cookieCount() uint32 { return uint32(h.env.Now() / cookieSlot) }

// cookieMAC is the authenticator of a cookie made in slot count.
func (h *Host) cookieMAC(k connKey, count uint32, peerISN segment.Seq, data uint32) uint32 {
	return h.cookieHash(k, count, uint32(peerISN), data, 0) & cookieMACMask
}

// makeCookie returns the ISS for a SYN on k with sequence number peerISN,
// carrying data (< 2^cookieDataBits).
func (h *Host) makeCookie(k connKey, peerISN segment.Seq, data uint32) segment.Seq {
	count := h.cookieCount()
	v := count<<cookieBits | h.cookieMAC(k, count, peerISN, data)<<cookieDataBits | data
	return segment.Seq(h.cookieHash(k, 0, 0, 0, 1) + uint32(peerISN) + v)
}

// checkCookie undoes makeCookie for an ACK on k: cookie is SEG.ACK − 1 and
// peerISN SEG.SEQ − 1. It returns the MSS index and whether the cookie is
// one we made for this tuple and ISN in the last cookieMaxAge slots.
func (h *Host) checkCookie(k connKey, peerISN, cookie segment.Seq) (uint32, bool) {
	count := h.cookieCount()
	v := uint32(cookie) - h.cookieHash(k, 0, 0, 0, 1) - uint32(peerISN)
	age := (count - v>>cookieBits) & (1<<(32-cookieBits) - 1)
	if age >= cookieMaxAge {
		return 0, false
	}
	data := v & (1<<cookieDataBits - 1)
	if data >= uint32(len(cookieMSSTable)) || v>>cookieDataBits&cookieMACMask != h.cookieMAC(k, count-age, peerISN, data) {
		return 0, false
	}
	return data, true
}

// wantCookie reports whether a SYN that reached l should be answered with a
// cookie: cookies are on, the SYN queue is full (or TCPConfig.SYNCookies
// asks for cookies always), and the accept queue has room; a SYN that finds
// the accept queue full is dropped as before, as in Linux.
func (l *Listener) wantCookie() bool {
	mode := l.h.cfg.SYNCookies
	if mode < 0 || len(l.queue) >= l.backlog {
		return false
	}
	return mode > 0 || len(l.embryo)+len(l.queue) >= l.backlog
}

// sendCookie answers a SYN on key with a cookie SYN-ACK and keeps nothing
// but the time (for cookieRecent).
func (l *Listener) sendCookie(key connKey, th *segment.Header) {
	h := l.h
	ifIdx, ok := h.lookupRoute(key.remote.Addr())
	if !ok {
		h.counters.IPNoRoute++
		return
	}
	rcvMSS := h.ifaces[ifIdx].mtu - 40
	if l.maxSeg > 0 {
		rcvMSS = min(rcvMSS, l.maxSeg) // as clampMSS does for a full connection
	}
	mss := defaultMSS
	if th.Options.HasMSS {
		mss = int(th.Options.MSS)
	}
	idx := cookieMSSIndex(mss)
	out := segment.Header{
		Seq:    h.makeCookie(key, th.Seq, idx),
		Ack:    th.Seq.Add(1),
		Flags:  segment.FlagSYN | segment.FlagACK,
		Window: uint16(min(h.cfg.RecvBuffer, 0xffff)), // a SYN's window is never scaled
	}
	out.Options.HasMSS, out.Options.MSS = true, uint16(min(rcvMSS, 0xffff))
	if ts := h.cookieTS; ts != nil && th.Options.HasTimestamps {
		o := cookieOpts{
			wsOK:   th.Options.HasWindowScale && !h.cfg.DisableWindowScale,
			wscale: th.Options.WindowScale,
			sackOK: th.Options.SACKPermitted && !h.cfg.DisableSACK,
		}
		out.Options.SACKPermitted = o.sackOK
		if o.wsOK {
			out.Options.HasWindowScale, out.Options.WindowScale = true, h.wantWindowShift()
		}
		out.Options.HasTimestamps = true
		out.Options.TSVal, out.Options.TSEcr = cookieTSVal(ts.tsNow(key), o), th.Options.TSVal
	}
	h.counters.TCPSyncookiesSent++
	l.cookieAt, l.cookieSent = h.env.Now(), true
	h.emit(ifIdx, &key, &out, nil, nil)
}

// cookieACK handles an ACK that reached listener l: if cookies were sent
// lately and SEG.ACK − 1 is a valid cookie, it creates the connection from
// it and passes it the ACK, and reports true. It reports false (the caller
// answers with a RST as for any ACK in LISTEN) when the ACK is no cookie.
// A valid cookie that finds the accept queue full is dropped and counted in
// TCPListenOverflows, and true is reported: the peer retransmits.
func (l *Listener) cookieACK(key connKey, th *segment.Header, payload []byte) bool {
	h := l.h
	if th.Flags&(segment.FlagSYN|segment.FlagRST|segment.FlagACK) != segment.FlagACK ||
		!l.cookieSent || h.env.Now()-l.cookieAt > cookieRecent || h.cfg.SYNCookies < 0 {
		return false
	}
	irs := th.Seq.Add(^uint32(0)) // SEG.SEQ − 1
	iss := th.Ack.Add(^uint32(0))
	idx, ok := h.checkCookie(key, irs, iss)
	var o cookieOpts
	if ok && h.cookieTS != nil && th.Options.HasTimestamps {
		o = cookieTSDecode(th.Options.TSEcr)
		// Options we would not have offered: not our cookie (Linux
		// cookie_timestamp_decode).
		ok = !(o.sackOK && h.cfg.DisableSACK) && !(o.wsOK && h.cfg.DisableWindowScale)
	}
	if !ok {
		h.counters.TCPSyncookiesFailed++
		return false
	}
	h.counters.TCPSyncookiesRecv++
	if len(l.queue) >= l.backlog {
		h.counters.TCPListenOverflows++
		return true
	}
	ifIdx, ok := h.lookupRoute(key.remote.Addr())
	if !ok {
		h.counters.IPNoRoute++
		return true
	}
	h.counters.TCPPassiveOpens++
	h.twISNSet = false
	c := h.newConn(key, ifIdx)
	c.listener = l
	c.clampMSS(l.maxSeg)
	// The state the connection would have had in SYN_RECEIVED after
	// sending our SYN-ACK once.
	c.iss = iss
	c.sndUna, c.sndSmall = iss, iss
	c.sndNxt, c.sndMax, c.sndBufStart = iss.Add(1), iss.Add(1), iss.Add(1)
	c.irs = irs
	c.rcvNxt = irs.Add(1)
	c.rcvAdv = c.rcvNxt.Add(min(c.rcvWnd(), 0xffff))                    // the SYN-ACK's window
	c.sndMSS = min(max(minSendMSS, int(cookieMSSTable[idx])), c.rcvMSS) // as processSynOptions
	c.sackOK = o.sackOK
	if o.wsOK {
		c.wsOK = true
		c.sndWndShift, c.rcvWndShift = o.wscale, h.wantWindowShift()
	}
	c.state = StateSynReceived
	if h.cookieTS != nil && th.Options.HasTimestamps {
		h.cookieTS.adopt(c, th)
	}
	// The ACK itself completes the handshake (and may carry data), as in
	// Linux, where the child socket processes it in SYN_RECV.
	c.input(th, payload)
	return true
}

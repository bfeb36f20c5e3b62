package stack

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	mbits "math/bits"
	"net/netip"
	"syscall"

	"github.com/tcpsim/tcpsim/segment"
)

// TCP Fast Open, RFC 7413 (issue 15). A client that holds a cookie from a
// server sends data on its SYN; a server that finds the cookie valid takes
// the data at once and hands the connection to the application with the
// SYN-ACK, one round trip before the handshake completes. The mechanics
// follow Linux (net/ipv4/tcp_fastopen.c, tcp_output.c tcp_send_syn_data,
// tcp_input.c tcp_rcv_fastopen_synack), so that packetdrill's fastopen
// scripts see the same packets; docs/tcp.md lists where tcpsim differs.

// TCPConfig.FastOpen bits, as Linux's net.ipv4.tcp_fastopen.
const (
	FastOpenClient         = 0x1   // clients may use Fast Open (sendto MSG_FASTOPEN, TCP_FASTOPEN_CONNECT)
	FastOpenServer         = 0x2   // listeners with a queue limit accept data on the SYN
	FastOpenClientNoCookie = 0x4   // clients send data on the SYN without any cookie
	FastOpenServerNoCookie = 0x200 // servers accept data on a SYN without a cookie
	FastOpenServerAll      = 0x400 // every listener has a Fast Open queue of its backlog, without SetFastOpen
)

// tcpi_fastopen_client_fail values (Linux's TFO_* client fail codes).
const (
	FastOpenFailUnspec        = 0
	FastOpenCookieUnavailable = 1 // no cookie was cached: the SYN asked for one
	FastOpenDataNotAcked      = 2 // the SYN-ACK did not acknowledge the SYN's data
	FastOpenSYNRetransmitted  = 3 // the SYN timed out: the retransmission carried no data
)

// tfoEntry is what the host remembers of one server (Linux keeps it in
// its TCP metrics, per destination address): the cookie, the MSS of its
// last SYN-ACK and whether to use the experimental option.
type tfoEntry struct {
	cookie  []byte
	exp     bool // the cookie came in the experimental encoding
	tryExp  int  // requests unanswered: 1 after a kind 34 one (ask with kind 254 next), 2 after a kind 254 one (kind 34 from then on), as Linux's try_exp
	mss     int
	synLoss int // consecutive SYNs with Fast Open that timed out
}

// tfoConn is a connection's Fast Open state.
type tfoConn struct {
	// Active side.
	active   bool   // the SYN carries a Fast Open option
	exp      bool   // in the experimental encoding
	cookie   []byte // the cookie sent (empty: a request)
	synData  uint32 // bytes of data on the SYN
	deferred bool   // TCP_FASTOPEN_CONNECT: the SYN waits for the first write
	optSent  bool   // the SYN carried the option (Linux's syn_fastopen): only then is a cookie in the SYN-ACK taken
	fail     uint8  // tcpi_fastopen_client_fail

	// Both sides: the SYN's data was acknowledged by (active) or accepted
	// on (passive) the handshake: Linux's TCPI_OPT_SYN_DATA.
	synDataAcked bool

	// Passive side.
	passive    bool      // created by a valid cookie: sends before the handshake ends
	queue      *Listener // counted in its Fast Open queue until the handshake ends
	reply      bool      // the SYN-ACK carries a cookie
	replyExp   bool
	replyValue []byte
	ccReady    bool // congestion control was set up with the SYN-ACK

	// delivered counts segments delivered as Linux's tp->delivered
	// (tcpi_delivered): the SYN, then each ACK's new bytes in MSS-sized
	// packets; SYN-data counts once.
	delivered uint64
}

// tfoListener is a listener's Fast Open state (Linux's fastopenq).
type tfoListener struct {
	qlen    int // max pending Fast Open connections; 0: Fast Open off
	pending int
	key     [16]byte
	keySet  bool
}

// tfoHost is the host-wide state: the cookie cache and the server key.
type tfoHost struct {
	cache  map[netip.Addr]*tfoEntry
	key    [16]byte
	keySet bool
}

// noteDelivered counts n newly acknowledged bytes (or the SYN, n = 0) in
// tfoConn.delivered.
func (c *Conn) noteDelivered(n uint32) {
	if n == 0 {
		c.tfo.delivered++
		return
	}
	mss := uint32(max(c.sndMSS, 1))
	c.tfo.delivered += uint64((n + mss - 1) / mss)
}

// FastOpenInfo is what Conn.FastOpen reports.
type FastOpenInfo struct {
	SYNData    int  // bytes sent on our SYN (active) or taken from the peer's SYN (passive)
	DataAcked  bool // TCPI_OPT_SYN_DATA: the SYN's data was acknowledged or accepted
	ClientFail int  // tcpi_fastopen_client_fail
	Passive    bool // the connection was opened by a valid cookie
	Deferred   bool // TCP_FASTOPEN_CONNECT: the SYN waits for the first write
	Delivered  int  // segments delivered, as Linux's tcpi_delivered
}

// FastOpen reports the connection's Fast Open outcome.
func (c *Conn) FastOpen() FastOpenInfo {
	return FastOpenInfo{SYNData: int(c.tfo.synData), DataAcked: c.tfo.synDataAcked, ClientFail: int(c.tfo.fail), Passive: c.tfo.passive, Deferred: c.tfo.deferred, Delivered: int(c.tfo.delivered)}
}

// ---- keys and cookies ----

// SetFastOpenKey sets the host's server key (Linux's net.ipv4.tcp_fastopen_key):
// 16 bytes, in the byte order Linux keeps them (each of the sysctl's four
// 32-bit words little-endian). Without it the key is drawn from the seed.
func (h *Host) SetFastOpenKey(key []byte) error {
	if len(key) != 16 {
		return fmt.Errorf("stack: host %q: Fast Open key of %d bytes, want 16: %w", h.name, len(key), syscall.EINVAL)
	}
	copy(h.tfo.key[:], key)
	h.tfo.keySet = true
	return nil
}

// fastOpenKey is the key a listener makes cookies with.
func (l *Listener) fastOpenKey() *[16]byte {
	if l.tfo.keySet {
		return &l.tfo.key
	}
	h := l.h
	if !h.tfo.keySet {
		if k := h.cfg.FastOpenKey; len(k) == 16 {
			copy(h.tfo.key[:], k)
		} else {
			var buf [32 + 8]byte
			copy(buf[:], h.isnSecret[:])
			copy(buf[32:], "fastopen")
			sum := sha256.Sum256(buf[:])
			copy(h.tfo.key[:], sum[:16])
		}
		h.tfo.keySet = true
	}
	return &h.tfo.key
}

// fastOpenCookie is the cookie for a SYN from src to dst: SipHash-2-4,
// keyed with key, of the two IPv4 addresses in that order, written
// little-endian, as Linux 5.x+ makes it (__tcp_fastopen_cookie_gen_cipher).
// Scripts that fix the key therefore see the cookies Linux would send.
func fastOpenCookie(key *[16]byte, src, dst netip.Addr) [8]byte {
	var msg [8]byte
	s, d := src.As4(), dst.As4()
	copy(msg[:4], s[:])
	copy(msg[4:], d[:])
	k0 := binary.LittleEndian.Uint64(key[:8])
	k1 := binary.LittleEndian.Uint64(key[8:])
	var out [8]byte
	binary.LittleEndian.PutUint64(out[:], sipHash24(k0, k1, msg[:]))
	return out
}

// FastOpenCookieFor returns the cookie a server keyed with key (16 bytes,
// as Host.SetFastOpenKey takes it) gives client when it is reached at server.
func FastOpenCookieFor(key []byte, client, server netip.Addr) ([]byte, error) {
	if len(key) != 16 || !client.Is4() || !server.Is4() {
		return nil, fmt.Errorf("stack: Fast Open cookie: want a 16-byte key and IPv4 addresses, have %d bytes, %v and %v", len(key), client, server)
	}
	var k [16]byte
	copy(k[:], key)
	c := fastOpenCookie(&k, client, server)
	return c[:], nil
}

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
// short-input PRF", 2012): two compression rounds per 8-byte word, four
// finalisation rounds, 64-bit output.
func sipHash24(k0, k1 uint64, m []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = mbits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = mbits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = mbits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = mbits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = mbits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = mbits.RotateLeft64(v2, 32)
	}
	n := len(m)
	for len(m) >= 8 {
		w := binary.LittleEndian.Uint64(m)
		v3 ^= w
		round()
		round()
		v0 ^= w
		m = m[8:]
	}
	// The last word: the remaining bytes, and the length's low byte on top.
	last := uint64(n&0xff) << 56
	for i, b := range m {
		last |= uint64(b) << (8 * i)
	}
	v3 ^= last
	round()
	round()
	v0 ^= last
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}

// ---- server ----

// SetFastOpen sets the listener's Fast Open queue limit (Linux's
// setsockopt TCP_FASTOPEN): at most qlen connections opened by a cookie
// may wait for the end of their handshake. 0 turns Fast Open off on the
// listener. The host's FastOpen config must have FastOpenServer for it to
// take effect.
func (l *Listener) SetFastOpen(qlen int) error {
	if qlen < 0 {
		return fmt.Errorf("stack: listener %v: Fast Open queue %d: %w", l.Addr(), qlen, syscall.EINVAL)
	}
	l.tfo.qlen = qlen
	return nil
}

// SetFastOpenKey gives the listener its own key (Linux's setsockopt
// TCP_FASTOPEN_KEY), in the layout of Host.SetFastOpenKey.
func (l *Listener) SetFastOpenKey(key []byte) error {
	if len(key) != 16 {
		return fmt.Errorf("stack: listener %v: Fast Open key of %d bytes, want 16: %w", l.Addr(), len(key), syscall.EINVAL)
	}
	copy(l.tfo.key[:], key)
	l.tfo.keySet = true
	return nil
}

// SetFastOpenMode changes TCPConfig.FastOpen of a running host (Linux's
// sysctl net.ipv4.tcp_fastopen written at any time); listeners made before
// keep their queue.
func (h *Host) SetFastOpenMode(bits int) error {
	if bits < 0 || bits > 0xffffffff {
		return fmt.Errorf("stack: host %q: Fast Open mode %#x is not a set of tcp_fastopen bits", h.name, bits)
	}
	h.cfg.FastOpen = bits
	return nil
}

// fastOpenListen gives a new listener its default queue when the host
// enables Fast Open on every listener.
func (l *Listener) fastOpenListen() {
	if f := l.h.cfg.FastOpen; f&FastOpenServer != 0 && f&FastOpenServerAll != 0 && l.tfo.qlen == 0 {
		l.tfo.qlen = l.backlog
	}
}

// fastOpenSyn is called for a SYN that made the embryo c (in
// SYN_RECEIVED, not yet answered). It decides, as Linux's tcp_try_fastopen,
// whether the SYN's data is taken now and which cookie the SYN-ACK carries.
func (l *Listener) fastOpenSyn(c *Conn, src, dst netip.Addr, th *segment.Header, payload []byte) {
	h := l.h
	fo, err := th.Options.FastOpen()
	if err != nil {
		h.counters.TCPFastOpenBadOption++ // ignored, as Linux ignores it
	}
	if fo.Present && len(fo.Cookie) == 0 {
		h.counters.TCPFastOpenCookieReqd++
	}
	if h.cfg.FastOpen&FastOpenServer == 0 || !(len(payload) > 0 || fo.Present) || !l.fastOpenRoom() {
		return
	}
	valid := fastOpenCookie(l.fastOpenKey(), src, dst)
	ok := h.cfg.FastOpen&FastOpenServerNoCookie != 0
	if !ok && fo.Present && len(fo.Cookie) > 0 {
		ok = string(fo.Cookie) == string(valid[:])
		if !ok {
			h.counters.TCPFastOpenPassiveFail++
		}
	}
	if !ok {
		if fo.Present {
			// A request or a bad cookie: the SYN-ACK brings a valid one
			// and acknowledges only the SYN.
			c.tfo.reply, c.tfo.replyExp, c.tfo.replyValue = true, fo.Exp, valid[:]
		}
		return
	}
	// Valid: a full connection now, the data queued, and the application
	// may accept it with the SYN-ACK.
	h.counters.TCPFastOpenPassive++
	c.tfo.passive = true
	c.tfo.queue = l
	l.tfo.pending++
	if len(payload) > 0 {
		n := c.rcvBuf.write(payload)
		c.rcvNxt = c.rcvNxt.Add(uint32(n))
		c.tfo.synData = uint32(n)
		c.tfo.synDataAcked = n > 0
		c.stats.bytesIn += uint64(n)
	}
	c.cc.init()
	c.tfo.ccReady = true
	l.unlink(c)
	l.queue = append(l.queue, c)
	h.notifyListener(l, EventReadable)
}

// fastOpenRoom reports whether the listener's Fast Open queue has room,
// counting TCPFastOpenListenOverflow when it does not.
func (l *Listener) fastOpenRoom() bool {
	if l.tfo.qlen == 0 {
		return false
	}
	if l.tfo.pending >= l.tfo.qlen {
		l.h.counters.TCPFastOpenListenOverflow++
		return false
	}
	return true
}

// fastOpenDone ends a passive connection's claim on its listener's queue:
// its handshake completed, or it closed.
func (c *Conn) fastOpenDone() {
	if l := c.tfo.queue; l != nil {
		l.tfo.pending--
		c.tfo.queue = nil
	}
}

// fastOpenKeepQueued reports whether a passive Fast Open connection that
// closes before Accept stays in the accept queue: Linux hands it to the
// application, which reads the SYN's data and then the error.
func (c *Conn) fastOpenKeepQueued() bool {
	return c.tfo.passive && !c.aborted && c.listener != nil && !c.listener.closed
}

// fastOpenNoWindowUpdate reports whether reading the SYN's data must not
// send a window update: nothing but the SYN-ACK has left yet, whose window
// is unscaled and small, and Linux (whose rcv_ssthresh starts at that
// window) sends none either.
func (c *Conn) fastOpenNoWindowUpdate() bool {
	return c.tfo.passive && c.stats.segsOut <= uint64(1+c.synRetries)
}

// fastOpenCanSend reports whether a passive Fast Open connection in
// SYN_RECEIVED may send data (Linux lets it, tcp_passive_fastopen).
func (c *Conn) fastOpenCanSend() bool {
	return c.tfo.passive && c.state == StateSynReceived
}

// ---- client ----

// cacheEntry returns the host's entry for a server, creating it if make.
func (h *Host) tfoEntryFor(a netip.Addr, create bool) *tfoEntry {
	e := h.tfo.cache[a]
	if e == nil && create {
		if h.tfo.cache == nil {
			h.tfo.cache = map[netip.Addr]*tfoEntry{}
		}
		e = &tfoEntry{}
		h.tfo.cache[a] = e
	}
	return e
}

// SetSYNRetries sets the connection's SYN retransmission limit (Linux's
// TCP_SYNCNT, 1 to 127), as ConnectOptions.SYNRetries, while it connects.
func (c *Conn) SetSYNRetries(n int) error {
	if n < 1 || n > 127 {
		return fmt.Errorf("stack: SYN retries %d: want 1 to 127: %w", n, syscall.EINVAL)
	}
	c.synCnt = n
	return nil
}

// FlushFastOpenCache forgets every server's cookie and MSS (Linux's
// "ip tcp_metrics flush").
func (h *Host) FlushFastOpenCache() { h.tfo.cache = nil }

// FastOpenCookie returns the cookie the host holds for a server (nil if none).
func (h *Host) FastOpenCookie(server netip.Addr) []byte {
	if e := h.tfo.cache[server]; e != nil && len(e.cookie) > 0 {
		return append([]byte(nil), e.cookie...)
	}
	return nil
}

// ConnectFastOpen opens a connection as sendto(MSG_FASTOPEN) does: data is
// queued, and as much of it as fits goes on the SYN when the host holds a
// cookie for the server (or FastOpenClientNoCookie is set); otherwise the
// SYN asks for a cookie and the data waits for the handshake. It returns
// how many bytes went on the SYN; the rest of data is not queued (Linux's
// non-blocking sendto returns the count, or EINPROGRESS for none): the
// caller writes it once the connection is established. With
// FastOpenClient off nothing goes on the SYN.
func (h *Host) ConnectFastOpen(local, remote netip.AddrPort, o ConnectOptions, data []byte) (*Conn, int, error) {
	if err := checkMaxSegment(o.MaxSegment); err != nil {
		return nil, 0, err
	}
	h.enter()
	defer h.exit()
	if err := h.memRefuseConnect(remote); err != nil {
		return nil, 0, err
	}
	o.fastOpenData, o.fastOpenNow = data, true
	c, err := h.activeOpen(local, remote, o)
	if err != nil {
		return nil, 0, err
	}
	return c, int(c.tfo.synData), nil
}

// fastOpenConnect prepares the SYN of an active open with Fast Open.
// It returns false when the SYN must wait for the first write
// (TCP_FASTOPEN_CONNECT with a cookie cached).
func (c *Conn) fastOpenConnect(o ConnectOptions) bool {
	h := c.h
	if h.cfg.FastOpen&FastOpenClient == 0 || !(o.FastOpen || o.fastOpenNow) {
		return true
	}
	e := h.tfoEntryFor(c.key.remote.Addr(), false)
	haveCookie := e != nil && len(e.cookie) > 0 || h.cfg.FastOpenClientNoCookie()
	c.tfo.active = true
	if e != nil {
		c.tfo.exp = e.exp || len(e.cookie) == 0 && e.tryExp == 1
	}
	if !haveCookie {
		c.tfo.fail = FastOpenCookieUnavailable
		return true // the SYN asks for a cookie; the data waits
	}
	if e != nil && !h.cfg.FastOpenClientNoCookie() {
		c.tfo.cookie = e.cookie
	}
	if o.FastOpen && !o.fastOpenNow {
		c.tfo.deferred = true
		return false
	}
	c.fastOpenTakeData(o.fastOpenData)
	return true
}

// FastOpenClientNoCookie reports whether clients send data on the SYN
// without a cookie.
func (t TCPConfig) FastOpenClientNoCookie() bool { return t.FastOpen&FastOpenClientNoCookie != 0 }

// fastOpenTakeData queues the part of data that fits on the SYN, as
// Linux's tcp_send_syn_data: the MSS (the cached one of the server, or our
// own) less 40 bytes reserved for options, and returns how much it took.
func (c *Conn) fastOpenTakeData(data []byte) int {
	mss := c.rcvMSS
	if e := c.h.tfoEntryFor(c.key.remote.Addr(), false); e != nil && e.mss > 0 {
		mss = min(mss, e.mss)
	}
	if c.userMSS > 0 {
		mss = min(mss, c.userMSS)
	}
	space := max(mss-segment.MaxOptionsLen, 0)
	n := min(space, len(data))
	n = c.sndBuf.write(data[:n])
	c.tfo.synData = uint32(n)
	return n
}

// fastOpenWrite sends the deferred SYN of a TCP_FASTOPEN_CONNECT
// connection with the first write's data. It returns the bytes taken.
func (c *Conn) fastOpenWrite(p []byte) int {
	c.tfo.deferred = false
	n := c.fastOpenTakeData(p)
	c.sendSyn()
	if t := c.h.cfg.ConnectTimeout; t > 0 {
		c.setTimer(&c.tm.connectEnd, c.h.env.Now()+t)
	}
	return n
}

// fastOpenSynOptions adds the Fast Open option to our SYN (a request or
// the cookie) or SYN-ACK (the cookie the peer asked for). A retransmitted
// SYN carries neither option nor data (Linux).
func (c *Conn) fastOpenSynOptions(th *segment.Header, first bool) {
	switch {
	case c.state == StateSynSent && c.tfo.active && first:
		if len(c.tfo.cookie) == 0 && c.h.cfg.FastOpenClientNoCookie() && c.tfo.synData > 0 {
			return // no-cookie mode: data without any option
		}
		th.Options.Unknown = segment.AppendFastOpen(nil, c.tfo.cookie, c.tfo.exp)
		c.tfo.optSent = true
	case c.state == StateSynReceived && c.tfo.reply:
		th.Options.Unknown = segment.AppendFastOpen(nil, c.tfo.replyValue, c.tfo.replyExp)
	}
}

// fastOpenSynData returns the SYN's payload: the data taken for it, on its
// first transmission only.
func (c *Conn) fastOpenSynData(first bool) ([]byte, []byte, uint32) {
	if c.state != StateSynSent || !first || c.tfo.synData == 0 {
		return nil, nil, 0
	}
	p1, p2 := c.sndBuf.slices(0, int(c.tfo.synData))
	return p1, p2, c.tfo.synData
}

// fastOpenSynTimeout runs when the SYN is retransmitted: the retransmission
// carries no data and no option, the server's entry notes the loss, and
// the connection records why Fast Open failed.
func (c *Conn) fastOpenSynTimeout() {
	if !c.tfo.active {
		return
	}
	h := c.h
	if c.tfo.synData > 0 && c.synRetries == 1 {
		h.counters.TCPFastOpenActiveFail++
	}
	e := h.tfoEntryFor(c.key.remote.Addr(), true)
	e.synLoss++
}

// fastOpenSynAck handles the SYN-ACK of a Fast Open SYN, after the
// connection is established with only the SYN acknowledged (ackSyn with
// ISS+1): it caches the cookie and the MSS, acknowledges what the
// SYN-ACK covers of the SYN's data and schedules the rest again, as
// Linux's tcp_rcv_fastopen_synack.
func (c *Conn) fastOpenSynAck(th *segment.Header) {
	if !c.tfo.active {
		return
	}
	h := c.h
	fo, err := th.Options.FastOpen()
	if err != nil {
		h.counters.TCPFastOpenBadOption++
	}
	if !c.tfo.optSent {
		fo = segment.FastOpen{} // a cookie we did not ask for is ignored (Linux)
	}
	e := h.tfoEntryFor(c.key.remote.Addr(), true)
	mss := defaultMSS
	if th.Options.HasMSS {
		mss = int(th.Options.MSS)
	}
	e.mss = mss
	retransmitted := c.stats.retrans > 0 // the SYN was resent (establish has cleared synRetries)
	if fo.Present && len(fo.Cookie) > 0 {
		e.cookie = append([]byte(nil), fo.Cookie...)
		e.exp = fo.Exp
	} else if !retransmitted && c.tfo.synData == 0 && !fo.Present {
		// We asked and got nothing: after a kind 34 request the next asks
		// with kind 254, after a kind 254 one with kind 34 for good.
		try := 1
		if c.tfo.exp {
			try = 2
		}
		if try > e.tryExp && len(e.cookie) == 0 && !e.exp {
			e.tryExp = try
		}
	}
	if retransmitted {
		if !(fo.Present && len(fo.Cookie) > 0) && c.tfo.synData > 0 {
			e.synLoss++
		}
	} else {
		e.synLoss = 0
	}
	if c.tfo.synData == 0 {
		return
	}
	synEnd := c.iss.Add(1 + c.tfo.synData)
	acked := th.Ack.Sub(c.iss.Add(1))
	if acked > 0 {
		d := c.tfo.delivered
		c.newAck(th.Ack.Min(synEnd))
		c.tfo.delivered = d + 1 // the data left as one packet, whatever the MSS is now
	}
	if th.Ack.LessThan(synEnd) {
		// Not all of the SYN's data is acknowledged: send it again now.
		if retransmitted {
			c.tfo.fail = FastOpenSYNRetransmitted
		} else {
			c.tfo.fail = FastOpenDataNotAcked
		}
		h.counters.TCPFastOpenActiveFail++
		// The SYN's data goes again at once, in segments of the MSS the
		// SYN-ACK set, the last with PSH (Linux resends the SYN's data
		// packet, which it built with PSH); new data follows.
		for seq := c.sndUna; seq.LessThan(synEnd); {
			n := min(synEnd.Sub(seq), uint32(c.sndMSS))
			c.pushForced = seq.Add(n) == synEnd
			if !c.sendData(seq, n, false) {
				break // the RTO resends it (localdrop.go)
			}
			seq = seq.Add(n)
		}
		return
	}
	c.tfo.synDataAcked = true
	h.counters.TCPFastOpenActive++
	if c.tfo.delivered > 1 {
		c.tfo.delivered-- // the SYN and its data are one packet
	}
}

// fastOpenSynSent reports the sequence space the SYN took (1 + its data),
// for the RFC's acceptability test of the SYN-ACK.
func (c *Conn) fastOpenSynLen(first bool) uint32 {
	if c.state == StateSynSent && first {
		return c.tfo.synData
	}
	return 0
}

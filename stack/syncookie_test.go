package stack

import (
	"crypto/sha256"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
)

// floodResult is what synFlood measured.
type floodResult struct {
	connectTime  time.Duration // from Connect to ESTABLISHED at the client; -1 if never
	clientSYNs   int           // SYNs the client sent
	maxConns     int           // most connections the server tracked at any flood step
	srv, cli     *app
	server       *Host
	serverInfo   ConnInfo
	upOK, downOK bool
}

// synFlood floods a listener (backlog 4096, as the simulator's sockets use)
// with n spoofed SYNs from distinct sources, one every 100 µs (10,000 a
// second), whose SYN-ACKs are dropped so that none completes. At 5 s, in
// the middle of the flood, a legitimate client on a 1 ms link connects and
// sends 1 MiB each way.
func synFlood(t *testing.T, n int, mode int) floodResult {
	t.Helper()
	const backlog = 4096
	const every = 100 * time.Microsecond
	p := newPair(t, 1, time.Millisecond, faults{}, TCPConfig{SYNCookies: mode})
	// The spoofed sources do not exist: their SYN-ACKs vanish.
	p.ba.drop = func(pkt []byte) bool { return ippacket.View(pkt).Dst() != addrA }
	var r floodResult
	r.connectTime = -1
	r.server = p.b
	p.ab.tap = func(pkt []byte) {
		if sp, err := segment.ParsePacket(pkt); err == nil && sp.TCP.Flags&segment.FlagSYN != 0 {
			r.clientSYNs++
		}
	}
	l, err := p.b.Listen(80, backlog)
	if err != nil {
		t.Fatal(err)
	}
	up, down := randomBytes(11, 1<<20), randomBytes(12, 1<<20)
	l.SetNotify(func(Event) {
		if c, err := l.Accept(); err == nil {
			r.srv = newApp(c, down)
			r.serverInfo = c.Info()
		}
	})
	var sent int
	var flood func()
	flood = func() {
		i := sent
		sent++
		p.b.Deliver(0, spoofedSYN(t, i))
		r.maxConns = max(r.maxConns, p.b.NumConns())
		if sent < n {
			p.n.at(p.n.now+every, flood)
		}
	}
	p.n.at(0, flood)
	const connectAt = 5 * time.Second
	p.n.at(connectAt, func() {
		c, err := p.a.Connect(addrA, netipAP(addrB, 80))
		if err != nil {
			t.Fatal(err)
		}
		r.cli = newApp(c, up)
		c.SetNotify(func(ev Event) {
			if ev&EventEstablished != 0 && r.connectTime < 0 {
				r.connectTime = p.n.now - connectAt
			}
			r.cli.pump()
		})
	})
	done := func() bool {
		return sent == n && r.cli != nil && (r.cli.err != nil || r.cli.closed && r.srv != nil && r.srv.closed)
	}
	p.n.run(10*time.Minute, done)
	if r.cli != nil && r.srv != nil {
		r.upOK = r.srv.got == len(up) && r.srv.hash == sha256.Sum256(up)
		r.downOK = r.cli.got == len(down) && r.cli.hash == sha256.Sum256(down)
	}
	return r
}

// spoofedSYN is SYN number i of a flood: source 198.18.0.0/15 + i (RFC 2544
// benchmarking addresses), one address per SYN.
func spoofedSYN(t *testing.T, i int) []byte {
	src := netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)})
	p := segment.Packet{
		IP: ippacket.Header{TTL: 64, Protocol: ippacket.ProtocolTCP, Src: src, Dst: addrB, Flags: ippacket.FlagDF},
		TCP: segment.Header{
			SrcPort: uint16(1024 + i%60000), DstPort: 80,
			Seq: segment.Seq(uint32(i) * 2654435761), Flags: segment.FlagSYN, Window: 65535,
		},
	}
	p.TCP.Options.HasMSS, p.TCP.Options.MSS = true, 1460
	b, err := p.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSYNCookieFlood (issue 10 item 5): under a flood of 100,000 spoofed
// SYNs the listener's SYN queue is full, but a legitimate client connects
// on its first SYN, in one round trip, and transfers 1 MiB each way
// intact; the server never tracks more than the backlog plus that one
// connection. With cookies off (the engine before them) the same client
// waits for the flood's half-open connections to time out.
func TestSYNCookieFlood(t *testing.T) {
	const n = 100000
	r := synFlood(t, n, 0)
	t.Logf("cookies on: connect time %v, %d SYN(s), at most %d connections", r.connectTime, r.clientSYNs, r.maxConns)
	if r.connectTime < 0 || r.connectTime > 2*time.Millisecond || r.clientSYNs != 1 {
		t.Fatalf("client connected after %v with %d SYNs, want one SYN and one round trip (2ms)", r.connectTime, r.clientSYNs)
	}
	if r.cli.err != nil || r.srv == nil || r.srv.err != nil || !r.upOK || !r.downOK {
		t.Fatalf("transfer: client %+v server %+v", r.cli, r.srv)
	}
	ctr := r.server.Counters()
	if ctr.TCPSyncookiesRecv != 1 || ctr.TCPSyncookiesFailed != 0 || ctr.TCPSyncookiesSent < n-4096 || ctr.TCPListenOverflows != 0 {
		t.Fatalf("counters: sent %d recv %d failed %d overflows %d", ctr.TCPSyncookiesSent, ctr.TCPSyncookiesRecv, ctr.TCPSyncookiesFailed, ctr.TCPListenOverflows)
	}
	if r.maxConns > 4096+1 {
		t.Fatalf("server tracked %d connections, backlog 4096", r.maxConns)
	}
	// With timestamps (on by default) the cookie's TSval carried window
	// scale and SACK-permitted, so the connection has both; the MSS comes
	// back from the table, less the timestamp option.
	if i := r.serverInfo; i.SndMSS != 1448 || !i.SACK || !i.Timestamps || i.SndWndScale != 3 || i.RcvWndScale != 3 {
		t.Fatalf("cookie connection: MSS %d SACK %v timestamps %v scale %d/%d", i.SndMSS, i.SACK, i.Timestamps, i.SndWndScale, i.RcvWndScale)
	}

	off := synFlood(t, n, -1)
	t.Logf("cookies off: connect time %v, %d SYN(s)", off.connectTime, off.clientSYNs)
	if off.clientSYNs < 2 || off.connectTime < time.Minute {
		t.Fatalf("cookies off: client connected after %v with %d SYNs; the flood should have locked it out", off.connectTime, off.clientSYNs)
	}
	if ctr := off.server.Counters(); ctr.TCPSyncookiesSent != 0 || ctr.TCPListenOverflows == 0 {
		t.Fatalf("cookies off: %+v", ctr)
	}
}

// cookieScript is a script host whose listener (backlog 8) answers every
// SYN with a cookie.
func cookieScript(t *testing.T) *script {
	cfg := scriptCfg()
	cfg.SYNCookies = 1
	s := newScript(t, cfg)
	var err error
	if s.l, err = s.h.Listen(80, 8); err != nil {
		t.Fatal(err)
	}
	return s
}

// cookieSYN injects the peer's SYN and returns the cookie (the ISS of the
// SYN-ACK), which becomes s.iss.
func (s *script) cookieSYN() uint32 {
	s.t.Helper()
	s.inject(seg{flags: segment.FlagSYN, seq: 0, win: 65535, mss: 1460})
	if len(s.out) == 0 {
		s.t.Fatal("no SYN-ACK")
	}
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect("Flags [S.], seq 0, ack 1, win 64000, options [mss 1460], length 0")
	s.none()
	return s.iss
}

// A forged or old cookie ACK is answered with a RST, counted, and creates
// nothing; a valid one creates the connection in ESTABLISHED.
func TestSYNCookieForgedAndOld(t *testing.T) {
	s := cookieScript(t)
	cookie := s.cookieSYN()
	if s.h.NumConns() != 0 || s.h.Counters().TCPSyncookiesSent != 1 {
		t.Fatalf("a cookie SYN-ACK kept state: %d conns, counters %+v", s.h.NumConns(), s.h.Counters())
	}
	failed := func(want uint64) {
		t.Helper()
		if c := s.h.Counters(); c.TCPSyncookiesFailed != want || c.TCPSyncookiesRecv != 0 || s.h.NumConns() != 0 {
			t.Fatalf("failed %d recv %d conns %d, want failed %d and nothing created", c.TCPSyncookiesFailed, c.TCPSyncookiesRecv, s.h.NumConns(), want)
		}
	}
	// A guessed cookie. (Off by less than the table size would decode as
	// another MSS index: as in Linux, only the hashed bits authenticate.)
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1 + 0x1000, win: 65535})
	s.expect("Flags [R], seq 4097, win 0, length 0")
	failed(1)
	// The right cookie with another ISN (SEG.SEQ − 1 is hashed in).
	s.inject(seg{flags: segment.FlagACK, seq: 2, ack: 1, win: 65535})
	s.expect("Flags [R], seq 1, win 0, length 0")
	failed(2)
	// The right cookie from another port.
	s.peer = netip.AddrPortFrom(s.peer.Addr(), 40001)
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	s.expect("Flags [R], seq 1, win 0, length 0")
	failed(3)

	// A second SYN from port 40001 at 120 s; the first cookie (made in
	// slot 0) is too old at 130 s (slot 2), the second (slot 1) is not.
	s.advance(120*time.Second - s.now)
	cookie2 := s.cookieSYN()
	s.advance(10 * time.Second)
	s.peer = netip.AddrPortFrom(s.peer.Addr(), 40000)
	s.iss = cookie
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	s.expect("Flags [R], seq 1, win 0, length 0")
	failed(4)

	s.peer = netip.AddrPortFrom(s.peer.Addr(), 40001)
	s.iss = cookie2
	s.inject(seg{flags: segment.FlagACK | segment.FlagPSH, seq: 1, ack: 1, win: 65535, data: []byte("hello")})
	s.none()
	c, err := s.l.Accept()
	if err != nil {
		t.Fatalf("accept after a valid cookie: %v", err)
	}
	s.c = c
	if i := c.Info(); i.State != StateEstablished || uint32(i.ISS) != cookie2 || uint32(i.IRS) != s.peerISN || i.SndMSS != 1460 || i.SACK || i.SndWnd != 65535 {
		t.Fatalf("cookie connection %+v", i)
	}
	if got := s.read(); got != "hello" {
		t.Fatalf("read %q", got)
	}
	if ctr := s.h.Counters(); ctr.TCPSyncookiesRecv != 1 || ctr.TCPPassiveOpens != 1 {
		t.Fatalf("counters %+v", ctr)
	}
	s.c.Write([]byte("world")) // carries the ACK of "hello"
	s.expect("Flags [P.], seq 1:6, ack 6, win 63995, length 5")

	// Long after the last cookie, ACKs are no longer checked as cookies:
	// plain LISTEN behaviour, nothing counted as failed.
	s.advance(5 * time.Minute)
	s.out = nil // the retransmissions of "world"
	s.peer = netip.AddrPortFrom(s.peer.Addr(), 40002)
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	s.expect("Flags [R], seq 1, win 0, length 0")
	if ctr := s.h.Counters(); ctr.TCPSyncookiesFailed != 4 {
		t.Fatalf("an ACK long after the last cookie was checked: failed %d", ctr.TCPSyncookiesFailed)
	}
}

// A valid cookie ACK that finds the accept queue full is dropped and
// counted; the connection is not created and no RST is sent, so the peer
// retransmits and gets in once the application accepts.
func TestSYNCookieAcceptQueueFull(t *testing.T) {
	cfg := scriptCfg()
	cfg.SYNCookies = 1
	s := newScript(t, cfg)
	var err error
	if s.l, err = s.h.Listen(80, 1); err != nil {
		t.Fatal(err)
	}
	c1 := s.cookieSYN()
	s.peer = netip.AddrPortFrom(s.peer.Addr(), 40001)
	c2 := s.cookieSYN()
	s.peer, s.iss = netip.AddrPortFrom(s.peer.Addr(), 40000), c1
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	s.none()
	s.peer, s.iss = netip.AddrPortFrom(s.peer.Addr(), 40001), c2
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	s.none()
	ctr := s.h.Counters()
	if s.l.Pending() != 1 || s.h.NumConns() != 1 || ctr.TCPListenOverflows != 1 || ctr.TCPSyncookiesRecv != 2 {
		t.Fatalf("pending %d conns %d overflows %d recv %d", s.l.Pending(), s.h.NumConns(), ctr.TCPListenOverflows, ctr.TCPSyncookiesRecv)
	}
	// A SYN finding the accept queue full is dropped, cookie or not.
	s.peer = netip.AddrPortFrom(s.peer.Addr(), 40002)
	s.inject(seg{flags: segment.FlagSYN, seq: 0, win: 65535, mss: 1460})
	s.none()
	if ctr := s.h.Counters(); ctr.TCPListenOverflows != 2 || ctr.TCPSyncookiesSent != 2 {
		t.Fatalf("overflows %d sent %d", ctr.TCPListenOverflows, ctr.TCPSyncookiesSent)
	}
	if _, err := s.l.Accept(); err != nil {
		t.Fatal(err)
	}
	s.peer = netip.AddrPortFrom(s.peer.Addr(), 40001)
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535}) // the peer's retransmission
	if _, err := s.l.Accept(); err != nil {
		t.Fatalf("the retransmitted cookie ACK was not accepted: %v", err)
	}
}

// Cookies are used only when the SYN queue is full (the default), and
// never with SYNCookies < 0.
func TestSYNCookieModes(t *testing.T) {
	for _, mode := range []int{0, -1} {
		cfg := scriptCfg()
		cfg.SYNCookies = mode
		s := newScript(t, cfg)
		var err error
		if s.l, err = s.h.Listen(80, 1); err != nil {
			t.Fatal(err)
		}
		s.inject(seg{flags: segment.FlagSYN, seq: 0, win: 65535, mss: 1460})
		if len(s.out) != 1 || s.h.NumConns() != 1 || s.h.Counters().TCPSyncookiesSent != 0 {
			t.Fatalf("mode %d: the first SYN must make an embryo", mode)
		}
		s.out = nil
		s.peer = netip.AddrPortFrom(s.peer.Addr(), 40001)
		s.inject(seg{flags: segment.FlagSYN, seq: 0, win: 65535, mss: 1460})
		ctr := s.h.Counters()
		if mode == 0 && (len(s.out) != 1 || ctr.TCPSyncookiesSent != 1 || ctr.TCPListenOverflows != 0 || s.h.NumConns() != 1) {
			t.Fatalf("mode 0, queue full: %d packets, counters %+v", len(s.out), ctr)
		}
		if mode < 0 && (len(s.out) != 0 || ctr.TCPSyncookiesSent != 0 || ctr.TCPListenOverflows != 1) {
			t.Fatalf("mode -1, queue full: %d packets, counters %+v", len(s.out), ctr)
		}
	}
	if _, err := NewHost(HostConfig{Env: &script{}, TCP: TCPConfig{SYNCookies: 2}}); err == nil {
		t.Fatal("SYNCookies 2 accepted")
	}
}

// The peer's MSS is rounded down to a table entry and comes back intact.
func TestSYNCookieMSSTable(t *testing.T) {
	for i, m := range cookieMSSTable {
		if got := cookieMSSIndex(int(m)); got != uint32(i) {
			t.Fatalf("MSS %d: index %d, want %d", m, got, i)
		}
		if i > 0 && m <= cookieMSSTable[i-1] {
			t.Fatal("table not increasing")
		}
	}
	for mss := 0; mss <= 0xffff; mss++ {
		got := int(cookieMSSTable[cookieMSSIndex(mss)])
		if mss >= minSendMSS && got > mss {
			t.Fatalf("MSS %d rounded up to %d", mss, got)
		}
		if i := cookieMSSIndex(mss); int(i) < len(cookieMSSTable)-1 && int(cookieMSSTable[i+1]) <= mss {
			t.Fatalf("MSS %d rounded to %d, not the largest entry below", mss, got)
		}
	}
	// Through a cookie: SYN with MSS m (or none: 536), ACK, connection MSS.
	for _, tc := range []struct{ opt, want int }{{0, 536}, {1460, 1460}, {1459, 1440}, {9000, 1460}, {100, 64}, {1300, 1300}, {600, 536}} {
		s := cookieScript(t)
		s.inject(seg{flags: segment.FlagSYN, seq: 0, win: 65535, mss: uint16(tc.opt)})
		s.iss = uint32(s.out[0].pkt.TCP.Seq)
		s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
		c, err := s.l.Accept()
		if err != nil {
			t.Fatalf("MSS option %d: %v", tc.opt, err)
		}
		if got := c.Info().SndMSS; got != tc.want { // the interface MTU is 1500: at most 1460
			t.Fatalf("MSS option %d: connection MSS %d, want %d", tc.opt, got, tc.want)
		}
	}
}

// A cookie is valid in the 64 s slot it was made in and the next one only:
// at least 64 s and less than 128 s; only for its 4-tuple and ISN.
func TestSYNCookieValidityWindow(t *testing.T) {
	s := newScript(t, scriptCfg())
	h := s.h
	k := connKey{local: s.local, remote: s.peer}
	k2 := connKey{local: s.local, remote: netip.AddrPortFrom(s.peer.Addr(), s.peer.Port()+1)}
	for _, t0 := range []time.Duration{0, time.Second, 63 * time.Second, 64 * time.Second, 1000*time.Second + 7*time.Millisecond, 5 * time.Hour} {
		for idx := range uint32(len(cookieMSSTable)) {
			isn := segment.Seq(0xfffffff0 + uint32(t0/time.Millisecond) + idx)
			s.now = t0
			c := h.makeCookie(k, isn, idx)
			for _, d := range []time.Duration{0, time.Millisecond, 30 * time.Second, 63999 * time.Millisecond, 64 * time.Second,
				100 * time.Second, 127 * time.Second, 128 * time.Second, 129 * time.Second, 10 * time.Minute, 256 * cookieSlot, 257 * cookieSlot} {
				s.now = t0 + d
				got, ok := h.checkCookie(k, isn, c)
				want := (t0+d)/cookieSlot-t0/cookieSlot < cookieMaxAge
				if ok != want || ok && got != idx {
					t.Fatalf("cookie made at %v (idx %d) checked %v later: ok %v idx %d, want ok %v", t0, idx, d, ok, got, want)
				}
				if d < cookieSlot && !ok {
					t.Fatalf("cookie made at %v died before 64 s (%v)", t0, d)
				}
				if d >= 2*cookieSlot && ok {
					t.Fatalf("cookie made at %v lived %v", t0, d)
				}
				if _, ok := h.checkCookie(k2, isn, c); ok {
					t.Fatal("cookie valid for another 4-tuple")
				}
				if _, ok := h.checkCookie(k, isn+1, c); ok {
					t.Fatal("cookie valid for another ISN")
				}
				for _, delta := range []uint32{8, 1 << 12, 1 << 23, 1 << 24, 0xff << 24} {
					if _, ok := h.checkCookie(k, isn, c+segment.Seq(delta)); ok {
						t.Fatalf("cookie + %#x valid", delta)
					}
				}
			}
		}
	}
	// Cookies depend on the host's secret: another seed, another cookie.
	s2 := newScript(t, scriptCfg())
	h2, _ := NewHost(HostConfig{Env: s2, Seed: 2})
	s.now = 0
	if h.makeCookie(k, 1, 0) == h2.makeCookie(k, 1, 0) {
		t.Fatal("hosts with different seeds make the same cookie")
	}
	if h.makeCookie(k, 1, 0) != newScript(t, scriptCfg()).h.makeCookie(k, 1, 0) {
		t.Fatal("same seed, different cookie")
	}
}

// Window scale, SACK-permitted and ECN survive the trip through TSval's low
// bits; the TSval is never later than the clock and at most 63 ticks
// behind.
func TestSYNCookieTSEncoding(t *testing.T) {
	var opts []cookieOpts
	for ws := -1; ws <= segment.MaxWindowShift; ws++ {
		for _, sack := range []bool{false, true} {
			for _, ecn := range []bool{false, true} {
				o := cookieOpts{sackOK: sack, ecn: ecn}
				if ws >= 0 {
					o.wsOK, o.wscale = true, uint8(ws)
				}
				opts = append(opts, o)
			}
		}
	}
	for _, now := range []uint32{0, 1, 5, 63, 64, 65, 127, 1 << 31, 1e9 + 17, 0xffffffc0, 0xffffffff} {
		for _, o := range opts {
			ts := cookieTSVal(now, o)
			if got := cookieTSDecode(ts); got != o {
				t.Fatalf("now %d: %+v encoded as %#x decodes to %+v", now, o, ts, got)
			}
			if back := now - ts; back >= 1<<tsOptBits {
				t.Fatalf("now %d: TSval %d is %d ticks behind (or ahead)", now, ts, int32(back))
			}
		}
	}
	// A peer shift above 14 is clamped, as the option codec does.
	if got := cookieTSDecode(cookieTSVal(1000, cookieOpts{wsOK: true, wscale: 200})); got.wscale != segment.MaxWindowShift {
		t.Fatalf("shift %d", got.wscale)
	}
}

// fakeTS stands in for RFC 7323 timestamps (being written elsewhere): it
// gives the host a clock and records adopted connections.
type fakeTS struct {
	clock   uint32
	adopted []*Conn
	recent  uint32
}

func (f *fakeTS) tsNow(connKey) uint32 { return f.clock }
func (f *fakeTS) adopt(c *Conn, th *segment.Header) {
	f.adopted = append(f.adopted, c)
	f.recent = th.Options.TSVal
}

// injectOpts injects a segment with the given options.
func (s *script) injectOpts(g seg, o segment.Options) {
	s.t.Helper()
	th := segment.Header{
		SrcPort: s.peer.Port(), DstPort: s.local.Port(),
		Seq: segment.Seq(s.peerISN + g.seq), Flags: g.flags, Window: g.win, Options: o,
	}
	if g.flags&segment.FlagACK != 0 {
		th.Ack = segment.Seq(g.ack + s.iss)
	}
	p := segment.Packet{
		IP:      ippacket.Header{TTL: 64, Protocol: ippacket.ProtocolTCP, Src: s.peer.Addr(), Dst: s.local.Addr(), Flags: ippacket.FlagDF},
		TCP:     th,
		Payload: g.data,
	}
	b, err := p.Encode(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	s.h.Deliver(0, b)
}

// With the timestamp hook in place, a cookie SYN-ACK offers window scale
// and SACK as the SYN asked and encodes them in TSval; the ACK's TSecr
// gives them back to the new connection. Without timestamps on the SYN,
// the SYN-ACK offers neither.
func TestSYNCookieTimestampHook(t *testing.T) {
	cfg := TCPConfig{SYNCookies: 1, RecvBuffer: 1 << 20, MSL: 10 * time.Second}
	for _, tc := range []struct {
		name      string
		ws        bool
		sack      bool
		ackTS     bool // the ACK carries timestamps
		wantWS    bool
		wantSACK  bool
		wantAdopt bool
	}{
		{"ws+sack", true, true, true, true, true, true},
		{"sack only", false, true, true, false, true, true},
		{"ws only", true, false, true, true, false, true},
		{"ack without timestamps", true, true, false, false, false, false},
	} {
		s := newScript(t, cfg)
		ts := &fakeTS{clock: 123456}
		s.h.cookieTS = ts
		var err error
		if s.l, err = s.h.Listen(80, 8); err != nil {
			t.Fatal(err)
		}
		var o segment.Options
		o.HasMSS, o.MSS = true, 1460
		o.SACKPermitted = tc.sack
		o.HasWindowScale, o.WindowScale = tc.ws, 7
		o.HasTimestamps, o.TSVal = true, 777
		s.injectOpts(seg{flags: segment.FlagSYN, win: 65535}, o)
		if len(s.out) != 1 {
			t.Fatalf("%s: no SYN-ACK", tc.name)
		}
		sa := s.out[0].pkt.TCP
		s.out = nil
		s.iss = uint32(sa.Seq)
		if !sa.Options.HasTimestamps || sa.Options.TSEcr != 777 || 123456-sa.Options.TSVal >= 64 ||
			sa.Options.SACKPermitted != tc.sack || sa.Options.HasWindowScale != tc.ws || tc.ws && sa.Options.WindowScale != s.h.wantWindowShift() {
			t.Fatalf("%s: SYN-ACK options %+v", tc.name, sa.Options)
		}
		ts.clock += 10
		var ao segment.Options
		if tc.ackTS {
			ao.HasTimestamps, ao.TSVal, ao.TSEcr = true, 778, sa.Options.TSVal
		}
		s.injectOpts(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 1000}, ao)
		c, err := s.l.Accept()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		i := c.Info()
		if c.wsOK != tc.wantWS || i.SACK != tc.wantSACK || (len(ts.adopted) == 1) != tc.wantAdopt {
			t.Fatalf("%s: ws %v sack %v adopted %d", tc.name, c.wsOK, i.SACK, len(ts.adopted))
		}
		if tc.wantWS && (i.SndWndScale != 7 || i.RcvWndScale != s.h.wantWindowShift() || i.SndWnd != 1000<<7) {
			t.Fatalf("%s: scales %d/%d window %d", tc.name, i.SndWndScale, i.RcvWndScale, i.SndWnd)
		}
		if !tc.wantWS && (i.SndWndScale != 0 || i.RcvWndScale != 0 || i.SndWnd != 1000) {
			t.Fatalf("%s: scales %d/%d window %d", tc.name, i.SndWndScale, i.RcvWndScale, i.SndWnd)
		}
		if tc.wantAdopt && ts.recent != 778 {
			t.Fatalf("%s: TS.Recent %d", tc.name, ts.recent)
		}
	}

	// A SYN without timestamps gets a SYN-ACK with only the MSS.
	s := newScript(t, cfg)
	s.h.cookieTS = &fakeTS{clock: 1}
	s.l, _ = s.h.Listen(80, 8)
	var o segment.Options
	o.HasMSS, o.MSS, o.SACKPermitted, o.HasWindowScale, o.WindowScale = true, 1460, true, true, 7
	s.injectOpts(seg{flags: segment.FlagSYN, win: 65535}, o)
	if sa := s.out[0].pkt.TCP.Options; sa.HasTimestamps || sa.SACKPermitted || sa.HasWindowScale || !sa.HasMSS {
		t.Fatalf("SYN-ACK to a SYN without timestamps: %+v", sa)
	}

	// A TSecr claiming SACK that this host (SACK off) never offers is no
	// cookie of ours.
	cfg.DisableSACK = true
	s = newScript(t, cfg)
	s.h.cookieTS = &fakeTS{clock: 1000}
	s.l, _ = s.h.Listen(80, 8)
	o = segment.Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 5}
	s.injectOpts(seg{flags: segment.FlagSYN, win: 65535}, o)
	sa := s.out[0].pkt.TCP
	s.out = nil
	s.iss = uint32(sa.Seq)
	s.injectOpts(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 1000}, segment.Options{HasTimestamps: true, TSVal: 6, TSEcr: sa.Options.TSVal | tsOptSACK})
	if s.h.NumConns() != 0 || s.h.Counters().TCPSyncookiesFailed != 1 {
		t.Fatalf("forged SACK bit accepted: conns %d counters %+v", s.h.NumConns(), s.h.Counters())
	}
}

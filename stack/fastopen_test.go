package stack

import (
	"time"

	"encoding/hex"
	"github.com/tcpsim/tcpsim/segment"
	"net/netip"
	"testing"
)

// linuxKey turns a tcp_fastopen_key sysctl value's four 32-bit words into
// the 16 bytes Linux keeps (each word little-endian).
func linuxKey(words ...uint32) *[16]byte {
	var k [16]byte
	for i, w := range words {
		k[4*i], k[4*i+1], k[4*i+2], k[4*i+3] = byte(w), byte(w>>8), byte(w>>16), byte(w>>24)
	}
	return &k
}

// TestFastOpenCookieLinux checks the cookie function against cookies
// packetdrill's fastopen scripts expect from Linux for fixed keys.
func TestFastOpenCookieLinux(t *testing.T) {
	for _, tc := range []struct {
		key      *[16]byte
		src, dst string
		want     string
	}{
		{linuxKey(0xa1a1a1a1, 0xb2b2b2b2, 0xc3c3c3c3, 0xd4d4d4d4), "192.0.2.1", "192.168.0.1", "3021b9d889017eeb"},
		{linuxKey(0xa0bf63f7, 0xed803d81, 0xcd641d30, 0xcebc4a90), "10.248.0.2", "192.168.0.2", "00abaaabe8e954c2"},
		{linuxKey(0, 0, 0, 0), "10.248.0.2", "192.168.0.2", "93b7aa4f550f8a1a"},
	} {
		got := fastOpenCookie(tc.key, netip.MustParseAddr(tc.src), netip.MustParseAddr(tc.dst))
		if hex.EncodeToString(got[:]) != tc.want {
			t.Errorf("cookie %v->%v: got %x, want %s", tc.src, tc.dst, got, tc.want)
		}
	}
}

// TestSipHash24Vector checks SipHash-2-4 against the paper's test vector
// (key 00..0f, message 00..0e: 0xa129ca6149be45e5).
func TestSipHash24Vector(t *testing.T) {
	var m []byte
	for i := range 15 {
		m = append(m, byte(i))
	}
	if got := sipHash24(0x0706050403020100, 0x0f0e0d0c0b0a0908, m); got != 0xa129ca6149be45e5 {
		t.Fatalf("SipHash-2-4 = %#x, want 0xa129ca6149be45e5", got)
	}
}

// tfoPair is two hosts 10 ms apart with Fast Open on both (a the client,
// b the server, listening on port 80 with a Fast Open queue of qlen), and
// every packet each sends recorded.
type tfoPair struct {
	*pair
	l        *Listener
	fromA    []segment.Packet
	fromB    []segment.Packet
	dataFrom []byte
}

func newTFOPair(t *testing.T, qlen int) *tfoPair {
	t.Helper()
	cfg := TCPConfig{FastOpen: FastOpenClient | FastOpenServer}
	p := &tfoPair{pair: newPair(t, 7, 10*time.Millisecond, faults{}, cfg)}
	rec := func(to *[]segment.Packet) func([]byte) {
		return func(b []byte) {
			var pk segment.Packet
			if err := pk.Decode(append([]byte(nil), b...), true); err != nil {
				t.Errorf("undecodable packet: %v", err)
				return
			}
			*to = append(*to, pk)
		}
	}
	p.ab.tap, p.ba.tap = rec(&p.fromA), rec(&p.fromB)
	var err error
	if p.l, err = p.b.Listen(80, 16); err != nil {
		t.Fatal(err)
	}
	if err := p.l.SetFastOpen(qlen); err != nil {
		t.Fatal(err)
	}
	return p
}

// syns returns the SYN segments (not SYN-ACKs) in pks.
func syns(pks []segment.Packet) []segment.Packet {
	var out []segment.Packet
	for _, pk := range pks {
		if pk.TCP.Flags&segment.FlagSYN != 0 && pk.TCP.Flags&segment.FlagACK == 0 {
			out = append(out, pk)
		}
	}
	return out
}

func synAcks(pks []segment.Packet) []segment.Packet {
	var out []segment.Packet
	for _, pk := range pks {
		if pk.TCP.Flags&(segment.FlagSYN|segment.FlagACK) == segment.FlagSYN|segment.FlagACK {
			out = append(out, pk)
		}
	}
	return out
}

func fastOpenOf(t *testing.T, pk segment.Packet) segment.FastOpen {
	t.Helper()
	fo, err := pk.TCP.Options.FastOpen()
	if err != nil {
		t.Fatalf("Fast Open option: %v", err)
	}
	return fo
}

// connect opens a Fast Open connection from a with data and runs the
// network until it is established (or limit passes).
func (p *tfoPair) connect(t *testing.T, data []byte, limit time.Duration) (*Conn, int) {
	t.Helper()
	c, n, err := p.a.ConnectFastOpen(netip.AddrPort{}, netip.AddrPortFrom(addrB, 80), ConnectOptions{}, data)
	if err != nil {
		t.Fatal(err)
	}
	p.n.run(p.n.now+limit, func() bool { return c.State() == StateEstablished })
	return c, n
}

// TestFastOpenCookieRequestThenData: the first connection asks for a
// cookie and gets it; the second carries data on its SYN, which the
// server accepts and acknowledges, and the server's application reads it
// before the handshake's third segment arrives.
func TestFastOpenCookieRequestThenData(t *testing.T) {
	p := newTFOPair(t, 16)
	c1, n := p.connect(t, []byte("x"), time.Second)
	if n != 0 || c1.State() != StateEstablished {
		t.Fatalf("first connection: %d bytes on the SYN, state %v; want 0 and ESTABLISHED", n, c1.State())
	}
	if fo := fastOpenOf(t, syns(p.fromA)[0]); !fo.Present || len(fo.Cookie) != 0 {
		t.Fatalf("first SYN: Fast Open %+v, want a cookie request", fo)
	}
	sa := synAcks(p.fromB)[0]
	fo := fastOpenOf(t, sa)
	want, _ := FastOpenCookieFor(p.b.tfo.key[:], addrA, addrB)
	if !fo.Present || string(fo.Cookie) != string(want) {
		t.Fatalf("SYN-ACK cookie %x, want %x", fo.Cookie, want)
	}
	if got := p.a.FastOpenCookie(addrB); string(got) != string(want) {
		t.Fatalf("client cached %x, want %x", got, want)
	}
	if c1.FastOpen().ClientFail != FastOpenCookieUnavailable {
		t.Errorf("first connection's client fail %d, want %d", c1.FastOpen().ClientFail, FastOpenCookieUnavailable)
	}
	p.n.run(p.n.now+50*time.Millisecond, nil) // the client's ACK reaches the server
	first, _ := p.l.Accept()
	if first == nil || first.FastOpen().Passive {
		t.Fatalf("first connection: accepted %v, want a plain (not Fast Open) connection", first)
	}

	// Second connection: data on the SYN. Hold the client's ACK of the
	// SYN-ACK so the server is still in SYN_RECEIVED when it reads.
	holdACK := true
	p.ab.drop = func(b []byte) bool {
		var pk segment.Packet
		pk.Decode(b, false)
		return holdACK && pk.TCP.Flags == segment.FlagACK && len(pk.Payload) == 0
	}
	req := []byte("GET / HTTP/1.1\r\n\r\n")
	before := len(p.fromA)
	c2, n, err := p.a.ConnectFastOpen(netip.AddrPort{}, netip.AddrPortFrom(addrB, 80), ConnectOptions{}, req)
	if err != nil || n != len(req) {
		t.Fatalf("ConnectFastOpen: %d bytes on the SYN, %v; want %d", n, err, len(req))
	}
	syn := syns(p.fromA[before:])[0]
	if string(syn.Payload) != string(req) || string(fastOpenOf(t, syn).Cookie) != string(want) {
		t.Fatalf("second SYN carries %q with cookie %x; want the request and %x", syn.Payload, fastOpenOf(t, syn).Cookie, want)
	}
	var srv *Conn
	p.n.run(p.n.now+time.Second, func() bool { srv, _ = p.l.Accept(); return srv != nil })
	if srv == nil {
		t.Fatal("the server did not hand over the Fast Open connection")
	}
	if srv.State() != StateSynReceived {
		t.Fatalf("server connection in %v at accept, want SYN_RECEIVED (before the third segment)", srv.State())
	}
	buf := make([]byte, 100)
	k, err := srv.Read(buf)
	if err != nil || string(buf[:k]) != string(req) {
		t.Fatalf("server read %q, %v; want the SYN's data", buf[:k], err)
	}
	if !srv.FastOpen().Passive || !srv.FastOpen().DataAcked {
		t.Errorf("server Fast Open info %+v, want passive with data", srv.FastOpen())
	}
	// The server answers from SYN_RECEIVED, before the client's ACK.
	if _, err := srv.Write([]byte("HTTP/1.1 200 OK\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	p.n.run(p.n.now+time.Second, func() bool { return c2.Readable() > 0 })
	if c2.Readable() == 0 {
		t.Fatal("the response sent from SYN_RECEIVED did not arrive")
	}
	holdACK = false
	p.n.run(p.n.now+time.Second, func() bool { return srv.State() == StateEstablished })
	if srv.State() != StateEstablished {
		t.Fatalf("server in %v after the client's ACK, want ESTABLISHED", srv.State())
	}
	if sa := synAcks(p.fromB); len(fastOpenOf(t, sa[len(sa)-1]).Cookie) != 0 {
		t.Error("the SYN-ACK of a valid cookie carries a cookie again")
	}
	if !c2.FastOpen().DataAcked || c2.FastOpen().ClientFail != 0 {
		t.Errorf("client Fast Open info %+v, want data acknowledged and no failure", c2.FastOpen())
	}
	ca, cb := p.a.Counters(), p.b.Counters()
	if ca.TCPFastOpenActive != 1 || cb.TCPFastOpenPassive != 1 || cb.TCPFastOpenCookieReqd != 1 || cb.TCPFastOpenPassiveFail != 0 {
		t.Errorf("counters: active %d passive %d cookie requests %d passive fails %d; want 1 1 1 0",
			ca.TCPFastOpenActive, cb.TCPFastOpenPassive, cb.TCPFastOpenCookieReqd, cb.TCPFastOpenPassiveFail)
	}
}

// TestFastOpenInvalidCookie: a cookie the server did not make gets a
// SYN-ACK that acknowledges only the SYN and brings a valid cookie; the
// client sends its SYN's data again and caches the new cookie.
func TestFastOpenInvalidCookie(t *testing.T) {
	p := newTFOPair(t, 16)
	p.a.tfoEntryFor(addrB, true).cookie = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	data := []byte("hello, server")
	c, n := p.connect(t, data, time.Second)
	if n != len(data) {
		t.Fatalf("%d bytes on the SYN, want %d", n, len(data))
	}
	sa := synAcks(p.fromB)[0]
	if sa.TCP.Ack != c.Info().ISS.Add(1) {
		t.Fatalf("SYN-ACK acknowledges %d, want ISS+1 (the SYN only)", sa.TCP.Ack.Sub(c.Info().ISS))
	}
	want, _ := FastOpenCookieFor(p.b.tfo.key[:], addrA, addrB)
	if got := p.a.FastOpenCookie(addrB); string(got) != string(want) {
		t.Fatalf("client cached %x after the SYN-ACK, want the valid %x", got, want)
	}
	var srv *Conn
	p.n.run(p.n.now+time.Second, func() bool { srv, _ = p.l.Accept(); return srv != nil && srv.Readable() == len(data) })
	if srv == nil || srv.Readable() != len(data) {
		t.Fatal("the SYN's data did not reach the server after the fallback")
	}
	if srv.FastOpen().Passive {
		t.Error("an invalid cookie opened a Fast Open connection")
	}
	if f := c.FastOpen(); f.DataAcked || f.ClientFail != FastOpenDataNotAcked {
		t.Errorf("client info %+v, want data not acknowledged (fail %d)", f, FastOpenDataNotAcked)
	}
	if cb, ca := p.b.Counters(), p.a.Counters(); cb.TCPFastOpenPassiveFail != 1 || ca.TCPFastOpenActiveFail != 1 || ca.TCPRetransSegs != 1 {
		t.Errorf("passive fails %d, active fails %d, retransmissions %d; want 1, 1, 1", cb.TCPFastOpenPassiveFail, ca.TCPFastOpenActiveFail, ca.TCPRetransSegs)
	}
}

// TestFastOpenSYNRetransmittedWithoutData: a lost SYN with data is resent
// without data and without the option; the data follows the handshake.
func TestFastOpenSYNRetransmittedWithoutData(t *testing.T) {
	p := newTFOPair(t, 16)
	want, _ := FastOpenCookieFor(p.l.fastOpenKey()[:], addrA, addrB)
	p.a.tfoEntryFor(addrB, true).cookie = want
	dropped := false
	p.ab.drop = func(b []byte) bool {
		if !dropped {
			dropped = true
			return true
		}
		return false
	}
	data := []byte("lost on the SYN")
	c, n := p.connect(t, data, 5*time.Second)
	if n != len(data) || c.State() != StateEstablished {
		t.Fatalf("%d bytes on the SYN, state %v", n, c.State())
	}
	s := syns(p.fromA)
	if len(s) != 2 {
		t.Fatalf("%d SYNs, want 2", len(s))
	}
	if len(s[1].Payload) != 0 || fastOpenOf(t, s[1]).Present {
		t.Fatalf("retransmitted SYN: %d bytes, option %+v; want neither", len(s[1].Payload), fastOpenOf(t, s[1]))
	}
	var srv *Conn
	p.n.run(p.n.now+time.Second, func() bool { srv, _ = p.l.Accept(); return srv != nil && srv.Readable() == len(data) })
	if srv == nil || srv.Readable() != len(data) {
		t.Fatal("the data did not follow the handshake")
	}
	if f := c.FastOpen(); f.ClientFail != FastOpenSYNRetransmitted || f.DataAcked {
		t.Errorf("client info %+v, want fail %d", f, FastOpenSYNRetransmitted)
	}
	if e := p.a.tfoEntryFor(addrB, false); e.synLoss == 0 {
		t.Error("the server's entry does not note the SYN loss")
	}
}

// TestFastOpenQueueLimit: with a queue of 1, a second valid-cookie SYN
// while the first handshake is open is handled as a plain SYN (its data
// not taken) and counted as an overflow.
func TestFastOpenQueueLimit(t *testing.T) {
	p := newTFOPair(t, 1)
	want, _ := FastOpenCookieFor(p.l.fastOpenKey()[:], addrA, addrB)
	p.a.tfoEntryFor(addrB, true).cookie = want
	p.ab.drop = func(b []byte) bool { // no handshake completes
		var pk segment.Packet
		pk.Decode(b, false)
		return pk.TCP.Flags&segment.FlagSYN == 0
	}
	for range 2 {
		if _, _, err := p.a.ConnectFastOpen(netip.AddrPort{}, netip.AddrPortFrom(addrB, 80), ConnectOptions{}, []byte("data")); err != nil {
			t.Fatal(err)
		}
	}
	p.n.run(p.n.now+50*time.Millisecond, nil)
	sa := synAcks(p.fromB)
	if len(sa) != 2 {
		t.Fatalf("%d SYN-ACKs, want 2", len(sa))
	}
	if len(sa[0].Payload) != 0 || sa[0].TCP.Ack.Sub(syns(p.fromA)[0].TCP.Seq) != 5 {
		t.Errorf("first SYN-ACK acknowledges %d, want the SYN and its 4 bytes", sa[0].TCP.Ack.Sub(syns(p.fromA)[0].TCP.Seq))
	}
	if got := sa[1].TCP.Ack.Sub(syns(p.fromA)[1].TCP.Seq); got != 1 {
		t.Errorf("second SYN-ACK acknowledges %d, want 1 (the SYN only: the queue is full)", got)
	}
	if c := p.b.Counters(); c.TCPFastOpenListenOverflow != 1 || c.TCPFastOpenPassive != 1 {
		t.Errorf("overflows %d, passive %d; want 1 and 1", c.TCPFastOpenListenOverflow, c.TCPFastOpenPassive)
	}
}

// TestFastOpenOptionMalformed: a cookie of a bad length is ignored and
// counted, never a panic.
func TestFastOpenOptionMalformed(t *testing.T) {
	for _, opt := range [][]byte{{34, 5, 1, 2, 3}, {34, 3, 1}, {254, 6, 0xf9, 0x89, 1, 2}, {34, 20, 1}} {
		o := segment.Options{Unknown: opt}
		fo, err := o.FastOpen()
		if fo.Present && err == nil && len(opt) >= int(opt[1]) {
			t.Errorf("option % x: parsed as %+v, want it rejected", opt, fo)
		}
	}
	o := segment.Options{Unknown: []byte{254, 4, 0x12, 0x34}}
	if fo, err := o.FastOpen(); fo.Present || err != nil {
		t.Errorf("an experimental option of another experiment: %+v, %v; want none", fo, err)
	}
}

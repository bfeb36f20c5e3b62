package main

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
)

// HTTPS for get: crypto/tls over the simulated connection, with a
// certificate made in memory for the URL's host.
//
// Determinism. The certificate is the same for the same seed: its Ed25519
// key comes from the seed and Ed25519 signatures use no randomness. The
// hello randoms come from Config.Rand, seeded too. But Go (since 1.26)
// draws the key-exchange keys from the system's randomness whatever
// Config.Rand says, so the bytes of the key shares and of every encrypted
// record differ from run to run; their sizes, and so every packet's length
// and time, do not. Tests make the bytes identical as well with
// testing/cryptotest.SetGlobalRandom, which only a test binary may call.

// tlsNote is printed under get's header for an https URL.
const tlsNote = "TLS keys come from Go's system randomness: packet bytes differ between runs, their sizes and times do not"

// tlsVersionFlag is --tls: 1.3 (default) or 1.2.
type tlsVersionFlag uint16

func (v *tlsVersionFlag) String() string {
	if *v == tls.VersionTLS12 {
		return "1.2"
	}
	return "1.3"
}

func (v *tlsVersionFlag) Set(s string) error {
	switch strings.TrimPrefix(strings.ToLower(s), "tls") {
	case "1.3", "13":
		*v = tls.VersionTLS13
	case "1.2", "12":
		*v = tls.VersionTLS12
	default:
		return fmt.Errorf("want 1.3 or 1.2 (the versions a browser still offers), not %q", s)
	}
	return nil
}

func (v *tlsVersionFlag) Type() string { return "version" }

func (v tlsVersionFlag) version() uint16 {
	if v == 0 {
		return tls.VersionTLS13
	}
	return uint16(v)
}

// seededReader is an io.Reader over a ChaCha8 stream.
type seededReader struct{ r *rand.ChaCha8 }

func newSeededReader(seed uint64, label string) *seededReader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:8], seed)
	copy(s[8:], label)
	return &seededReader{rand.NewChaCha8(s)}
}

func (s *seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

// tlsConfigs returns the client's and the server's configurations for host
// at the given version, both pinned to it, with a self-signed certificate
// for host that only this run's client trusts.
func tlsConfigs(host string, version uint16, seed uint64, epoch time.Time) (client, server *tls.Config, err error) {
	keySeed := make([]byte, ed25519.SeedSize)
	newSeededReader(seed, "tcpsim-cert").Read(keySeed)
	priv := ed25519.NewKeyFromSeed(keySeed)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(int64(seed%(1<<62)) + 1),
		Subject:               pkix.Name{CommonName: host, Organization: []string{"tcpsim"}},
		NotBefore:             epoch.Add(-time.Hour),
		NotAfter:              epoch.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(newSeededReader(seed, "tcpsim-x509"), tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, nil, fmt.Errorf("making the server's certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("making the server's certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	now := func() time.Time { return epoch }
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: cert}},
		MinVersion:   version, MaxVersion: version,
		Rand: newSeededReader(seed, "tcpsim-tls-server"),
		Time: now,
		// One request per connection: no session ticket to resume with.
		SessionTicketsDisabled: true,
	}
	client = &tls.Config{
		RootCAs:    pool,
		ServerName: host,
		MinVersion: version, MaxVersion: version,
		Rand: newSeededReader(seed, "tcpsim-tls-client"),
		Time: now,
	}
	return client, server, nil
}

// tlsInfo is what get learns of the client's handshake.
type tlsInfo struct {
	start, done time.Duration // virtual times: ClientHello written, handshake complete
	version     uint16
	suite       uint16
	group       tls.CurveID
	err         error
	wrote       countingConn // the client's TCP connection, counting the bytes TLS wrote
	served      countingConn // the server's, for its flights
	writes      []tlsWrite   // both sides' handshake writes, in time order
	request     offsetWatch  // when the request's first record left the client
}

// countingConn counts the bytes written through it and, while rec is set,
// records each write of the handshake as a tlsWrite.
type countingConn struct {
	net.Conn
	n    int64
	side string               // "client" or "server"
	now  func() time.Duration // the simulator's clock
	rec  *[]tlsWrite          // where the handshake's writes go; nil once it is over
	ccs  bool                 // this side has sent ChangeCipherSpec
	mu   *sync.Mutex          // when set, held while appending to rec (both sides share it)
}

func (c *countingConn) Write(p []byte) (int, error) {
	if c.rec != nil && len(p) > 0 {
		w := tlsWrite{side: c.side, at: c.now(), bytes: len(p)}
		w.records, c.ccs = tlsRecords(p, c.ccs)
		if c.mu != nil {
			c.mu.Lock()
		}
		*c.rec = append(*c.rec, w)
		if c.mu != nil {
			c.mu.Unlock()
		}
	}
	k, err := c.Conn.Write(p)
	c.n += int64(k)
	return k, err
}

// tlsWrite is one write of TLS records by one side during the handshake.
type tlsWrite struct {
	side    string
	at      time.Duration
	bytes   int
	records []string // what the records hold, as far as the plaintext shows
}

// handshakeNames names the handshake message types (RFC 8446 §4, RFC 5246 §7.4).
var handshakeNames = map[byte]string{
	1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket", 8: "EncryptedExtensions",
	11: "Certificate", 12: "ServerKeyExchange", 13: "CertificateRequest", 14: "ServerHelloDone",
	15: "CertificateVerify", 16: "ClientKeyExchange", 20: "Finished",
}

// tlsRecords lists what the TLS records in p carry: the handshake messages
// of plaintext handshake records, ChangeCipherSpec, and for what is
// encrypted only that it is. After a ChangeCipherSpec (ccs) a TLS 1.2
// handshake record is the encrypted Finished. It returns the updated ccs.
func tlsRecords(p []byte, ccs bool) ([]string, bool) {
	var out []string
	encrypted := 0
	flush := func() {
		switch encrypted {
		case 0:
		case 1:
			out = append(out, "1 encrypted record")
		default:
			out = append(out, fmt.Sprintf("%d encrypted records", encrypted))
		}
		encrypted = 0
	}
	for len(p) >= 5 {
		typ, n := p[0], int(binary.BigEndian.Uint16(p[3:5]))
		body := p[5:min(len(p), 5+n)]
		p = p[min(len(p), 5+n):]
		switch {
		case typ == 20: // change_cipher_spec
			flush()
			out = append(out, "ChangeCipherSpec")
			ccs = true
		case typ == 22 && ccs: // TLS 1.2: the first message after ChangeCipherSpec
			flush()
			out = append(out, "Finished (encrypted)")
		case typ == 22:
			flush()
			for len(body) >= 4 {
				m := int(body[1])<<16 | int(body[2])<<8 | int(body[3])
				name, ok := handshakeNames[body[0]]
				if !ok {
					name = fmt.Sprintf("handshake type %d", body[0])
				}
				out = append(out, name)
				body = body[min(len(body), 4+m):]
			}
		case typ == 21:
			flush()
			out = append(out, "Alert")
		default: // application_data: in TLS 1.3, the encrypted handshake
			encrypted++
		}
	}
	flush()
	return out, ccs
}

// tlsFlight is what one side sent in a row: its writes until the other
// side wrote.
type tlsFlight struct {
	side    string
	at      time.Duration // the first write's time
	bytes   int
	records []string
}

// flights groups the handshake's writes into flights, in time order.
func flights(writes []tlsWrite) []tlsFlight {
	var fs []tlsFlight
	for _, w := range writes {
		if k := len(fs) - 1; k >= 0 && fs[k].side == w.side {
			fs[k].bytes += w.bytes
			fs[k].records = append(fs[k].records, w.records...)
			continue
		}
		fs = append(fs, tlsFlight{side: w.side, at: w.at, bytes: w.bytes, records: append([]string(nil), w.records...)})
	}
	return fs
}

// roundTrips counts the server's flights written before the client's
// handshake was over: each is an answer the client waited for, a round
// trip TLS adds before the request can go.
func roundTrips(fs []tlsFlight, done time.Duration) int {
	n := 0
	for _, f := range fs {
		if f.side == "server" && f.at < done {
			n++
		}
	}
	return n
}

// offsetWatch finds when the byte at offset off of node's byte stream was
// first sent: the request's first encrypted record, after the handshake's
// bytes. off is -1 until it is known.
type offsetWatch struct {
	node    string
	off     int64
	iss     uint32
	haveISS bool
	at      time.Duration
	seen    bool
	pkt     segment.Packet
}

func (w *offsetWatch) event(e *sim.Event) {
	if e.Verdict != sim.Sent || e.Node != w.node || w.seen || w.pkt.Decode(e.Data, false) != nil {
		return
	}
	h := &w.pkt.TCP
	if h.Flags&segment.FlagSYN != 0 {
		w.iss, w.haveISS = uint32(h.Seq), true
		return
	}
	if !w.haveISS || w.off < 0 || len(w.pkt.Payload) == 0 {
		return
	}
	start := int64(uint32(h.Seq) - w.iss - 1)
	if w.off >= start && w.off < start+int64(len(w.pkt.Payload)) {
		w.at, w.seen = e.Time, true
	}
}

func (i *tlsInfo) describe() string {
	s := fmt.Sprintf("%s, %s", tls.VersionName(i.version), tls.CipherSuiteName(i.suite))
	if i.group != 0 {
		s += ", key exchange " + i.group.String()
	}
	return s
}

// Package simdns puts DNS (RFC 1035) on a simulated network: a server that
// answers A queries from a table over a sim UDP socket, and two clients over
// simulated UDP, so that a name lookup is real packets that can be lost,
// delayed and retried.
//
//   - Lookup is a stub resolver that works on both sim drivers: one A query
//     at a time, retried on timeout with the defaults of Go's own resolver
//     and resolv.conf (5 s, 2 attempts). The CLI uses it on virtual time.
//   - GoResolver returns Go's own net.Resolver (PreferGo) dialling the server
//     over simulated UDP. Go's resolver runs goroutines and sets wall-clock
//     deadlines, so it needs a loop driver: a virtual loop
//     (sim.World.StartVirtualLoop), or the wall-clock loop, which also runs
//     inside testing/synctest. On the task driver use Lookup.
//
// Messages are encoded and decoded by github.com/miekg/dns.
package simdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/tcpsim/tcpsim/sim"
)

// Port is DNS's well-known port.
const Port = 53

// Server answers DNS queries from Records.
type Server struct {
	// Records maps host names (case-insensitive, with or without the final
	// dot) to IPv4 addresses.
	Records map[string]netip.Addr
	// TTL of the answers in seconds; zero means 300.
	TTL uint32

	mu    sync.Mutex
	stats ServerStats
}

// ServerStats counts what a Server received and answered.
type ServerStats struct {
	Queries   int // well-formed queries answered
	Answers   int // queries answered with an address
	NXDomain  int // queries for a name not in Records
	Malformed int // datagrams that were not a DNS query: dropped
}

// Stats returns the counters so far.
func (s *Server) Stats() ServerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Server) count(f func(*ServerStats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// Serve answers queries on pc until pc is closed (then it returns nil) or
// fails. On the virtual driver call it from a task.
func (s *Server) Serve(pc net.PacketConn) error {
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("simdns: serve: %w", err)
		}
		reply, ok := s.answer(buf[:n])
		if !ok {
			s.count(func(st *ServerStats) { st.Malformed++ })
			continue
		}
		if _, err := pc.WriteTo(reply, from); errors.Is(err, net.ErrClosed) {
			return nil
		}
	}
}

// answer builds the reply to one query; ok is false for anything that is
// not a query to answer (it is dropped, as a server drops garbage).
func (s *Server) answer(b []byte) ([]byte, bool) {
	var q dns.Msg
	if err := q.Unpack(b); err != nil || q.Response || q.Opcode != dns.OpcodeQuery || len(q.Question) != 1 {
		return nil, false
	}
	r := new(dns.Msg)
	r.SetReply(&q)
	r.Authoritative = true
	r.RecursionAvailable = false
	question := q.Question[0]
	addr, known := s.lookup(question.Name)
	switch {
	case !known:
		r.Rcode = dns.RcodeNameError
		s.count(func(st *ServerStats) { st.Queries++; st.NXDomain++ })
	case question.Qtype == dns.TypeA && question.Qclass == dns.ClassINET:
		ttl := s.TTL
		if ttl == 0 {
			ttl = 300
		}
		r.Answer = append(r.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl},
			A:   net.IP(addr.AsSlice()),
		})
		s.count(func(st *ServerStats) { st.Queries++; st.Answers++ })
	default:
		// The name exists but has no record of that type (AAAA: the
		// network is IPv4 only): NOERROR with no answer.
		s.count(func(st *ServerStats) { st.Queries++ })
	}
	out, err := r.Pack()
	if err != nil {
		return nil, false
	}
	return out, true
}

func (s *Server) lookup(name string) (netip.Addr, bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	for k, v := range s.Records {
		if strings.TrimSuffix(strings.ToLower(k), ".") == name {
			return v, true
		}
	}
	return netip.Addr{}, false
}

// LookupOptions tune Lookup. The zero value takes Go's resolver defaults.
type LookupOptions struct {
	// Timeout for each attempt; zero means 5 s (resolv.conf's default).
	Timeout time.Duration
	// Attempts is how many queries are sent before giving up; zero means 2.
	Attempts int
	// ID is the first query's message ID; each retry adds one. Keeping it
	// a parameter keeps runs deterministic.
	ID uint16
}

// Attempt is one query Lookup sent.
type Attempt struct {
	Sent    time.Time // on the Net's clock (sim.Net.Now)
	Replied bool      // a reply came before the timeout
	Err     error     // why the attempt ended without an answer, if it did
}

// Lookup resolves name to an IPv4 address by asking server over n's
// simulated UDP. It returns every attempt made. Errors are *net.DNSError
// values: IsNotFound for NXDOMAIN or a name with no A record, IsTimeout when
// every attempt timed out. On the virtual driver call it from a task.
func Lookup(ctx context.Context, n *sim.Net, server netip.AddrPort, name string, o LookupOptions) (netip.Addr, []Attempt, error) {
	timeout, attempts := o.Timeout, o.Attempts
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	if attempts <= 0 {
		attempts = 2
	}
	dnsErr := func(msg string, timeout, notFound bool) *net.DNSError {
		return &net.DNSError{Err: msg, Name: name, Server: server.String(), IsTimeout: timeout, IsNotFound: notFound}
	}
	if name == "" {
		return netip.Addr{}, nil, dnsErr("empty name", false, true)
	}
	c, err := n.DialContext(ctx, "udp", server.String())
	if err != nil {
		return netip.Addr{}, nil, dnsErr(err.Error(), false, false)
	}
	defer c.Close()
	var tried []Attempt
	for i := range attempts {
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(name), dns.TypeA)
		q.Id = o.ID + uint16(i)
		q.RecursionDesired = true
		b, err := q.Pack()
		if err != nil {
			return netip.Addr{}, tried, dnsErr(err.Error(), false, false)
		}
		a := Attempt{Sent: n.Now()}
		if _, err := c.Write(b); err != nil {
			a.Err = err
			tried = append(tried, a)
			return netip.Addr{}, tried, dnsErr(err.Error(), false, false)
		}
		c.SetReadDeadline(a.Sent.Add(timeout))
		addr, done, err := readReply(c, q.Id, name)
		a.Replied, a.Err = done, err
		tried = append(tried, a)
		switch {
		case done && err == nil:
			return addr, tried, nil
		case done:
			var de *net.DNSError
			if errors.As(err, &de) {
				de.Server = server.String()
				return netip.Addr{}, tried, de
			}
			return netip.Addr{}, tried, dnsErr(err.Error(), false, false)
		case errors.Is(err, syscall.ECONNREFUSED):
			return netip.Addr{}, tried, dnsErr("server refused the query (ICMP port unreachable)", false, false)
		}
	}
	return netip.Addr{}, tried, dnsErr("no answer after "+fmt.Sprint(attempts)+" attempts", true, false)
}

// readReply reads until the reply to query id arrives (done), the deadline
// passes or the socket fails. Replies with another ID are ignored, as a
// resolver must (RFC 5452).
func readReply(c net.Conn, id uint16, name string) (netip.Addr, bool, error) {
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return netip.Addr{}, false, err
		}
		var r dns.Msg
		if r.Unpack(buf[:n]) != nil || !r.Response || r.Id != id {
			continue
		}
		if r.Rcode == dns.RcodeNameError {
			return netip.Addr{}, true, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
		}
		if r.Rcode != dns.RcodeSuccess {
			return netip.Addr{}, true, &net.DNSError{Err: "server failure: " + dns.RcodeToString[r.Rcode], Name: name}
		}
		for _, rr := range r.Answer {
			if a, ok := rr.(*dns.A); ok {
				if addr, ok := netip.AddrFromSlice(a.A.To4()); ok {
					return addr, true, nil
				}
			}
		}
		return netip.Addr{}, true, &net.DNSError{Err: "no A record", Name: name, IsNotFound: true}
	}
}

// GoResolver returns Go's own resolver, asking server over n's simulated
// UDP whatever address it was configured with. n must be a loop Net
// (sim.NewLoopNet): Go's resolver runs its queries on goroutines of its own
// and sets deadlines on the wall clock.
//
// Two things keep its packets the same for the same seed. Go picks each
// query's ID at random, so the socket the resolver gets swaps it for the
// next of a sequence derived from the world's seed on the way out, and
// back on the way in, as a NAT would. And its timeout (resolv.conf's, in
// whole seconds) comes as a wall-clock deadline a little less than that
// far away by the time it is set; the socket rounds the distance up to
// the whole second and sets it on the simulator's clock.
func GoResolver(n *sim.Net, server netip.AddrPort) *net.Resolver {
	return GoResolverTraced(n, server, nil)
}

// Trace collects the queries a resolver from GoResolverTraced sent, as
// Attempts: one per query written, marked Replied when a message comes
// back on its socket, or with the read's error when none did. It is safe
// for use from any goroutine.
type Trace struct {
	mu    sync.Mutex
	tries []Attempt
}

// Attempts returns a copy of the attempts so far, in the order sent.
func (t *Trace) Attempts() []Attempt {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Attempt(nil), t.tries...)
}

// sent records a query written at the Net's time at.
func (t *Trace) sent(at time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.tries = append(t.tries, Attempt{Sent: at})
	t.mu.Unlock()
}

// ended records the outcome of the last query's wait.
func (t *Trace) ended(err error) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if k := len(t.tries) - 1; k >= 0 && !t.tries[k].Replied && t.tries[k].Err == nil {
		t.tries[k].Replied, t.tries[k].Err = err == nil, err
	}
}

// GoResolverTraced is GoResolver recording each query in tr (nil: none).
func GoResolverTraced(n *sim.Net, server netip.AddrPort, tr *Trace) *net.Resolver {
	ids := &idSeq{next: uint16(n.World().SeedFor("simdns", "go-resolver", server.String()))}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			if network != "udp" && network != "udp4" {
				// Go falls back to TCP for truncated answers; the tables
				// served here never need it.
				return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("simdns: only UDP is served, not %q", network)}
			}
			c, err := n.DialContext(ctx, "udp", server.String())
			if err != nil {
				return nil, err
			}
			pc, ok := c.(net.PacketConn)
			if !ok {
				c.Close()
				return nil, fmt.Errorf("simdns: a UDP socket of %T is not a net.PacketConn", c)
			}
			return &resolverConn{Conn: c, pc: pc, n: n, ids: ids, tr: tr, orig: make(map[uint16]uint16)}, nil
		},
	}
}

// idSeq hands out query IDs, shared by the sockets of one resolver.
type idSeq struct {
	mu   sync.Mutex
	next uint16
}

func (s *idSeq) take() uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	return s.next
}

// resolverConn is the socket Go's resolver gets from GoResolver. It is a
// net.PacketConn too, as Go's resolver needs to send DNS over UDP (a plain
// net.Conn gets TCP's framing).
type resolverConn struct {
	net.Conn
	pc   net.PacketConn
	n    *sim.Net
	ids  *idSeq
	tr   *Trace
	mu   sync.Mutex
	orig map[uint16]uint16 // ID on the wire → the resolver's
}

// out returns p with its ID swapped for the next of the sequence.
func (c *resolverConn) out(p []byte) []byte {
	if len(p) < 2 {
		return p
	}
	wire := c.ids.take()
	c.mu.Lock()
	c.orig[wire] = uint16(p[0])<<8 | uint16(p[1])
	c.mu.Unlock()
	return append([]byte{byte(wire >> 8), byte(wire)}, p[2:]...)
}

// in puts the resolver's own ID back into a received message.
func (c *resolverConn) in(p []byte) {
	if len(p) < 2 {
		return
	}
	c.mu.Lock()
	id, ok := c.orig[uint16(p[0])<<8|uint16(p[1])]
	c.mu.Unlock()
	if ok {
		p[0], p[1] = byte(id>>8), byte(id)
	}
}

func (c *resolverConn) Write(p []byte) (int, error) {
	c.tr.sent(c.n.Now())
	if _, err := c.Conn.Write(c.out(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *resolverConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	c.in(p[:k])
	c.tr.ended(err)
	return k, err
}

func (c *resolverConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.tr.sent(c.n.Now())
	if _, err := c.pc.WriteTo(c.out(p), addr); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *resolverConn) ReadFrom(p []byte) (int, net.Addr, error) {
	k, addr, err := c.pc.ReadFrom(p)
	c.in(p[:k])
	c.tr.ended(err)
	return k, addr, err
}

// simDeadline puts a wall-clock deadline on the simulator's clock, its
// distance rounded up to the whole second.
func (c *resolverConn) simDeadline(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	d := time.Until(t)
	if r := d % time.Second; r > 0 {
		d += time.Second - r
	}
	return c.n.Now().Add(d)
}

func (c *resolverConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(c.simDeadline(t)) }
func (c *resolverConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.simDeadline(t))
}
func (c *resolverConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(c.simDeadline(t))
}

// PrepareGoResolver loads Go's resolver configuration, once per process,
// outside any testing/synctest bubble. The net package keeps it in a global
// whose channel the first lookup creates; if that lookup runs inside a
// bubble, a lookup in a later bubble dies with "send on synctest channel
// from outside bubble". Call it from TestMain (or before the first
// synctest.Test) in tests that use Go's resolver in several bubbles. It
// sends nothing: its lookup's Dial fails at once.
func PrepareGoResolver() {
	r := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("simdns: PrepareGoResolver dials nothing")
	}}
	r.LookupHost(context.Background(), "prepare.invalid.")
}

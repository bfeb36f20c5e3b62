package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/miekg/dns"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/simdns"
)

// get's single URL on the virtual loop (sim.World.StartVirtualLoop):
// net/http's own http.Server answers, net/http's own http.Client with an
// http.Transport fetches, and Go's own resolver (simdns.GoResolver) looks
// the name up over simulated UDP, all of them in goroutines on virtual
// time. The loop runs the world's events one at a time and moves the
// clock only while every goroutine is blocked, so the packets are the
// same for the same seed. The other kinds of get (--objects, --fastopen,
// --repeat) stay on the task driver.

// runGetLoop runs the fetch and fills res. timedOut reports that the run
// reached --timeout first.
func runGetLoop(n *network, o *options, u getURL, body page, res *getResult, cliTLS, srvTLS *tls.Config) (timedOut bool, err error) {
	loop, err := n.w.StartVirtualLoop()
	if err != nil {
		return false, err
	}
	n.loop = loop
	cnet, snet := sim.NewLoopNet(loop, n.client), sim.NewLoopNet(loop, n.server)
	defer loop.Close() // on an early return; Close may be called again

	// The end of the run, in scheduler context: settled, or --timeout.
	ended := make(chan struct{})
	over := false
	finish := func(t time.Duration) {
		over = true
		n.end(t)
		n.an.Stop()
		close(ended)
	}
	if limit := time.Duration(o.timeout); limit > 0 {
		loop.Call(func() {
			n.w.ScheduleFunc(limit, sim.PrioLate, func() {
				if !over {
					timedOut = true
					finish(limit)
				}
			})
		})
	}

	ln, err := snet.Listen("tcp", ":"+strconv.Itoa(int(u.port)))
	if err != nil {
		return false, err
	}
	setServerErr := func(err error) {
		n.mu.Lock()
		if res.serverErr == nil {
			res.serverErr = err
		}
		n.mu.Unlock()
	}
	var sln net.Listener = &getListener{Listener: ln, n: n, ti: res.tls}
	if srvTLS != nil {
		sln = tls.NewListener(sln, srvTLS)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h["Date"] = nil // the real clock's date would change the bytes
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("Content-Length", strconv.FormatInt(body.size, 10))
			content, err := body.open()
			if err != nil {
				setServerErr(fmt.Errorf("server: %w", err))
				http.Error(w, "cannot open the page", http.StatusInternalServerError)
				return
			}
			defer content.Close()
			if _, err := io.Copy(w, content); err != nil {
				setServerErr(fmt.Errorf("server: writing the response: %w", err))
			}
		}),
		// HTTP/1.1 only, and no log lines on the terminal.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     log.New(io.Discard, "", 0),
		ConnState: func(c net.Conn, st http.ConnState) {
			// The first request byte has been read: the server's
			// handshake is over, stop recording its writes.
			if tc, ok := c.(*tls.Conn); ok && st == http.StateActive {
				if cc, ok := tc.NetConn().(*countingConn); ok {
					cc.rec = nil
				}
			}
		},
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(sln) }()

	var dnsPC net.PacketConn
	dnsDone := make(chan struct{})
	if res.dns != nil {
		if dnsPC, err = snet.ListenPacket("udp", fmt.Sprintf(":%d", simdns.Port)); err != nil {
			res.dns.err = fmt.Errorf("the DNS server could not open port %d: %w", simdns.Port, err)
			close(dnsDone)
		} else {
			ds := &simdns.Server{Records: map[string]netip.Addr{u.host: n.serverAddr}}
			go func() { ds.Serve(dnsPC); close(dnsDone) }()
		}
	} else {
		close(dnsDone)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &getClient{n: n, u: u, res: res, cnet: cnet, cfg: cliTLS}
	tr := &http.Transport{
		DialContext:        c.dial,
		DialTLSContext:     c.dialTLS,
		DisableCompression: true,
		Proxy:              nil,
		TLSNextProto:       map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	clientDone := make(chan struct{})
	go func() {
		defer close(clientDone)
		err := c.get(ctx, &http.Client{Transport: tr}, body)
		if c.dialErr != nil {
			err = c.dialErr // get's own words, not wrapped by the Transport
		}
		res.err = err
		res.clientDone = n.now()
	}()

	select {
	case <-clientDone:
		// Wait, checking every millisecond of virtual time, until every
		// connection is CLOSED or in TIME_WAIT; the end is then.
		var check func()
		check = func() {
			if over {
				return
			}
			if n.settled() {
				finish(n.w.Now())
				return
			}
			n.w.After(time.Millisecond, check)
		}
		loop.Do(check)
		<-ended
	case <-ended:
		// --timeout: what still waits fails when the loop closes.
		cancel()
		loop.Close()
	}
	tr.CloseIdleConnections()
	srv.Close()
	if serr := <-serveDone; serr != nil && !errors.Is(serr, http.ErrServerClosed) && !errors.Is(serr, net.ErrClosed) && !timedOut {
		setServerErr(fmt.Errorf("server: %w", serr))
	}
	if dnsPC != nil {
		dnsPC.Close()
	}
	<-dnsDone
	loop.Close()
	<-clientDone
	return timedOut, nil
}

// getListener records each accepted connection for the report and the
// end of the run, and with https, counts the server's TLS writes.
type getListener struct {
	net.Listener
	n  *network
	ti *tlsInfo // https only
}

func (l *getListener) Accept() (net.Conn, error) {
	at := l.n.now()
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.n.track(c)
	l.n.sockCall("server", "accept", at, 0, nil)
	c = l.n.traced("server", c)
	if l.ti != nil {
		c = &countingConn{Conn: c, side: "server", now: l.n.now, rec: &l.ti.writes, mu: &l.n.mu}
	}
	return c, nil
}

// getClient is the client's side: name resolution and connect in the
// Transport's dial, then the GET.
type getClient struct {
	n       *network
	u       getURL
	res     *getResult
	cnet    *sim.Net
	cfg     *tls.Config
	dialErr error // why the dial failed, in get's words
}

// errRunOver is what a dial returns once the run has ended.
var errRunOver = errors.New("the run is over")

func (c *getClient) expired() bool {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	return c.n.ended
}

// resolve finds the server's address: the URL's IP literal, Go's
// resolver over simulated DNS, or the hosts table (--dns off).
func (c *getClient) resolve(ctx context.Context) error {
	res, n := c.res, c.n
	if a, err := netip.ParseAddr(c.u.host); err == nil {
		res.resolved = a
		return nil
	}
	if d := res.dns; d != nil {
		if d.err != nil {
			return d.lookupError(c.u.host)
		}
		trace := &simdns.Trace{}
		r := simdns.GoResolverTraced(c.cnet, d.server, trace)
		addrs, err := r.LookupNetIP(context.WithoutCancel(ctx), "ip4", dns.Fqdn(c.u.host))
		if c.expired() {
			// --timeout came first: the story shows the lookup unfinished.
			return errRunOver
		}
		d.tries, d.done, d.err = trace.Attempts(), n.now(), err
		if err == nil && len(addrs) == 0 {
			d.err = &net.DNSError{Err: "no address", Name: c.u.host, IsNotFound: true}
		}
		if d.err != nil {
			return d.lookupError(c.u.host)
		}
		res.resolved = addrs[0].Unmap()
		return nil
	}
	var a netip.Addr
	var lerr error
	if err := n.loop.Call(func() { a, lerr = n.w.Lookup(c.u.host) }); err != nil {
		return err
	}
	if lerr != nil {
		return lerr
	}
	res.resolved, res.fromTable = a, true
	return nil
}

// connect resolves the name and opens the TCP connection.
func (c *getClient) connect(ctx context.Context) (net.Conn, error) {
	if err := c.resolve(ctx); err != nil {
		c.dialErr = err
		return nil, err
	}
	addr := net.JoinHostPort(c.res.resolved.String(), strconv.Itoa(int(c.u.port)))
	at := c.n.now()
	conn, err := c.cnet.DialContext(ctx, "tcp", addr)
	c.n.sockCall("client", "connect", at, 0, err)
	if err != nil {
		c.dialErr = err
		return nil, err
	}
	c.n.track(conn)
	return c.n.traced("client", conn), nil
}

// dial is the Transport's DialContext (http://).
func (c *getClient) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	conn, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	return c.firstWrite(conn), nil
}

// dialTLS is the Transport's DialTLSContext (https://): the handshake
// over a connection that counts and records TLS's writes.
func (c *getClient) dialTLS(ctx context.Context, _, _ string) (net.Conn, error) {
	conn, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	ti, n := c.res.tls, c.n
	ti.wrote = countingConn{Conn: conn, side: "client", now: n.now, rec: &ti.writes, mu: &n.mu}
	tc := tls.Client(&ti.wrote, c.cfg)
	ti.start = n.now()
	err = tc.Handshake()
	ti.done = n.now()
	ti.wrote.rec = nil
	ti.request.off = ti.wrote.n // the request's record comes next
	if err != nil {
		ti.err = err
		conn.Close()
		c.dialErr = fmt.Errorf("TLS handshake: %w", err)
		return nil, c.dialErr
	}
	st := tc.ConnectionState()
	ti.version, ti.suite, ti.group = st.Version, st.CipherSuite, st.CurveID
	return c.firstWrite(tc), nil
}

// firstWrite wraps the plaintext connection so that the Transport's first
// write, the request's header, is counted (and with --split-request, split).
func (c *getClient) firstWrite(conn net.Conn) net.Conn {
	fw := &firstWriteConn{Conn: conn, res: c.res}
	if c.res.split != nil {
		fw.split = &splitWriter{c: conn, n: c.n, info: c.res.split}
	}
	return fw
}

type firstWriteConn struct {
	net.Conn
	res   *getResult
	split *splitWriter
	done  bool
}

func (f *firstWriteConn) Write(p []byte) (int, error) {
	if f.done {
		return f.Conn.Write(p)
	}
	f.done = true
	f.res.reqHeader = len(p)
	if f.split != nil {
		return f.split.Write(p)
	}
	return f.Conn.Write(p)
}

// get sends the GET and reads the response, comparing the body with the
// page as it arrives.
func (c *getClient) get(ctx context.Context, client *http.Client, body page) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.u.raw, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "tcpsim")
	req.Close = true
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	res := c.res
	res.status = resp.Status
	ref, err := body.open()
	if err != nil {
		return err
	}
	defer ref.Close()
	cmp := newCompareWriter(ref)
	res.body = cmp
	res.bodyLen, err = io.Copy(cmp, resp.Body)
	res.mismatch = cmp.mismatch
	res.bodyDone = err == nil
	return err
}

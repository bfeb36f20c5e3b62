package main

// Two demonstrations of classic TCP effects for `tcpsim get` (issue 15):
//
//   - --repeat N fetches the URL N times, one new connection after another,
//     with the client closing first, so that every connection leaves the
//     client a TIME_WAIT that holds its ephemeral port for 2×MSL; with a
//     small --ports range the ports run out and the next connect fails.
//   - --split-request writes the request headers in two writes, so that
//     Nagle's algorithm holds the second until the first is acknowledged,
//     which the server's delayed-ACK timer postpones; --nodelay removes it.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/simdns"
	"github.com/tcpsim/tcpsim/stack"
)

// maxRepeat bounds --repeat: each fetch is a connection of its own.
const maxRepeat = 100000

// demoOptions are get's --repeat, --ports and --split-request.
type demoOptions struct {
	repeat flagval.IntRange
	ports  portsFlag
	split  bool
}

// portsFlag is --ports LOW-HIGH, the client's ephemeral port range.
type portsFlag struct{ r stack.PortRange }

func (p *portsFlag) Set(s string) error {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return fmt.Errorf("want a range LOW-HIGH such as 32768-32867")
	}
	l, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	h, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	switch {
	case err1 != nil || err2 != nil:
		return fmt.Errorf("want two port numbers 1-65535 such as 32768-32867")
	case l == 0 || l > h:
		return fmt.Errorf("want 1 <= LOW <= HIGH <= 65535")
	}
	p.r = stack.PortRange{Low: uint16(l), High: uint16(h)}
	return nil
}

func (p *portsFlag) String() string {
	if p.r == (stack.PortRange{}) {
		return "49152-65535"
	}
	return p.r.String()
}

func (p *portsFlag) Type() string { return "LOW-HIGH" }

// addDemoFlags adds the demonstrations' flags to get.
func addDemoFlags(fs *pflag.FlagSet, o *options) {
	o.demo.repeat = flagval.IntRange{V: 0, Min: 1, Max: maxRepeat}
	fs.Var(&o.demo.repeat, "repeat", "fetch the URL this many times, one new connection after another; the client closes first, so each connection leaves it a TIME_WAIT holding its port")
	fs.Var(&o.demo.ports, "ports", "the client's ephemeral port range, e.g. 32768-32867 (Linux's ip_local_port_range)")
	fs.BoolVar(&o.demo.split, "split-request", false, "write the request headers in two writes (the request line, then the rest): Nagle's algorithm meets the server's delayed ACK")
}

// validate checks the demonstrations' flags against the rest and the URL
// (already checked by get's Args).
func (d *demoOptions) validate(fs *pflag.FlagSet, rawURL string) error {
	u, _ := parseGetURL(rawURL)
	if fs.Changed("repeat") {
		if u.https {
			return fmt.Errorf("--repeat %d: the URL %s is https://; --repeat fetches http:// URLs", d.repeat.V, u.raw)
		}
		for _, name := range []string{"ladder", "report", "plot", "series", "interval", "split-request"} {
			if f := fs.Lookup(name); f != nil && f.Changed {
				return fmt.Errorf("--repeat %d and --%s are exclusive: --repeat prints a line per connection", d.repeat.V, name)
			}
		}
	}
	if d.split && u.https {
		return fmt.Errorf("--split-request: the URL %s is https://, where TLS already shows the hold (step 5); give an http:// URL", u.raw)
	}
	return nil
}

// splitWriter writes the first Write it is given as two writes: up to and
// including the request line's CRLF, then the rest.
type splitWriter struct {
	c     net.Conn
	n     *network
	info  *splitInfo
	wrote bool
}

// splitInfo is what --split-request saw: the two writes and when the
// second one's first byte left the client.
type splitInfo struct {
	first, second     int
	firstAt, secondAt time.Duration
	sent              offsetWatch
}

func (w *splitWriter) Write(p []byte) (int, error) {
	if w.wrote {
		return w.c.Write(p)
	}
	w.wrote = true
	k := bytes.Index(p, []byte("\r\n")) + 2
	if k < 2 || k >= len(p) {
		return w.c.Write(p)
	}
	w.info.first, w.info.second = k, len(p)-k
	w.info.sent.off = int64(k)
	w.info.firstAt = w.n.now()
	n1, err := w.c.Write(p[:k])
	if err != nil {
		return n1, err
	}
	if l := w.n.loop; l != nil {
		// On the loop the stack takes the write up in its next service:
		// wait for it, so that the first piece is sent on its own, as a
		// task's write is.
		l.Call(func() {})
	}
	w.info.secondAt = w.n.now()
	n2, err := w.c.Write(p[k:])
	return n1 + n2, err
}

// splitStep is step 5's text with --split-request, and its time. The
// hold is at least one round trip (the first piece's ACK must come back);
// what exceeds it is the server's delayed-ACK timer.
func (s *splitInfo) splitStep(path string, f *Flow, nodelay bool, delack time.Duration) (time.Duration, string) {
	d := &f.Dir[0]
	if s.first == 0 {
		return d.FirstData, fmt.Sprintf("GET %s sent in one write (too short to split) in %s", path, segmentsLine(d))
	}
	head := fmt.Sprintf("GET %s sent in two writes: %d bytes (the request line) at %s, %d bytes at %s", path,
		s.first, strings.TrimSpace(fmtTime(s.firstAt)), s.second, strings.TrimSpace(fmtTime(s.secondAt)))
	if !s.sent.seen {
		return d.FirstData, head + "; the second never left"
	}
	hold := s.sent.at - s.secondAt
	if hold <= loopSlack {
		return s.sent.at, fmt.Sprintf("%s; the second left at once (%s), in %s", head, nagleWord(nodelay), segmentsLine(d))
	}
	rtt := f.SYNACKDeliveredAt - f.SYNAt
	why := "Nagle's algorithm held it until the first piece was acknowledged"
	switch extra := hold - rtt; {
	case rtt > 0 && extra > time.Millisecond:
		why += fmt.Sprintf(": one round trip (%s s) and %s s of the server's delayed-ACK timer (%v)",
			strings.TrimSpace(fmtTime(rtt)), strings.TrimSpace(fmtTime(extra)), delack)
	case rtt > 0:
		why += fmt.Sprintf(": one round trip (%s s); the server acknowledged the first piece at once (quick-ACK at a connection's start, or a window update after its read)",
			strings.TrimSpace(fmtTime(rtt)))
	}
	return s.sent.at, fmt.Sprintf("%s; the second left at %s, held %s s (%s; --nodelay sends it at once), in %s",
		head, strings.TrimSpace(fmtTime(s.sent.at)), strings.TrimSpace(fmtTime(hold)), why, segmentsLine(d))
}

func nagleWord(nodelay bool) string {
	if nodelay {
		return "--nodelay: Nagle's algorithm is off"
	}
	return "nothing was unacknowledged"
}

// repeatFetch is one connection of --repeat.
type repeatFetch struct {
	start, connected, done time.Duration
	local, remote          string
	timeWait               int // client connections in TIME_WAIT when it started
	status                 string
	body                   int64
}

// runRepeat is get --repeat N: resolve once, then N fetches in a row.
func runRepeat(stdout io.Writer, o *options, u getURL) error {
	defer oneThread()()
	body, err := o.pageSource()
	if err != nil {
		return err
	}
	var verbose io.Writer
	if o.verbose {
		verbose = stdout
	}
	prog := newProgress(o.progress, body.size*int64(o.demo.repeat.V))
	n, err := newNetwork(o, verbose, prog)
	if err != nil {
		return err
	}
	defer n.close()
	serverAddr := n.serverAddr
	_, ipErr := netip.ParseAddr(u.host)
	if ipErr != nil {
		if err := n.w.AddHostEntry(u.host, serverAddr); err != nil {
			return err
		}
	}
	msl := n.client.Config().MSL
	ports := n.client.Config().EphemeralPorts
	fmt.Fprintf(stdout, "tcpsim get %s --repeat %d (seed %d)\n", u.raw, o.demo.repeat.V, o.seed)
	fmt.Fprintf(stdout, "link: %s\n", o.describeLink())
	o.printCC(stdout)
	fmt.Fprintf(stdout, "hosts: client %v (ephemeral ports %v: %d), server %v; %s serves %d bytes on port %d\n",
		n.clientAddr, ports, ports.Count(), serverAddr, serverName, body.size, u.port)
	fmt.Fprintf(stdout, "repeat: %d fetches one after another, each on a new connection. The client asks for Connection: close and closes once it has read the body; the server waits for its FIN. The client closes first, so each connection leaves it in TIME_WAIT for 2×MSL = %v, holding its port.\n",
		o.demo.repeat.V, 2*msl)
	fmt.Fprintln(stdout)
	if o.verbose {
		fmt.Fprintln(stdout, verboseHeader)
	}
	ln, err := n.snet.Listen("tcp", ":"+strconv.Itoa(int(u.port)))
	if err != nil {
		return err
	}
	var serverErr error
	n.spawn("server", func(t *sim.Task) {
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					serverErr = err
				}
				return
			}
			n.track(c)
			n.spawn("handler", func(*sim.Task) {
				if err := serveUntilEOF(c, body); err != nil && serverErr == nil {
					serverErr = err
				}
			})
		}
	})
	var dns *dnsInfo
	stopDNS := func() {}
	if ipErr != nil && bool(o.dns) {
		dns = &dnsInfo{server: netip.AddrPortFrom(serverAddr, simdns.Port)}
		if stopDNS, err = startDNS(n, u.host, serverAddr, dns); err != nil {
			return err
		}
	}
	var fetches []repeatFetch
	var resolved netip.Addr
	var fetchErr error
	n.spawn("client", func(t *sim.Task) {
		defer ln.Close()
		defer stopDNS()
		switch {
		case ipErr == nil:
			resolved, _ = netip.ParseAddr(u.host)
		case dns != nil:
			a, err := resolveDNS(n, u.host, dns)
			if err != nil {
				fetchErr = dns.lookupError(u.host)
				return
			}
			resolved = a
		default:
			a, err := n.w.Lookup(u.host)
			if err != nil {
				fetchErr = err
				return
			}
			resolved = a
		}
		addr := net.JoinHostPort(resolved.String(), strconv.Itoa(int(u.port)))
		for i := range o.demo.repeat.V {
			f, err := repeatOnce(n, u, addr)
			fetches = append(fetches, f)
			if err != nil {
				fetchErr = fmt.Errorf("fetch %d of %d at %s s: %w", i+1, o.demo.repeat.V, strings.TrimSpace(fmtTime(f.start)), err)
				if errors.Is(err, syscall.EADDRNOTAVAIL) { // the sim's stack.ErrNoPorts
					fetchErr = noPortsError(n, i+1, o.demo.repeat.V, f.start, ports, err)
				}
				return
			}
		}
	})
	runErr := n.w.Run()
	prog.done()
	if err := n.finish(); err != nil {
		return err
	}
	if o.verbose {
		fmt.Fprintln(stdout)
	}
	if dns != nil && resolved.IsValid() {
		fmt.Fprintf(stdout, "DNS: %s is %v, answered at %s s; every fetch uses that address\n", u.host, resolved, strings.TrimSpace(fmtTime(dns.done)))
	}
	printRepeatTable(stdout, fetches, o.demo.repeat.V, 2*msl)
	printRepeatTotals(stdout, n)
	printHostDrops(stdout, "  ", n)
	switch {
	case runErr != nil && errors.Is(runErr, sim.ErrTimeLimit):
		return fmt.Errorf("--repeat %d did not complete within --timeout %v of virtual time (%d fetches done)", o.demo.repeat.V, time.Duration(o.timeout), len(fetches))
	case runErr != nil:
		return runErr
	case fetchErr != nil:
		return fetchErr
	case serverErr != nil:
		return serverErr
	}
	return nil
}

// noPortsError explains why the connect found no port: the client's
// connections to that server, by state, and when the first TIME_WAIT ends.
func noPortsError(n *network, i, of int, at time.Duration, ports stack.PortRange, err error) error {
	tw := 0
	other := map[string]int{}
	var first time.Duration
	for _, c := range n.client.Conns() {
		if end, ok := c.TimeWaitEnds(); ok {
			tw++
			if first == 0 || end < first {
				first = end
			}
		} else {
			other[c.State().String()]++
		}
	}
	msg := fmt.Sprintf("fetch %d of %d at %s s: %v: no free ephemeral port in %v (%d ports) for the server's address and port: %d connections in TIME_WAIT",
		i, of, strings.TrimSpace(fmtTime(at)), err, ports, ports.Count(), tw)
	for _, st := range sortedKeys(other) {
		msg += fmt.Sprintf(", %d in %s", other[st], st)
	}
	if tw > 0 {
		msg += fmt.Sprintf(", the first frees at %s s", strings.TrimSpace(fmtTime(first)))
	}
	return errors.New(msg)
}

// repeatOnce is one fetch: connect, write the GET, read the response,
// close first.
func repeatOnce(n *network, u getURL, addr string) (repeatFetch, error) {
	f := repeatFetch{start: n.w.Now()}
	for _, c := range n.client.Conns() {
		if c.State() == stack.StateTimeWait {
			f.timeWait++
		}
	}
	c, err := n.cnet.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return f, err
	}
	n.track(c)
	defer c.Close()
	f.connected = n.w.Now()
	f.local, f.remote = c.LocalAddr().String(), c.RemoteAddr().String()
	req, err := http.NewRequest(http.MethodGet, u.raw, http.NoBody)
	if err != nil {
		return f, err
	}
	req.Header.Set("User-Agent", "tcpsim")
	req.Close = true
	if err := req.Write(c); err != nil {
		return f, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return f, err
	}
	defer resp.Body.Close()
	f.status = resp.Status
	f.body, err = io.Copy(io.Discard, resp.Body)
	f.done = n.w.Now()
	return f, err
}

// serveUntilEOF answers one request and then, rather than closing first,
// waits for the client's FIN: the TIME_WAIT is then the client's.
func serveUntilEOF(c net.Conn, body page) error {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return fmt.Errorf("server: reading the request: %w", err)
	}
	content, err := body.open()
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	defer content.Close()
	resp := &http.Response{
		StatusCode: http.StatusOK, ProtoMajor: 1, ProtoMinor: 1, Request: req,
		Header:        http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		ContentLength: body.size, Body: content, Close: true,
	}
	bw := bufio.NewWriterSize(c, 32<<10)
	if err := resp.Write(bw); err != nil {
		return fmt.Errorf("server: writing the response: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("server: writing the response: %w", err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return fmt.Errorf("server: waiting for the client's FIN: %w", err)
	}
	return nil
}

// printRepeatTable prints a line per fetch: when it started, its 4-tuple,
// when the handshake and the body ended, and how many of the client's
// connections were in TIME_WAIT as it started.
func printRepeatTable(w io.Writer, fs []repeatFetch, asked int, tw time.Duration) {
	fmt.Fprintf(w, "fetches (virtual seconds; TIME_WAIT: the client's connections in TIME_WAIT, each for %v, as the fetch starts):\n", tw)
	fmt.Fprintf(w, "%5s  %10s  %-34s  %10s  %10s  %s\n", "fetch", "start", "connection (4-tuple)", "connected", "body read", "TIME_WAIT")
	ok := 0
	for i, f := range fs {
		if f.local == "" {
			fmt.Fprintf(w, "%5d  %10s  %-34s  %10s  %10s  %d\n", i+1, fmtTime(f.start), "(no connection)", "-", "-", f.timeWait)
			continue
		}
		done := "-"
		if f.done > 0 {
			done = fmtTime(f.done)
			ok++
		}
		fmt.Fprintf(w, "%5d  %10s  %-34s  %10s  %10s  %d\n", i+1, fmtTime(f.start), f.local+" -> "+f.remote, fmtTime(f.connected), done, f.timeWait)
	}
	fmt.Fprintf(w, "%d of %d fetches completed\n", ok, asked)
}

// printRepeatTotals sums the TCP connections the link carried.
func printRepeatTotals(w io.Writer, n *network) {
	var pk, rtx, drops [2]int
	fl := n.an.Flows()
	for _, f := range fl {
		for i := range 2 {
			pk[i] += f.Dir[i].Packets
			rtx[i] += f.Dir[i].Retrans
			drops[i] += f.Dir[i].Dropped
		}
	}
	fmt.Fprintf(w, "TCP connections on the link: %d; packets client sent %d, server sent %d; retransmits client %d, server %d; %d dropped on the link\n",
		len(fl), pk[0], pk[1], rtx[0], rtx[1], drops[0]+drops[1])
}

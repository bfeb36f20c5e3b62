package main

// get's pages (issue 15): a page whose HTML names N objects, fetched with
// one of five connection strategies, each connection listed by its
// 4-tuple, and --compare's table of what each strategy cost on the same
// link and seed.
//
// Both ends speak HTTP through net/http's own codec on the virtual driver:
// the client writes requests with (*http.Request).Write and reads them
// with http.ReadResponse, the server reads with http.ReadRequest and
// answers with (*http.Response).Write, one request after another on each
// connection, which is how net/http's server treats pipelined requests.
// (http.Server and http.Transport start goroutines of their own, which
// the virtual driver cannot schedule; docs/http.md.) HTTP/2 uses
// golang.org/x/net/http2's Framer and hpack for every frame and header
// block; the streams' bookkeeping is here.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/net/html"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// The strategies, in --compare's order.
const (
	stSerial     = "serial"
	stParallel   = "parallel"
	stPersistent = "persistent"
	stPipelined  = "pipelined"
	stH2         = "h2"
)

var strategies = []string{stSerial, stParallel, stPersistent, stPipelined, stH2}

var strategyText = map[string]string{
	stSerial:     "a new connection per response, closed after it (HTTP/1.0 style, Connection: close)",
	stParallel:   "at most %d connections at once, each closed after its response (as browsers open 6)",
	stPersistent: "one keep-alive connection, the requests one after another",
	stPipelined:  "one connection, HTTP/1.1 pipelining: every object's request written before the first response is read",
	stH2:         "HTTP/2 over TLS (ALPN h2), every object's stream multiplexed on one connection",
}

// strategyFlag is --strategy's value.
type strategyFlag string

func (s *strategyFlag) String() string { return string(*s) }
func (s *strategyFlag) Type() string   { return "name" }
func (s *strategyFlag) Set(v string) error {
	for _, k := range strategies {
		if v == k {
			*s = strategyFlag(v)
			return nil
		}
	}
	return fmt.Errorf("unknown strategy %q (want serial, parallel, persistent, pipelined or h2)", v)
}

// maxObjects bounds --objects and a manifest's lines.
const maxObjects = 10000

// pageOptions are get's page flags.
type pageOptions struct {
	objects    flagval.IntRange
	objectSize flagval.Size
	manifest   string
	strategy   strategyFlag
	parallel   flagval.IntRange
	compare    bool

	on   bool         // a page run: one of the flags above was given
	objs []pageObject // the objects, from --objects or --page
}

// pageObject is one embedded object the page names.
type pageObject struct {
	path string
	size int64
}

// addPageFlags adds the page flags to get, after --tun's (whose own
// checks run instead of get's when --tun is given).
func addPageFlags(cmd *cobra.Command, p *pageOptions) {
	fs := cmd.Flags()
	pre := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if cmd.Flags().Changed("tun") {
			for _, n := range pageFlagNames {
				if cmd.Flags().Changed(n) {
					return fmt.Errorf("--%s is not offered with --tun: the kernel's server sends one page", n)
				}
			}
		}
		return pre(cmd, args)
	}
	p.objects = flagval.IntRange{V: 0, Min: 0, Max: maxObjects}
	p.objectSize = 10 * 1024
	p.parallel = flagval.IntRange{V: 6, Min: 1, Max: 1000}
	p.strategy = stPersistent
	fs.Var(&p.objects, "objects", "fetch a page whose HTML names this many objects, then the objects (with --strategy)")
	fs.Var(&p.objectSize, "object-size", "with --objects: the size of each object, e.g. 10KB")
	fs.StringVar(&p.manifest, "page", "", "fetch a page whose objects are listed in `FILE` (one \"PATH SIZE\" a line; docs/http.md)")
	fs.Var(&p.strategy, "strategy", "how the page's objects are fetched: serial, parallel (with --parallel), persistent, pipelined or h2")
	fs.Var(&p.parallel, "parallel", "with --strategy parallel: at most this many connections at once")
	fs.BoolVar(&p.compare, "compare", false, "fetch the page with every strategy on the same link and seed and print a table of what each cost")
}

var pageFlagNames = []string{"objects", "object-size", "page", "strategy", "parallel", "compare"}

// validate checks the page flags once the URL is known.
func (p *pageOptions) validate(fs *pflag.FlagSet, o *options, u getURL) error {
	changed := func(names ...string) string {
		for _, n := range names {
			if fs.Changed(n) {
				return n
			}
		}
		return ""
	}
	p.on = changed(pageFlagNames...) != ""
	if !p.on {
		return nil
	}
	if fs.Changed("objects") && fs.Changed("page") {
		return fmt.Errorf("--objects %d and --page %s are exclusive", p.objects.V, p.manifest)
	}
	if fs.Changed("object-size") && fs.Changed("page") {
		return fmt.Errorf("--object-size and --page %s are exclusive: the manifest gives each object's size", p.manifest)
	}
	if fs.Changed("object-size") && !fs.Changed("objects") {
		return errors.New("--object-size needs --objects")
	}
	if n := changed("size", "file"); n != "" {
		return fmt.Errorf("--%s is for a single page; a page with objects takes --objects and --object-size, or --page", n)
	}
	if n := changed("ladder", "report", "plot", "series", "interval", "pcapng", "repeat", "split-request"); n != "" {
		return fmt.Errorf("--%s is not offered with a page of objects (--objects, --page, --strategy, --compare)", n)
	}
	if fs.Changed("parallel") && p.strategy != stParallel && !p.compare {
		return fmt.Errorf("--parallel %d needs --strategy parallel (or --compare)", p.parallel.V)
	}
	if fs.Changed("strategy") && p.compare {
		return fmt.Errorf("--strategy %s and --compare are exclusive: --compare runs every strategy", p.strategy)
	}
	if p.strategy == stH2 && !u.https {
		return fmt.Errorf("--strategy h2 needs an https:// URL: HTTP/2 is offered over TLS only (no h2c), and %s is http://", u.raw)
	}
	if p.compare && (o.verbose || o.pcap != "" || len(o.pcapAt) > 0) {
		return errors.New("--compare runs several fetches: -v and --pcap are for one strategy (--strategy)")
	}
	if fs.Changed("page") {
		objs, err := readManifest(p.manifest, u.path)
		if err != nil {
			return err
		}
		p.objs = objs
	} else {
		for i := 1; i <= p.objects.V; i++ {
			p.objs = append(p.objs, pageObject{path: fmt.Sprintf("/objects/%d.bin", i), size: int64(p.objectSize)})
		}
	}
	return nil
}

// readManifest reads a --page file: one object a line, "PATH SIZE", PATH
// starting with "/" and SIZE as --size takes it; blank lines and lines
// starting with # are skipped. Errors name the file and line.
func readManifest(name, pagePath string) ([]pageObject, error) {
	if name == "" {
		return nil, errors.New(`--page "": want the name of a manifest file`)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--page %s: %v", name, errors.Unwrap(err))
	}
	var objs []pageObject
	seen := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		at := fmt.Sprintf("%s:%d", name, i+1)
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s: want \"PATH SIZE\" (two fields), got %d field(s): %q", at, len(f), line)
		}
		u, err := url.Parse(f[0])
		if !strings.HasPrefix(f[0], "/") || err != nil || u.Path == "" || u.Host != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%s: path %q: want an absolute path such as /img/logo.png", at, f[0])
		}
		if f[0] == pagePath {
			return nil, fmt.Errorf("%s: path %s is the page's own path (the URL's)", at, f[0])
		}
		if prev, dup := seen[f[0]]; dup {
			return nil, fmt.Errorf("%s: path %s already listed at line %d", at, f[0], prev)
		}
		size, err := flagval.ParseSize(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s: size %q: %v", at, f[1], err)
		}
		if size > 1<<40 {
			return nil, fmt.Errorf("%s: size %s: at most 1TiB per object", at, f[1])
		}
		if len(objs) == maxObjects {
			return nil, fmt.Errorf("%s: more than %d objects", at, maxObjects)
		}
		seen[f[0]] = i + 1
		objs = append(objs, pageObject{path: f[0], size: size})
	}
	return objs, nil
}

// pageHTML is the page's text: an img element per object.
func pageHTML(objs []pageObject) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html><head><title>tcpsim page</title></head><body>\n")
	for _, o := range objs {
		fmt.Fprintf(&b, "<img src=\"%s\">\n", html.EscapeString(o.path))
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

// embedded returns the src attributes of the page's elements, in order,
// read with x/net/html's tokenizer.
func embedded(page []byte) []string {
	var out []string
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			for {
				k, v, more := z.TagAttr()
				if string(k) == "src" {
					out = append(out, string(v))
				}
				if !more {
					break
				}
			}
		}
	}
}

// fetchRecord is one response the client asked for.
type fetchRecord struct {
	path      string
	want      int64 // body size the server serves
	local     netip.AddrPort
	stream    uint32 // h2 stream, 0 on HTTP/1.1
	requested time.Duration
	headers   time.Duration // response headers read
	done      time.Duration // body read to its end
	got       int64
	status    string
	mismatch  int64 // first byte that differs from what was served, or -1
	body      []byte
}

// pageRun is one fetch of the page with one strategy.
type pageRun struct {
	strategy string
	parallel int
	u        getURL
	objs     []pageObject
	html     []byte // the page's HTML
	sizes    map[string]int64
	n        *network
	flows    []*Flow
	fetches  []*fetchRecord // [0] is the page itself
	dns      *dnsInfo
	dnsDone  time.Duration
	done     time.Duration // the last response's last byte read
	complete bool          // the client fetched everything without an error
	tlsHS    int           // TLS handshakes completed

	wireBytes   int64 // IP bytes of every packet sent (TCP and DNS), retransmissions included
	wirePackets int

	// Slow-start round trips, per connection (client address:port).
	rounds map[netip.AddrPort]*ssRounds
	srvc   map[netip.AddrPort]*stack.Conn // the server's end of each connection

	// Data segments, for tests: each first transmission sent and each
	// delivery, the first maxSegEvents of them.
	segs []segEvent
	// respEnds: per connection, the server's stream offset at the end of
	// each response it wrote.
	respEnds map[netip.AddrPort][]int64
	// h2Data is the stream of each DATA frame the client read, in order.
	h2Data []uint32
	// h2Updates counts the client's WINDOW_UPDATEs after the first.
	h2Updates int

	err, serverErr, runErr error
	pkt                    segment.Packet
}

const maxSegEvents = 1 << 16

// segEvent is one data segment: sent by its sender, or delivered to the
// far end.
type segEvent struct {
	at        time.Duration
	client    netip.AddrPort // the connection
	fromSrv   bool
	delivered bool
	off, len  int64 // stream offset from the first byte after the SYN
}

// ssRounds counts one connection's server-side round trips.
type ssRounds struct {
	iss      uint32
	haveISS  bool
	maxEnd   int64 // highest stream offset sent
	inRound  bool
	roundEnd int64 // the round ends when SND.UNA reaches this offset
	rounds   int   // rounds with data
	slow     int   // of which begun with cwnd < ssthresh
}

// event is the analyzer's also hook.
func (p *pageRun) event(e *sim.Event) {
	if e.Verdict == sim.Sent {
		p.wireBytes += int64(e.Len)
		p.wirePackets++
	}
	f, d := p.n.an.Current()
	if f == nil || (e.Verdict != sim.Sent && e.Verdict != sim.Delivered) || p.pkt.Decode(e.Data, false) != nil {
		return
	}
	h := &p.pkt.TCP
	r := p.rounds[f.Client]
	if r == nil {
		r = &ssRounds{}
		p.rounds[f.Client] = r
	}
	if d == 1 && h.Flags&segment.FlagSYN != 0 {
		r.iss, r.haveISS = uint32(h.Seq), true
	}
	var iss uint32
	switch {
	case d == 1 && r.haveISS:
		iss = r.iss
	case d == 0 && f.Dir[0].SYNSeen:
		iss = uint32(f.Dir[0].ISS)
	default:
		return
	}
	if len(p.pkt.Payload) == 0 {
		return
	}
	off := int64(uint32(h.Seq) - iss - 1)
	end := off + int64(len(p.pkt.Payload))
	keep := len(p.segs) < maxSegEvents
	if e.Verdict == sim.Delivered {
		if !keep {
			return
		}
		p.segs = append(p.segs, segEvent{at: e.Time, client: f.Client, fromSrv: d == 1, delivered: true, off: off, len: end - off})
		return
	}
	if d == 0 {
		if keep {
			p.segs = append(p.segs, segEvent{at: e.Time, client: f.Client, off: off, len: end - off})
		}
		return
	}
	if end <= r.maxEnd {
		return // a retransmission
	}
	r.maxEnd = end
	if keep {
		p.segs = append(p.segs, segEvent{at: e.Time, client: f.Client, fromSrv: true, off: off, len: end - off})
	}
	sc := p.srvc[f.Client]
	if sc == nil {
		return
	}
	info := sc.Info()
	una := int64(uint32(info.SndUna) - iss - 1)
	if info.SndUna == segment.Seq(iss) {
		una = 0
	}
	if !r.inRound || una >= r.roundEnd {
		r.inRound, r.roundEnd = true, end
		r.rounds++
		if info.Cwnd < info.Ssthresh {
			r.slow++
		}
	}
}

// slowRounds sums the slow-start round trips of every connection.
func (p *pageRun) slowRounds() int {
	n := 0
	for _, r := range p.rounds {
		n += r.slow
	}
	return n
}

// runPage is get with a page of objects: one strategy, or --compare.
func runPage(stdout io.Writer, o *options, u getURL) error {
	defer oneThread()()
	pg := &o.pages
	if pg.compare {
		return runCompare(stdout, o, u)
	}
	var verbose io.Writer
	if o.verbose {
		verbose = stdout
	}
	printPageHeader(stdout, o, u, pg.strategy.String(), pg.parallel.V)
	if o.verbose {
		fmt.Fprintln(stdout, verboseHeader)
	}
	p, err := fetchPage(o, u, pg.strategy.String(), pg.parallel.V, verbose)
	if err != nil {
		return err
	}
	if o.verbose {
		fmt.Fprintln(stdout)
	}
	printPageRun(stdout, p)
	return p.failure()
}

func printPageHeader(w io.Writer, o *options, u getURL, strat string, par int) {
	fmt.Fprintf(w, "tcpsim get %s (seed %d)\n", u.raw, o.seed)
	fmt.Fprintf(w, "link: %s\n", o.describeLink())
	o.printCC(w)
	var total int64
	for _, ob := range o.pages.objs {
		total += ob.size
	}
	dnsNote := ""
	if _, err := netip.ParseAddr(u.host); err != nil && bool(o.dns) {
		dnsNote = fmt.Sprintf("; it answers DNS for %s on port 53", u.host)
	}
	fmt.Fprintf(w, "hosts: client %v, server %v; %s serves the page %s (%d bytes of HTML naming %d object(s), %d bytes in all) on port %d%s\n",
		clientPrefix.Addr(), serverPrefix.Addr(), serverName, u.path, len(pageHTML(o.pages.objs)), len(o.pages.objs), total, u.port, dnsNote)
	if strat != "" {
		fmt.Fprintf(w, "strategy: %s: %s\n", strategyName(strat, par), strategyDesc(strat, par))
	}
	if u.https || strat == stH2 {
		fmt.Fprintf(w, "https: %s with a certificate for %s made for this run; %s\n", tls.VersionName(o.tlsVer.version()), u.host, tlsNote)
	}
	fmt.Fprintln(w)
}

func strategyName(s string, par int) string {
	if s == stParallel {
		return fmt.Sprintf("parallel %d", par)
	}
	return s
}

func strategyDesc(s string, par int) string {
	if s == stParallel {
		return fmt.Sprintf(strategyText[s], par)
	}
	return strategyText[s]
}

// failure is the run's error, if it did not fetch everything.
func (p *pageRun) failure() error {
	switch {
	case p.runErr != nil && errors.Is(p.runErr, sim.ErrTimeLimit):
		return fmt.Errorf("the page did not complete within --timeout (the lists above show how far it got)")
	case p.runErr != nil:
		return p.runErr
	case p.err != nil:
		return fmt.Errorf("GET %s (%s) failed: %v", p.u.raw, strategyName(p.strategy, p.parallel), p.err)
	case p.serverErr != nil:
		return p.serverErr
	}
	for _, f := range p.fetches {
		if f.got != f.want || f.mismatch >= 0 || f.status != "200 OK" {
			return fmt.Errorf("GET %s: %q, %d of %d body bytes (first difference at %d)", f.path, f.status, f.got, f.want, f.mismatch)
		}
	}
	return nil
}

// fetchPage runs one strategy on a world of its own.
func fetchPage(o *options, u getURL, strat string, par int, verbose io.Writer) (*pageRun, error) {
	if strat == stH2 && !u.https {
		u.https = true
		if !u.portGiven {
			u.port = 443
		}
	}
	p := &pageRun{strategy: strat, parallel: par, u: u,
		rounds: map[netip.AddrPort]*ssRounds{}, srvc: map[netip.AddrPort]*stack.Conn{}, respEnds: map[netip.AddrPort][]int64{}}
	n, err := newNetwork(o, verbose, newProgress(nil, 0))
	if err != nil {
		return nil, err
	}
	defer n.close()
	p.n = n
	n.an.also = p.event
	serverAddr := serverPrefix.Addr()
	if _, err := netip.ParseAddr(u.host); err != nil {
		if err := n.w.AddHostEntry(u.host, serverAddr); err != nil {
			return nil, err
		}
	}
	var cliTLS, srvTLS *tls.Config
	if u.https {
		if cliTLS, srvTLS, err = tlsConfigs(u.host, o.tlsVer.version(), uint64(o.seed), n.w.Epoch()); err != nil {
			return nil, err
		}
		// The server keeps no session tickets: every connection pays a
		// full handshake, as a client without a ticket would.
		if strat == stH2 {
			cliTLS.NextProtos, srvTLS.NextProtos = []string{"h2"}, []string{"h2"}
		}
	}
	objs := o.pages.objs
	p.objs, p.html, p.sizes = objs, pageHTML(objs), map[string]int64{}
	for _, ob := range objs {
		p.sizes[ob.path] = ob.size
	}
	site := &site{page: p.html, pagePath: u.path, objs: map[string]int64{}}
	for _, ob := range objs {
		site.objs[ob.path] = ob.size
	}
	ln, err := n.snet.Listen("tcp", ":"+strconv.Itoa(int(u.port)))
	if err != nil {
		return nil, err
	}
	n.spawn("server", func(t *sim.Task) {
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					p.serverErr = err
				}
				return
			}
			n.track(c)
			if sc, ok := c.(*sim.Conn); ok {
				p.srvc[sc.Stack().RemoteAddr()] = sc.Stack()
			}
			n.spawn("server conn", func(t *sim.Task) {
				if err := site.serveConn(p, c, srvTLS, strat == stH2); err != nil && p.serverErr == nil {
					p.serverErr = err
				}
			})
		}
	})
	stopDNS := func() {}
	if _, err := netip.ParseAddr(u.host); err != nil && bool(o.dns) {
		p.dns = &dnsInfo{server: netip.AddrPortFrom(serverAddr, 53)}
		if stopDNS, err = startDNS(n, u.host, serverAddr, p.dns); err != nil {
			return nil, err
		}
	}
	n.spawn("client", func(t *sim.Task) {
		defer ln.Close()
		defer stopDNS()
		p.err = p.client(cliTLS)
		p.done = n.w.Now()
		p.complete = p.err == nil
	})
	p.runErr = n.w.Run()
	if err := n.finish(); err != nil {
		return nil, err
	}
	p.flows = n.an.Flows()
	return p, nil
}

// site is what the server serves: the page and its objects.
type site struct {
	page     []byte
	pagePath string
	objs     map[string]int64
}

// body returns the response to a GET of path.
func (s *site) body(path string) (int, io.Reader, int64) {
	if path == s.pagePath {
		return http.StatusOK, bytes.NewReader(s.page), int64(len(s.page))
	}
	if size, ok := s.objs[path]; ok {
		return http.StatusOK, &genReader{size: size}, size
	}
	msg := "not found\n"
	return http.StatusNotFound, strings.NewReader(msg), int64(len(msg))
}

// serveConn answers the requests of one connection, one after another,
// until the client closes it or asks to.
func (s *site) serveConn(p *pageRun, c net.Conn, cfg *tls.Config, h2 bool) error {
	defer c.Close()
	var client netip.AddrPort
	if sc, ok := c.(*sim.Conn); ok {
		client = sc.Stack().RemoteAddr()
	}
	cw := &countingWriter{w: c}
	var rw io.ReadWriter = struct {
		io.Reader
		io.Writer
	}{c, cw}
	if cfg != nil {
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("server: TLS handshake: %w", err)
		}
		rw = tc
		if h2 {
			return s.serveH2(tc)
		}
	}
	br := bufio.NewReader(rw)
	bw := bufio.NewWriterSize(rw, 32<<10)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("server: reading a request: %w", err)
		}
		code, content, size := s.body(req.URL.Path)
		resp := &http.Response{
			StatusCode: code, ProtoMajor: 1, ProtoMinor: 1, Request: req,
			Header:        http.Header{"Content-Type": {contentType(req.URL.Path, s.pagePath)}},
			ContentLength: size,
			Body:          io.NopCloser(content),
			Close:         req.Close,
		}
		if err := resp.Write(bw); err != nil {
			return fmt.Errorf("server: writing the response: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("server: writing the response: %w", err)
		}
		if cfg == nil {
			p.respEnds[client] = append(p.respEnds[client], cw.n)
		}
		if req.Close {
			return nil
		}
	}
}

func contentType(path, page string) string {
	if path == page {
		return "text/html; charset=utf-8"
	}
	return "application/octet-stream"
}

// client fetches the page, reads the objects it names, and fetches them
// with the run's strategy.
func (p *pageRun) client(cfg *tls.Config) error {
	n, u := p.n, p.u
	var addr netip.Addr
	if a, err := netip.ParseAddr(u.host); err == nil {
		addr = a
	} else if p.dns != nil {
		a, err := resolveDNS(n, u.host, p.dns)
		if err != nil {
			return p.dns.lookupError(u.host)
		}
		addr = a
		p.dnsDone = n.w.Now()
	} else if addr, err = n.w.Lookup(u.host); err != nil {
		return err
	}
	cl := &h1client{p: p, addr: net.JoinHostPort(addr.String(), strconv.Itoa(int(u.port))), cfg: cfg}
	if p.strategy == stH2 {
		return cl.runH2()
	}
	page := &fetchRecord{path: u.path, mismatch: -1}
	p.fetches = append(p.fetches, page)
	// The page first: its HTML names the objects.
	keep := p.strategy == stPersistent || p.strategy == stPipelined
	c, err := cl.dial()
	if err != nil {
		return err
	}
	if err := cl.get(c, []*fetchRecord{page}, !keep); err != nil {
		c.Close()
		return err
	}
	objs := p.objects(page.body)
	switch p.strategy {
	case stSerial:
		c.Close()
		for _, f := range objs {
			if err := cl.getOn(f); err != nil {
				return err
			}
		}
	case stParallel:
		c.Close()
		next := 0
		var firstErr error
		done := 0
		workers := min(p.parallel, len(objs))
		q := sim.NewWaitQueue("parallel workers")
		for w := 0; w < workers; w++ {
			n.spawn(fmt.Sprintf("client %d", w+1), func(t *sim.Task) {
				defer func() { done++; q.Wake() }()
				for next < len(objs) && firstErr == nil {
					f := objs[next]
					next++
					if err := cl.getOn(f); err != nil && firstErr == nil {
						firstErr = err
					}
				}
			})
		}
		t := n.w.CurrentTask()
		for done < workers {
			t.Wait(q, 0)
		}
		return firstErr
	case stPersistent:
		defer c.Close()
		for _, f := range objs {
			if err := cl.get(c, []*fetchRecord{f}, false); err != nil {
				return err
			}
		}
	case stPipelined:
		defer c.Close()
		return cl.get(c, objs, false)
	}
	return nil
}

// objects turns the page's src attributes into the records to fetch.
func (p *pageRun) objects(page []byte) []*fetchRecord {
	var out []*fetchRecord
	for _, src := range embedded(page) {
		f := &fetchRecord{path: src, mismatch: -1, want: p.sizes[src]}
		out = append(out, f)
		p.fetches = append(p.fetches, f)
	}
	return out
}

// h1client is the HTTP/1.1 client of a run.
type h1client struct {
	p    *pageRun
	addr string
	cfg  *tls.Config
}

// h1conn is one client connection.
type h1conn struct {
	net.Conn
	br    *bufio.Reader
	local netip.AddrPort
}

// dial connects (and, for https, completes the TLS handshake).
func (cl *h1client) dial() (*h1conn, error) {
	n := cl.p.n
	c, err := n.cnet.DialContext(context.Background(), "tcp", cl.addr)
	if err != nil {
		return nil, err
	}
	n.track(c)
	hc := &h1conn{Conn: c}
	if sc, ok := c.(*sim.Conn); ok {
		hc.local = sc.Stack().LocalAddr()
	}
	if cl.cfg != nil {
		tc := tls.Client(c, cl.cfg)
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		cl.p.tlsHS++
		hc.Conn = tc
	}
	hc.br = bufio.NewReader(hc.Conn)
	return hc, nil
}

// getOn fetches f on a connection of its own, closed after it.
func (cl *h1client) getOn(f *fetchRecord) error {
	c, err := cl.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	return cl.get(c, []*fetchRecord{f}, true)
}

// get writes the requests of fs in one flush, then reads the responses in
// order (one request: an ordinary GET; several: pipelining).
func (cl *h1client) get(c *h1conn, fs []*fetchRecord, close bool) error {
	n := cl.p.n
	bw := bufio.NewWriterSize(c, 32<<10)
	reqs := make([]*http.Request, len(fs))
	for i, f := range fs {
		scheme := "http"
		if cl.p.u.https {
			scheme = "https"
		}
		req, err := http.NewRequest(http.MethodGet, (&url.URL{Scheme: scheme, Host: cl.p.u.host, Path: f.path}).String(), http.NoBody)
		if err != nil {
			return err
		}
		if cl.p.u.portGiven {
			req.Host = net.JoinHostPort(cl.p.u.host, strconv.Itoa(int(cl.p.u.port)))
		}
		req.Header.Set("User-Agent", "tcpsim")
		req.Close = close
		if err := req.Write(bw); err != nil {
			return err
		}
		reqs[i] = req
		f.local = c.local
	}
	at := n.w.Now()
	if err := bw.Flush(); err != nil {
		return err
	}
	for i, f := range fs {
		f.requested = at
		resp, err := http.ReadResponse(c.br, reqs[i])
		if err != nil {
			return fmt.Errorf("GET %s: %w", f.path, err)
		}
		f.headers, f.status = n.w.Now(), resp.Status
		err = cl.p.readBody(f, resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("GET %s: %w", f.path, err)
		}
	}
	return nil
}

// readBody reads a response body into f (the page kept, objects compared
// with what the server serves).
func (p *pageRun) readBody(f *fetchRecord, r io.Reader) error {
	var err error
	if len(p.fetches) > 0 && f == p.fetches[0] {
		var b bytes.Buffer
		f.got, err = io.Copy(&b, r)
		f.body = b.Bytes()
		f.want = int64(len(p.html))
		if !bytes.Equal(f.body, p.html) {
			f.mismatch = 0
		}
	} else {
		cmp := newCompareWriter(&genReader{size: f.want})
		f.got, err = io.Copy(cmp, r)
		f.mismatch = cmp.mismatch
	}
	f.done = p.n.w.Now()
	return err
}

// pageTotals are one run's figures, as --compare's table shows them.
type pageTotals struct {
	time        time.Duration // from 0 to the last response's last byte
	conns       int           // connections opened (SYNs sent for)
	tcpHS       int           // three-way handshakes completed
	tlsHS       int
	slowRounds  int
	wireBytes   int64
	wirePackets int
	retrans     int // segments sent again, both directions, every connection
}

func (p *pageRun) totals() pageTotals {
	t := pageTotals{time: p.done, conns: len(p.flows), tlsHS: p.tlsHS, slowRounds: p.slowRounds(), wireBytes: p.wireBytes, wirePackets: p.wirePackets}
	for _, f := range p.flows {
		if f.Established {
			t.tcpHS++
		}
		t.retrans += f.Dir[0].Retrans + f.Dir[1].Retrans
	}
	return t
}

// timeText is the page's total time, "1.234567 s", or "incomplete".
func (p *pageRun) timeText() string {
	if !p.complete {
		return "incomplete"
	}
	return strings.TrimSpace(fmtTime(p.done)) + " s"
}

// flowIndex is the number of the connection whose client end is local.
func (p *pageRun) flowIndex(local netip.AddrPort) int {
	for _, f := range p.flows {
		if f.Client == local {
			return f.Index
		}
	}
	return 0
}

// printPageRun prints the responses, the connections and the totals.
func printPageRun(w io.Writer, p *pageRun) {
	if p.dns != nil {
		if p.dnsDone > 0 {
			fmt.Fprintf(w, "DNS: asked %v for %s (A), answered at %s after %s\n", p.dns.server, p.u.host, strings.TrimSpace(fmtTime(p.dnsDone)), p.dns.queries())
		} else {
			_, text := p.dns.failure(p.u.host, p.n.w.Now())
			fmt.Fprintln(w, text)
		}
	}
	fmt.Fprintln(w, "responses (virtual seconds: request written, response headers read, body read to its end; conn is the connection's number below):")
	fmt.Fprintf(w, "  %4s  %-24s %10s  %4s %s%10s  %10s  %10s  %s\n", "#", "path", "bytes", "conn", streamHead(p), "asked", "headers", "done", "status")
	for i, f := range p.fetches {
		status := f.status
		if status == "" {
			status = "no response"
		}
		fmt.Fprintf(w, "  %4d  %-24s %10d  %4d %s %s  %s  %s  %s\n", i, f.path, f.got, p.flowIndex(f.local), streamCol(p, f),
			fmtTime(f.requested), fmtTime(f.headers), fmtTime(f.done), status)
	}
	var body int64
	for _, f := range p.fetches {
		body += f.got
	}
	if p.complete {
		fmt.Fprintf(w, "page: %d response(s), %d body bytes, the last read at %s s\n", len(p.fetches), body, strings.TrimSpace(fmtTime(p.done)))
	} else {
		read := 0
		for _, f := range p.fetches {
			if f.done > 0 {
				read++
			}
		}
		fmt.Fprintf(w, "page: incomplete: %d response(s) read to the end, %d body bytes, when the run ended at %s s\n", read, body, strings.TrimSpace(fmtTime(p.n.w.Now())))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "connections, each by its 4-tuple (client address:port -> server address:port), numbered in the order of their SYNs;")
	fmt.Fprintln(w, "bytes are TCP payload with retransmissions, packets those sent, retrans the segments sent again; FIN is each side's first:")
	fmt.Fprintf(w, "  %4s  %-32s %10s  %10s  %10s  %17s  %13s  %9s\n", "#", "4-tuple", "SYN", "FIN client", "FIN server", "bytes c->s/s->c", "packets", "retrans")
	for _, f := range p.flows {
		c2s, s2c := &f.Dir[0], &f.Dir[1]
		fin := func(d *Direction) string {
			if d.FINs == 0 {
				return fmt.Sprintf("%10s", "-")
			}
			return fmtTime(d.FINAt)
		}
		fmt.Fprintf(w, "  %4d  %-32s %s  %s  %s  %17s  %13s  %9s\n", f.Index, fmt.Sprintf("%v -> %v", f.Client, f.Server),
			fmtTime(f.SYNAt), fin(c2s), fin(s2c),
			fmt.Sprintf("%d/%d", c2s.Payload, s2c.Payload), fmt.Sprintf("%d/%d", c2s.Packets, s2c.Packets), fmt.Sprintf("%d/%d", c2s.Retrans, s2c.Retrans))
	}
	printHostDrops(w, "  ", p.n)
	fmt.Fprintln(w)
	t := p.totals()
	fmt.Fprintf(w, "totals: time %s, %d connection(s), %d TCP handshake(s), %d TLS handshake(s), %d round trip(s) in slow start, %d bytes on the wire in %d packets, %d retransmission(s)\n",
		p.timeText(), t.conns, t.tcpHS, t.tlsHS, t.slowRounds, t.wireBytes, t.wirePackets, t.retrans)
	fmt.Fprintln(w, slowStartNote)
}

// slowStartNote defines the slow-start column.
const slowStartNote = "(a round trip of a connection begins with the server's first new data segment sent once SND.UNA has reached the end of the previous round's first segment; it is in slow start when cwnd < ssthresh as that segment leaves)"

func streamHead(p *pageRun) string {
	if p.strategy == stH2 {
		return fmt.Sprintf("%6s ", "stream")
	}
	return ""
}

func streamCol(p *pageRun, f *fetchRecord) string {
	if p.strategy == stH2 {
		return fmt.Sprintf("%6d ", f.stream)
	}
	return ""
}

// runCompare fetches the page with every strategy, each on a world of its
// own with the same link and seed, and prints the table.
func runCompare(w io.Writer, o *options, u getURL) error {
	printPageHeader(w, o, u, "", 0)
	fmt.Fprintf(w, "every strategy on the same link and seed")
	if !u.https {
		fmt.Fprintf(w, "; h2 runs over TLS (https://, port %d), the others over plain TCP", 443)
	}
	fmt.Fprintln(w, ":")
	fmt.Fprintf(w, "  %-12s %10s  %5s  %6s  %6s  %10s  %10s  %7s  %7s\n", "strategy", "time (s)", "conns", "TCP hs", "TLS hs", "slow start", "wire bytes", "packets", "retrans")
	var failed error
	runs := make([]*pageRun, 0, len(strategies))
	for _, s := range strategies {
		p, err := fetchPage(o, u, s, o.pages.parallel.V, nil)
		if err != nil {
			return err
		}
		runs = append(runs, p)
		t := p.totals()
		mark := ""
		if err := p.failure(); err != nil {
			mark = "  (failed: " + err.Error() + ")"
			if failed == nil {
				failed = err
			}
		}
		fmt.Fprintf(w, "  %-12s %10s  %5d  %6d  %6d  %10d  %10d  %7d  %7d%s\n", strategyName(s, o.pages.parallel.V), strings.TrimSuffix(p.timeText(), " s"),
			t.conns, t.tcpHS, t.tlsHS, t.slowRounds, t.wireBytes, t.wirePackets, t.retrans, mark)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "time: from 0 (the DNS query) to the last response's last byte read; conns: connections opened; hs: handshakes completed;")
	fmt.Fprintln(w, "slow start: round trips in slow start, summed over the connections; wire bytes: IP packets sent, headers and retransmissions included.")
	fmt.Fprintln(w, slowStartNote)
	fmt.Fprintln(w)
	printCompareConns(w, runs)
	return failed
}

// printCompareConns lists, for each strategy of --compare, the connections
// its run opened, each by its 4-tuple, in the order of their first SYNs
// (the analyzer's order, the same for the same seed).
func printCompareConns(w io.Writer, runs []*pageRun) {
	fmt.Fprintln(w, "connections (4-tuple: client address:port -> server address:port) of each strategy, numbered in the order of their SYNs:")
	for _, p := range runs {
		name := strategyName(p.strategy, p.parallel)
		if len(p.flows) == 0 {
			fmt.Fprintf(w, "  %-12s none\n", name)
			continue
		}
		for i, f := range p.flows {
			fmt.Fprintf(w, "  %-12s %4d  %v -> %v\n", name, f.Index, f.Client, f.Server)
			if i == 0 {
				name = ""
			}
		}
	}
}

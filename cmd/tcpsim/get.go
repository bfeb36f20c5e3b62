package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/simdns"
)

// verboseHeader introduces the -v lines.
const verboseHeader = "packets (virtual seconds: when the sender sent it, or when the link acted on it; sender or link; the packet as tcpdump -n prints it, sequence numbers relative unless -S; [expert marks]):"

// getResult is what the client task saw.
type getResult struct {
	status     string
	bodyLen    int64          // body bytes read, when the read ended
	body       *compareWriter // the body as it is read (nil before the headers)
	bodyDone   bool           // the whole body was read
	pageSize   int64
	mismatch   int64 // offset of the first byte that differs from the page, or -1
	reqHeader  int   // bytes of the request as written
	resolved   netip.Addr
	fromTable  bool
	err        error
	serverErr  error
	clientDone time.Duration
	tls        *tlsInfo   // https only
	split      *splitInfo // --split-request only (repeat.go)
	dns        *dnsInfo   // --dns on with a host name only
}

func runGet(stdout io.Writer, o *options, u getURL) error {
	if o.demo.repeat.V > 0 {
		return runRepeat(stdout, o, u) // repeat.go
	}
	defer oneThread()()
	body, err := o.pageSource()
	if err != nil {
		return err
	}
	res := getResult{mismatch: -1, pageSize: body.size}
	var verbose io.Writer
	if o.verbose {
		verbose = stdout
	}
	prog := newProgress(o.progress, body.size)
	n, err := newNetwork(o, verbose, prog)
	if err != nil {
		return err
	}
	defer n.close()
	serverAddr := n.serverAddr
	if _, err := netip.ParseAddr(u.host); err != nil {
		if err := n.w.AddHostEntry(u.host, serverAddr); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "tcpsim get %s (seed %d)\n", u.raw, o.seed)
	if t := n.describeTopology(o); t != "" {
		fmt.Fprintln(stdout, t)
	}
	fmt.Fprintf(stdout, "link: %s\n", o.describeLink())
	o.printCC(stdout)
	dnsNote := ""
	if _, err := netip.ParseAddr(u.host); err != nil && bool(o.dns) {
		dnsNote = fmt.Sprintf(" and answers DNS for %s on port %d", u.host, simdns.Port)
	}
	fmt.Fprintf(stdout, "hosts: client %v, server %v; %s serves %d bytes on port %d%s\n",
		n.clientAddr, serverAddr, serverName, body.size, u.port, dnsNote)
	var cliTLS, srvTLS *tls.Config
	if u.https {
		if cliTLS, srvTLS, err = tlsConfigs(u.host, o.tlsVer.version(), uint64(o.seed), n.w.Epoch()); err != nil {
			return err
		}
		res.tls = &tlsInfo{request: offsetWatch{node: clientName, off: -1}}
		n.an.also = res.tls.request.event
		fmt.Fprintf(stdout, "https: %s with a certificate for %s made for this run; %s\n",
			tls.VersionName(o.tlsVer.version()), u.host, tlsNote)
	}
	if o.demo.split {
		res.split = &splitInfo{sent: offsetWatch{node: clientName, off: -1}}
		n.an.also = res.split.sent.event
	}
	fmt.Fprintln(stdout)
	if o.verbose {
		fmt.Fprintln(stdout, verboseHeader)
	}

	if _, err := netip.ParseAddr(u.host); err != nil && bool(o.dns) {
		res.dns = &dnsInfo{server: netip.AddrPortFrom(serverAddr, simdns.Port)}
	}
	timedOut, runErr := runGetLoop(n, o, u, body, &res, cliTLS, srvTLS) // getloop.go
	prog.done()
	if err := n.finish(); err != nil {
		return err
	}
	if err := n.finishSeries(o); err != nil {
		return err
	}
	if o.verbose {
		fmt.Fprintln(stdout)
	}
	if l := n.an.ladder; l != nil {
		l.print(stdout, o.ladder.glyphs(), "client "+l.end(n.clientAddr, l.cport), "server "+l.end(serverAddr, l.sport))
	}
	printStory(stdout, n, u, &res)
	if n.ivSeries != nil {
		fmt.Fprintln(stdout)
		printIperfIntervals(stdout, n.ivSeries)
	}
	printHostDrops(stdout, "  ", n)
	if err := n.writeReport(o, fmt.Sprintf("tcpsim get %s (seed %d)", u.raw, o.seed), storySteps(n, u, &res)); err != nil {
		return err
	}
	switch {
	case timedOut:
		return fmt.Errorf("GET did not complete within --timeout %v of virtual time (the story above shows how far it got; a longer --timeout lets it go on)", time.Duration(o.timeout))
	case runErr != nil:
		return runErr
	case res.err != nil:
		return fmt.Errorf("GET %s failed: %v", u.raw, res.err)
	case res.serverErr != nil:
		return res.serverErr
	case res.bodyLen != body.size:
		return fmt.Errorf("GET %s: body has %d bytes, the server sent %d", u.raw, res.bodyLen, body.size)
	case res.mismatch >= 0:
		return fmt.Errorf("GET %s: body differs from what the server sent at byte %d", u.raw, res.mismatch)
	}
	return nil
}

// serve answers one request with net/http's own reader and writer, over
// TLS when cfg is set; with ti, the handshake's writes are recorded there.
func serve(n *network, ln net.Listener, body page, cfg *tls.Config, ti *tlsInfo) error {
	at := n.w.Now()
	c, err := ln.Accept()
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		return err
	}
	n.track(c)
	n.sockCall("server", "accept", at, 0, nil)
	c = n.traced("server", c)
	defer c.Close()
	if cfg != nil {
		var under net.Conn = c
		if t := ti; t != nil {
			t.served = countingConn{Conn: c, side: "server", now: n.w.Now, rec: &t.writes}
			under = &t.served
		}
		tc := tls.Server(under, cfg)
		err := tc.Handshake()
		if t := ti; t != nil {
			t.served.rec = nil
		}
		if err != nil {
			return fmt.Errorf("server: TLS handshake: %w", err)
		}
		c = tc
	}
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return fmt.Errorf("server: reading the request: %w", err)
	}
	content, err := body.open()
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	defer content.Close()
	resp := &http.Response{
		StatusCode:    http.StatusOK,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Request:       req,
		Header:        http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		ContentLength: body.size,
		Body:          content,
		Close:         true,
	}
	bw := bufio.NewWriterSize(c, 32<<10)
	if err := resp.Write(bw); err != nil {
		return fmt.Errorf("server: writing the response: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("server: writing the response: %w", err)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// loopSlack is how much later than the write a packet may leave and still
// count as sent at once: on the virtual loop the stack takes up a write
// a few nanoseconds after the goroutine made it.
const loopSlack = time.Microsecond

// printStory walks the seven steps of fetching a page, each with its
// virtual time, then the 4-tuple and the summary.
func printStory(w io.Writer, n *network, u getURL, res *getResult) {
	step := func(i int, t time.Duration, format string, args ...any) {
		fmt.Fprintf(w, "%d %s  %s\n", i, fmtTime(t), fmt.Sprintf(format, args...))
	}
	fmt.Fprintln(w, "steps (time in seconds of virtual time):")
	step(1, 0, "host name from the URL: %s", u.host)
	switch {
	case res.dns != nil:
		d := res.dns
		switch {
		case res.resolved.IsValid():
			step(2, d.done, "DNS: asked %v for %s (A): %v, answered at %s after %s",
				d.server, u.host, res.resolved, strings.TrimSpace(fmtTime(d.done)), d.queries())
		default:
			// No address: the fetch ends at step 2, nothing else was sent.
			at, text := d.failure(u.host, n.now())
			step(2, at, "%s", text)
			return
		}
	case res.fromTable:
		step(2, 0, "hosts table: %s is %v", u.host, res.resolved)
	case res.resolved.IsValid():
		step(2, 0, "%s is an IP address: no lookup", u.host)
	default:
		step(2, 0, "hosts table: no entry for %s", u.host)
	}
	scheme := "http"
	if u.https {
		scheme = "https"
	}
	var portAt time.Duration // the port is used once the address is known
	if res.dns != nil {
		portAt = res.dns.done
	}
	if u.portGiven {
		step(3, portAt, "port %d, from the URL", u.port)
	} else {
		step(3, portAt, "port %d, the default for %s", u.port, scheme)
	}
	var f *Flow
	if len(n.an.Flows()) > 0 {
		f = n.an.Flows()[0]
	}
	if f == nil {
		step(4, 0, "no SYN was sent: %v", res.err)
		return
	}
	c2s, s2c := &f.Dir[0], &f.Dir[1]
	if !f.Established {
		// The time is when the client gave up (or the run ended), which
		// is after its last SYN.
		step(4, max(f.LastAt, n.now()), "three-way handshake not completed: %d SYN(s) sent, %d dropped on the link, %d packet(s) back",
			c2s.SYNs, c2s.Dropped, f.Dir[1].Packets)
		fmt.Fprintln(w)
		printSummary(w, "", f)
		return
	}
	synTries := ""
	if c2s.SYNs > 1 {
		synTries = fmt.Sprintf(" (SYN sent %d times)", c2s.SYNs)
	}
	step(4, f.ACKAt, "three-way handshake: SYN at %s, SYN-ACK at %s, ACK at %s%s",
		strings.TrimSpace(fmtTime(f.SYNAt)), strings.TrimSpace(fmtTime(f.SYNACKAt)), strings.TrimSpace(fmtTime(f.ACKAt)), synTries)
	if t := res.tls; t != nil {
		// The handshake's own line, under step 4: it is what https adds.
		rtt := f.ACKAt - f.SYNAt // the client sends its ACK when the SYN-ACK arrives
		switch {
		case t.err != nil:
			fmt.Fprintf(w, "  %s  TLS handshake failed after %s s: %v\n", fmtTime(max(t.done, t.start)), strings.TrimSpace(fmtTime(t.done-t.start)), t.err)
		case t.done > t.start:
			fs := flights(t.writes)
			trips := roundTrips(fs, t.done)
			took := ""
			if rtt > 0 {
				took = fmt.Sprintf(", %s s = %.1f × the %s s RTT", strings.TrimSpace(fmtTime(t.done-t.start)), float64(t.done-t.start)/float64(rtt), strings.TrimSpace(fmtTime(rtt)))
			}
			fmt.Fprintf(w, "  %s  TLS handshake: %s; %d round trip(s) before the request: ClientHello at %s, done at %s%s\n", fmtTime(t.done), t.describe(),
				trips, strings.TrimSpace(fmtTime(t.start)), strings.TrimSpace(fmtTime(t.done)), took)
			for _, f := range fs {
				after := ""
				if f.at > t.done {
					after = " (after the client's handshake was over)"
				}
				fmt.Fprintf(w, "              %s  %-6s  %s (%d bytes)%s\n", fmtTime(f.at), f.side, strings.Join(f.records, ", "), f.bytes, after)
			}
		}
	}
	if res.tls != nil {
		// When the request's first record left, which can be after the
		// handshake ended (Nagle holds it while the Finished is unacknowledged).
		at := res.tls.request.at
		if !res.tls.request.seen {
			at = res.tls.done
		}
		held := ""
		if at > res.tls.done+loopSlack && !n.client.Config().NoDelay {
			held = fmt.Sprintf(" (written at %s: Nagle's algorithm held it until the client's Finished was acknowledged; --nodelay sends it at once)",
				strings.TrimSpace(fmtTime(res.tls.done)))
		}
		step(5, at, "GET %s sent: %d bytes of request headers, encrypted%s; the client's TLS and HTTP data in %s", u.path, res.reqHeader, held, segmentsLine(c2s))
	} else if res.split != nil {
		cfg := n.client.Config()
		at, text := res.split.splitStep(u.path, f, cfg.NoDelay, max(cfg.DelayedAck, 0))
		step(5, at, "%s", text)
	} else {
		step(5, c2s.FirstData, "GET %s sent: %d bytes of request headers in %s", u.path, res.reqHeader, segmentsLine(c2s))
	}
	status := res.status
	if status == "" {
		status = "no complete response"
	}
	bodyLen := res.bodyLen
	if res.body != nil {
		bodyLen = res.body.n // also when the run ended in the middle of the body
	}
	if res.body != nil && !res.bodyDone {
		step(6, s2c.LastData, "response %q incomplete: %d of %d body bytes read; server sent %d bytes with headers in %s, %d dropped on the link",
			status, bodyLen, res.pageSize, s2c.Payload-retransBytes(s2c), segmentsLine(s2c), s2c.Dropped)
	} else {
		step(6, s2c.LastData, "response %q back: %d body bytes (%d with headers) in %s, %d dropped on the link",
			status, bodyLen, s2c.Payload-retransBytes(s2c), segmentsLine(s2c), s2c.Dropped)
	}
	closeAt := max(c2s.FINAt, s2c.FINAt)
	first := "server"
	if c2s.FINs > 0 && (s2c.FINs == 0 || c2s.FINAt < s2c.FINAt) {
		first = "client"
	}
	if c2s.FINs > 0 && s2c.FINs > 0 {
		step(7, f.LastAt, "close: %s sent the first FIN; FINs at %s (server) and %s (client), last packet at %s",
			first, strings.TrimSpace(fmtTime(s2c.FINAt)), strings.TrimSpace(fmtTime(c2s.FINAt)), strings.TrimSpace(fmtTime(f.LastAt)))
	} else {
		step(7, max(closeAt, f.LastAt), "close: not completed (%d FIN from the client, %d from the server, %d resets)", c2s.FINs, s2c.FINs, f.Resets)
	}
	fmt.Fprintln(w)
	printSummary(w, "", f)
}

// segmentsLine counts a direction's data segments, first transmissions and
// retransmissions apart: "8 segment(s) and 1 retransmission(s)".
func segmentsLine(d *Direction) string {
	return fmt.Sprintf("%d segment(s) and %d retransmission(s)", d.DataSegs-d.DataRetrans, d.DataRetrans)
}

// retransBytes is the payload sent more than once.
func retransBytes(d *Direction) int64 { return d.RetransBytes() }

// printSummary prints the 4-tuple and the counts of one flow.
func printSummary(w io.Writer, label string, f *Flow) {
	c2s, s2c := &f.Dir[0], &f.Dir[1]
	fmt.Fprintf(w, "%sconnection %v -> %v\n", label, f.Client, f.Server)
	ind := "  "
	dur := f.LastAt - f.SYNAt
	fmt.Fprintf(w, "%sbytes        client->server %d, server->client %d (TCP payload, retransmissions included)\n", ind, c2s.Payload, s2c.Payload)
	fmt.Fprintf(w, "%spackets      client sent %d, server sent %d; delivered %d and %d\n", ind, c2s.Packets, s2c.Packets, c2s.Delivered, s2c.Delivered)
	fmt.Fprintf(w, "%sretransmits  client %d, server %d\n", ind, c2s.Retrans, s2c.Retrans)
	fmt.Fprintf(w, "%slink faults  %s\n", ind, faultLine(c2s, s2c))
	fmt.Fprintf(w, "%sduration     %s s (first SYN to last packet)\n", ind, strings.TrimSpace(fmtTime(dur)))
	// Goodput: bytes of the bigger direction, from its first data segment
	// to the delivery of its last one.
	d := s2c
	if c2s.Payload > s2c.Payload {
		d = c2s
	}
	unique := d.Payload - retransBytes(d)
	if d.HasData && d.HasLastData && d.LastData > d.FirstData {
		span := d.LastData - d.FirstData
		fmt.Fprintf(w, "%sgoodput      %s (%d bytes in %s s)\n", ind, formatBitRate(float64(unique)*8/span.Seconds()), unique, strings.TrimSpace(fmtTime(span)))
	}
	if f.SYNACKDeliveredAt > 0 {
		fmt.Fprintf(w, "%sRTT          %.3f ms (SYN to SYN-ACK)", ind, ms(f.SYNACKDeliveredAt-f.SYNAt))
		if r := &d.RTT; r.Count() > 0 {
			fmt.Fprintf(w, "; data min/avg/max %.3f/%.3f/%.3f ms (%d sample(s))", ms(r.Min()), ms(r.Mean()), ms(r.Max()), r.Count())
		}
		fmt.Fprintln(w)
	}
}

func faultLine(ds ...*Direction) string {
	drops := map[string]int{}
	dup, cor, del := 0, 0, 0
	for _, d := range ds {
		del += d.Delayed
		for r, n := range d.DropReasons {
			drops[r] += n
		}
		dup += d.Duplicated
		cor += d.Corrupted
	}
	var parts []string
	for _, r := range sortedKeys(drops) {
		parts = append(parts, fmt.Sprintf("%d dropped (%s)", drops[r], r))
	}
	if dup > 0 {
		parts = append(parts, fmt.Sprintf("%d duplicated", dup))
	}
	if cor > 0 {
		parts = append(parts, fmt.Sprintf("%d corrupted", cor))
	}
	if del > 0 {
		parts = append(parts, fmt.Sprintf("%d reordered or delayed", del))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func formatBitRate(bps float64) string {
	switch {
	case bps >= 1e9:
		return fmt.Sprintf("%.3f Gbit/s", bps/1e9)
	case bps >= 1e6:
		return fmt.Sprintf("%.3f Mbit/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.3f kbit/s", bps/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", bps)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

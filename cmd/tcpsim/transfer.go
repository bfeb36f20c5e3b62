package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/flows"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

const transferPort = 5001

// portsPerClient is the ephemeral ports of one client address toward one
// server port (RFC 6335's range 49152–65535), which bounds the flows one
// client host can open: a port in TIME_WAIT (60 s) is not reused.
const portsPerClient = 16384

// flowsPerClient is how many flows each client host gets when --clients is
// not given: 10,000 flows or fewer keep the single client of two hosts on
// one link, and more are spread over a star of client hosts.
const flowsPerClient = 10000

// maxFlows bounds --flows.
const maxFlows = 10_000_000

// resolveClients sets clientHosts from --clients and --flows and checks
// that each client host has ports for its flows.
func (o *options) resolveClients(fs *pflag.FlagSet) error {
	flows := o.flows.V
	o.clientHosts = o.clients.V
	if t := o.topology; t.shape != "" {
		if fs.Changed("clients") {
			return fmt.Errorf("--clients %d and --topology %s are exclusive: --topology star:N is --clients N, and the count of a --topology is its number of hosts", o.clients.V, t.String())
		}
		o.clientHosts = 1
		if t.shape != shapeChain {
			o.clientHosts = t.n
		}
	}
	if o.clientHosts == 0 {
		o.clientHosts = (flows + flowsPerClient - 1) / flowsPerClient
	}
	if per := (flows + o.clientHosts - 1) / o.clientHosts; per > portsPerClient && o.topology.shape != "" {
		hint := fmt.Sprintf("give --topology %s:%d or more", o.topology.shape, (flows+portsPerClient-1)/portsPerClient)
		if o.topology.shape == shapeChain {
			hint = fmt.Sprintf("a chain has one client host: at most %d flows", portsPerClient)
		}
		return fmt.Errorf("--flows %d over --topology %s is %d flows per client host; one client address has %d ports toward the server's port (%s)",
			flows, o.topology.String(), per, portsPerClient, hint)
	} else if per > portsPerClient {
		return fmt.Errorf("--flows %d over --clients %d is %d flows per client host; one client address has %d ports toward the server's port (give --clients %d or more)",
			flows, o.clientHosts, per, portsPerClient, (flows+portsPerClient-1)/portsPerClient)
	}
	return nil
}

// runTransfer sends --size bytes from the client to the server on each of
// --flows connections at once, then prints a summary per flow.
func runTransfer(stdout io.Writer, o *options) error {
	defer oneThread()()
	var verbose io.Writer
	if o.verbose {
		verbose = stdout
	}
	size := int64(o.size)
	flows := o.flows.V
	total := size * int64(flows)
	if o.bidir {
		total *= 2
	}
	if o.duration > 0 {
		total = 0 // unknown in advance
	}
	prog := newProgress(o.progress, total)
	n, err := newNetwork(o, verbose, prog)
	if err != nil {
		return err
	}
	defer n.close()
	n.bidir = o.bidir
	if len(o.ccFlows) > 0 {
		n.flowCC = make(map[netip.AddrPort]string, len(o.ccFlows))
	}
	if err := n.w.AddHostEntry("server.example", n.serverAddr); err != nil {
		return err
	}
	text := !o.json && !o.csv
	if text {
		amount := flagval.FormatSize(size)
		if o.duration > 0 {
			amount = time.Duration(o.duration).String() + " of sending"
		}
		from, to := "from client "+n.clientAddr.String(), "to server "+n.serverAddr.String()
		if k := len(n.clients); k > 1 {
			from = fmt.Sprintf("from %d client hosts %v to %v (via a router)", k, n.clientAddr, n.clients[k-1].Addrs()[0].Addr())
		}
		if k := len(n.servers); k > 1 {
			from = fmt.Sprintf("from %d client hosts %v … %v", len(n.clients), n.clientAddr, n.clients[len(n.clients)-1].Addrs()[0].Addr())
			to = fmt.Sprintf("to %d servers %v … %v (each client its own)", k, n.serverAddr, n.servers[k-1].Addrs()[0].Addr())
		}
		switch {
		case o.reverse:
			from, to = "from server "+n.serverAddr.String(), "to client "+n.clientAddr.String()
		case o.bidir:
			from, to = "each way between client "+n.clientAddr.String(), "and server "+n.serverAddr.String()
		}
		fmt.Fprintf(stdout, "tcpsim transfer: %d flow(s) of %s %s %s port %d (seed %d)\n",
			flows, amount, from, to, transferPort, o.seed)
		if o.startSpread > 0 {
			fmt.Fprintf(stdout, "starts: spread evenly over %v\n", time.Duration(o.startSpread))
		}
		if t := n.describeTopology(o); t != "" {
			fmt.Fprintln(stdout, t)
		}
		fmt.Fprintf(stdout, "link: %s\n", o.describeLink())
		o.printCC(stdout)
		fmt.Fprintln(stdout)
	}
	if o.verbose {
		fmt.Fprintln(stdout, verboseHeader)
	}

	// Each server listens (listen below).
	var serverErrs []error
	var lns []*stack.Listener
	for _, srv := range n.servers {
		ln, err := srv.Listen(transferPort, min(flows, 65535)) // the most a listener takes
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		listen(n, o, ln, size, &serverErrs)
	}
	received := make([]int64, flows)
	errs := make([]error, flows)
	clientsLeft := flows
	flow := func(i int, t *sim.Task) {
		defer func() {
			if clientsLeft--; clientsLeft == 0 {
				for _, ln := range lns {
					ln.Close()
				}
			}
		}()
		send := size
		if o.reverse {
			send = 0
		}
		until := time.Duration(-1)
		if o.duration > 0 {
			until = t.Now() + time.Duration(o.duration)
		}
		// Flow i is dealt to client host i mod N.
		errs[i] = sendFlow(n, n.cnets[i%len(n.cnets)], n.dial[i%len(n.dial)], o.flowCC(i), send, until, &received[i])
	}
	// Flow i starts at i·spread/flows, in index order, so that the
	// analyzer's flows (in the order of their first SYN) are the tasks'.
	// One task starts them as their times come, so that a flow's task
	// (a goroutine and its stack) exists only while the flow runs.
	n.spawn("flow starter", func(t *sim.Task) {
		for i := range flows {
			t.SleepUntil(time.Duration(int64(o.startSpread) * int64(i) / int64(flows)))
			n.spawn(fmt.Sprintf("flow %d", i+1), func(t *sim.Task) { flow(i, t) })
		}
	})
	var intervals []intervalRow
	if o.interval > 0 {
		iv := time.Duration(o.interval)
		n.spawn("interval reports", func(t *sim.Task) {
			var last int64
			for from := time.Duration(0); clientsLeft > 0; from += iv {
				t.SleepUntil(from + iv)
				acked := n.an.acked()
				intervals = append(intervals, intervalRow{From: from.Seconds(), To: (from + iv).Seconds(), Bytes: acked - last,
					Bps: float64(acked-last) * 8 / iv.Seconds()})
				last = acked
			}
		})
	}
	runErr := n.w.Run()
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
	fs := n.an.Flows()
	for i, err := range errs {
		if err != nil && i < len(fs) {
			fs[i].Failure = failureText(err)
		}
	}
	if err := report(stdout, o, n, fs, intervals, runErr); err != nil {
		return err
	}
	if err := n.writeReport(o, fmt.Sprintf("tcpsim transfer: %d flow(s) of %s (seed %d)", flows, flagval.FormatSize(size), o.seed), nil); err != nil {
		return err
	}
	switch {
	case errors.Is(runErr, sim.ErrTimeLimit):
		return fmt.Errorf("transfer did not complete within --timeout %v of virtual time (the summaries above show how far it got; a longer --timeout lets it go on)", time.Duration(o.timeout))
	case runErr != nil:
		return runErr
	}
	failed, first := 0, -1
	for i, err := range errs {
		if err != nil {
			if failed++; first < 0 {
				first = i
			}
		}
	}
	switch {
	case failed == 1:
		return fmt.Errorf("flow %d failed: %v", first+1, errs[first])
	case failed > 1:
		return fmt.Errorf("%d of %d flows failed; the first, flow %d: %v", failed, flows, first+1, errs[first])
	}
	if len(serverErrs) > 0 {
		return fmt.Errorf("server: %v", serverErrs[0])
	}
	return nil
}

// listen makes ln an event-driven sink on the stack's own socket API: it
// reads whatever arrives from inside the readiness callback, with no task
// switch per segment, and closes on the client's FIN; with --reverse or
// --bidir it also sends.
func listen(n *network, o *options, ln *stack.Listener, size int64, serverErrs *[]error) {
	ln.SetNotify(func(stack.Event) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.addConn(c)
			if cc := n.flowCC[c.RemoteAddr()]; cc != "" && cc != c.CongestionControl() {
				// --cc's algorithm for this flow at the server's end
				// too, from the first data it sends.
				if err := c.SetCongestionControl(cc); err != nil {
					*serverErrs = append(*serverErrs, err)
				}
			}
			if !o.reverse && !o.bidir {
				c.SetNotify(func(stack.Event) { drain(c, serverErrs) })
				drain(c, serverErrs)
				continue
			}
			// --reverse and --bidir: the server also sends, for --size
			// bytes or until --time has passed since the connection began.
			s := &serverSender{c: c, w: n.w, size: size, until: n.w.Now() + time.Duration(o.duration), errs: serverErrs}
			if o.duration == 0 {
				s.until = -1
			}
			c.SetNotify(func(stack.Event) { s.step() })
			s.step()
		}
	})
}

// sinkChunk is how many bytes drain consumes per call, as a reader with a
// buffer of that size would (the window updates depend on it).
const sinkChunk = 64 << 10

// drain discards everything c has received, without copying it out; at the
// client's FIN it closes c. It runs in scheduler context.
func drain(c *stack.Conn, errs *[]error) {
	for {
		_, err := c.Discard(sinkChunk)
		switch {
		case err == nil:
			continue
		case err == stack.ErrWouldBlock:
			// Nothing more for now: the common end of a call, tested
			// first because errors.Is costs more than the rest of it.
		case errors.Is(err, stack.ErrWouldBlock), errors.Is(err, stack.ErrClosed):
		case errors.Is(err, io.EOF):
			c.Close()
		default:
			*errs = append(*errs, err)
			c.Close()
		}
		return
	}
}

// serverSender is the server's side of a --reverse or --bidir flow: in the
// readiness callback it discards what arrives, writes the pattern for size
// bytes (or until the virtual time until, when until ≥ 0), half-closes,
// and closes once the client's FIN has arrived too.
type serverSender struct {
	c           *stack.Conn
	w           *sim.World
	size, sent  int64
	until       time.Duration
	eof, closed bool
	wrDone      bool
	errs        *[]error
}

func (s *serverSender) step() {
	if s.closed {
		return
	}
	for !s.eof {
		_, err := s.c.Discard(sinkChunk)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			s.eof = true
		} else if !errors.Is(err, stack.ErrWouldBlock) {
			*s.errs = append(*s.errs, err)
			s.closed = true
			s.c.Close()
			return
		}
		break
	}
	for !s.wrDone {
		more := s.sent < s.size
		if s.until >= 0 {
			more = s.w.Now() < s.until
		}
		if !more {
			s.wrDone = true
			s.c.CloseWrite()
			break
		}
		chunk := flowPattern[:]
		if s.until < 0 {
			chunk = chunk[:min(int64(len(chunk)), s.size-s.sent)]
		}
		m, err := s.c.Write(chunk)
		s.sent += int64(m)
		if errors.Is(err, stack.ErrWouldBlock) {
			break
		}
		if err != nil {
			*s.errs = append(*s.errs, err)
			s.closed = true
			s.c.Close()
			return
		}
	}
	if s.eof && s.wrDone {
		s.closed = true
		s.c.Close()
	}
}

// flowPattern is what every flow writes, over and over: shared, since the
// stack copies it into its send ring (one 64 KiB array per flow would be
// 640 MB to allocate and fill for 10,000 flows).
var flowPattern = func() (b [64 << 10]byte) {
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}()

// sendFlow dials the server, writes size bytes (or, when until ≥ 0, as
// much as it can until that virtual time; nothing when size is 0),
// half-closes and reads until the server's close. With n.flowCC, the
// connection runs the congestion control cc from its SYN on, and its
// client end is recorded for the server's end to follow.
func sendFlow(n *network, cnet *sim.Net, addr, cc string, size int64, until time.Duration, done *int64) error {
	ctx := context.Background()
	if n.flowCC != nil {
		ctx = sim.WithConnSetup(ctx, func(sc *stack.Conn) error {
			n.flowCC[sc.LocalAddr()] = cc
			if cc == sc.CongestionControl() {
				return nil
			}
			return sc.SetCongestionControl(cc)
		})
	}
	c, err := cnet.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	n.track(c)
	defer c.Close()
	// When both ends send (--bidir), a task of its own reads meanwhile, so
	// that the server is not held up by a full receive buffer.
	var readErr error
	readDone := false
	done2 := sim.NewWaitQueue("transfer reader")
	if size > 0 && n.bidir {
		n.spawn("reader", func(*sim.Task) {
			_, readErr = io.Copy(io.Discard, c)
			readDone = true
			done2.WakeAll()
		})
	}
	buf := flowPattern[:]
	if until >= 0 && size > 0 {
		// --time: a write still blocked at the end returns at once.
		c.SetWriteDeadline(n.w.Epoch().Add(until))
	}
	for size > 0 && (until < 0 && *done < size || until >= 0 && n.w.Now() < until) {
		chunk := buf
		if until < 0 {
			chunk = buf[:min(int64(len(buf)), size-*done)]
		}
		m, err := c.Write(chunk)
		*done += int64(m)
		if until >= 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return err
		}
	}
	c.SetWriteDeadline(time.Time{})
	if err := c.(*sim.Conn).CloseWrite(); err != nil {
		return err
	}
	if size > 0 && n.bidir {
		for !readDone {
			n.w.CurrentTask().Wait(done2, 0)
		}
		return readErr
	}
	// Wait for the server's FIN: all data was received.
	_, err = io.Copy(io.Discard, c)
	return err
}

// report prints the flows: for one flow its summary, for several the flow
// table and the aggregates; or the JSON or CSV document.
func report(w io.Writer, o *options, n *network, fs []*Flow, intervals []intervalRow, runErr error) error {
	cc := n.ccOf
	if o.csv {
		// Row by row: the table of a million flows is not built first.
		var r flowRow
		return writeCSVRows(w, len(fs), func(i int) *flowRow { r = newFlowRow(fs[i], cc(fs[i])); return &r })
	}
	rows := make([]flowRow, len(fs))
	for i, f := range fs {
		rows[i] = newFlowRow(f, cc(f))
	}
	// The bottleneck is the link the flags describe: the hosts' link, or
	// with several clients the router's link to the server.
	uses := linkUses([]*sim.Link{n.link}, n.w.Now())
	switch {
	case o.json:
		doc := runDoc{Command: "transfer", Seed: uint64(o.seed), Link: o.describeLink(), Flows: rows, Summary: newSummaryDoc(flows.Summarize(fs)), Links: uses, Intervals: intervals}
		doc.Summary.Bottleneck = busiest(uses)
		if runErr != nil {
			doc.Error = runErr.Error()
		}
		return writeJSON(w, doc)
	}
	if n.ivSeries != nil {
		printIperfIntervals(w, n.ivSeries)
	} else {
		printIntervals(w, intervals)
	}
	switch {
	case len(fs) == 1:
		printSummary(w, "flow 1: ", fs[0])
		fmt.Fprintln(w)
	default:
		printFlowTableCC(w, rows, len(o.ccFlows) > 0)
		fmt.Fprintln(w)
		printAggregates(w, flows.Summarize(fs))
		fmt.Fprintln(w)
	}
	printLinkUses(w, uses)
	printHostDrops(w, "", n)
	return nil
}

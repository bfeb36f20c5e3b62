package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/flows"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

const transferPort = 5001

// maxFlows bounds --flows: one client address has 16,384 ephemeral ports
// (RFC 6335's range 49152–65535) toward one server port.
const maxFlows = 16384

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
	prog := newProgress(o.progress, size*int64(flows))
	n, err := newNetwork(o, verbose, prog)
	if err != nil {
		return err
	}
	defer n.close()
	if err := n.w.AddHostEntry("server.example", serverPrefix.Addr()); err != nil {
		return err
	}
	text := !o.json && !o.csv
	if text {
		fmt.Fprintf(stdout, "tcpsim transfer: %d flow(s) of %s from client %v to server %v port %d (seed %d)\n",
			flows, flagval.FormatSize(size), clientPrefix.Addr(), serverPrefix.Addr(), transferPort, o.seed)
		if o.startSpread > 0 {
			fmt.Fprintf(stdout, "starts: spread evenly over %v\n", time.Duration(o.startSpread))
		}
		fmt.Fprintf(stdout, "link: %s\n", o.describeLink())
		o.printCC(stdout)
		fmt.Fprintln(stdout)
	}
	if o.verbose {
		fmt.Fprintln(stdout, verboseHeader)
	}

	// The server is an event-driven sink on the stack's own socket API: it
	// reads whatever arrives from inside the readiness callback, with no
	// task switch per segment, and closes on the client's FIN.
	ln, err := n.server.Listen(transferPort, flows)
	if err != nil {
		return err
	}
	var serverErrs []error
	ln.SetNotify(func(stack.Event) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.conns = append(n.conns, c)
			c.SetNotify(func(stack.Event) { drain(c, &serverErrs) })
			drain(c, &serverErrs)
		}
	})
	received := make([]int64, flows)
	errs := make([]error, flows)
	clientsLeft := flows
	for i := range flows {
		// Flow i starts at i·spread/flows: in index order, so that the
		// analyzer's flows (in the order of their first SYN) are the tasks'.
		start := time.Duration(int64(o.startSpread) * int64(i) / int64(flows))
		n.spawn(fmt.Sprintf("flow %d", i+1), func(t *sim.Task) {
			defer func() {
				if clientsLeft--; clientsLeft == 0 {
					ln.Close()
				}
			}()
			t.Sleep(start)
			errs[i] = sendFlow(n, size, &received[i])
		})
	}
	runErr := n.w.Run()
	prog.done()
	if err := n.finish(); err != nil {
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
	if err := report(stdout, o, n, fs, runErr); err != nil {
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

// sendFlow dials the server, writes size bytes, half-closes and waits for
// the server's close.
func sendFlow(n *network, size int64, done *int64) error {
	c, err := n.cnet.Dial("tcp", fmt.Sprintf("server.example:%d", transferPort))
	if err != nil {
		return err
	}
	n.track(c)
	defer c.Close()
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for *done < size {
		chunk := buf[:min(int64(len(buf)), size-*done)]
		m, err := c.Write(chunk)
		*done += int64(m)
		if err != nil {
			return err
		}
	}
	if err := c.(*sim.Conn).CloseWrite(); err != nil {
		return err
	}
	// Wait for the server's FIN: all data was received.
	_, err = io.Copy(io.Discard, c)
	return err
}

// report prints the flows: for one flow its summary, for several the flow
// table and the aggregates; or the JSON or CSV document.
func report(w io.Writer, o *options, n *network, fs []*Flow, runErr error) error {
	rows := make([]flowRow, len(fs))
	for i, f := range fs {
		rows[i] = newFlowRow(f, n.client.Config().CongestionControl)
	}
	switch {
	case o.json:
		doc := runDoc{Command: "transfer", Seed: uint64(o.seed), Link: o.describeLink(), Flows: rows, Summary: newSummaryDoc(flows.Summarize(fs))}
		if runErr != nil {
			doc.Error = runErr.Error()
		}
		return writeJSON(w, doc)
	case o.csv:
		return writeCSV(w, rows)
	case len(fs) == 1:
		printSummary(w, "flow 1: ", fs[0])
		fmt.Fprintln(w)
	default:
		printFlowTable(w, rows)
		fmt.Fprintln(w)
		printAggregates(w, flows.Summarize(fs))
	}
	printHostDrops(w, "", n)
	return nil
}

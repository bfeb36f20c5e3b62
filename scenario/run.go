package scenario

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/flows"
	"github.com/tcpsim/tcpsim/report"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// Options adjust a run without editing the scenario.
type Options struct {
	// Seed, when not nil, replaces Scenario.Seed.
	Seed *uint64
	// Timeout, when positive, replaces Scenario.Timeout.
	Timeout time.Duration
	// OnEvent, when set, also sees every event (after the flow analyzer).
	OnEvent func(*sim.Event)
	// Sample, when positive, replaces Scenario.Sample.
	Sample time.Duration
	// Interval, when positive, samples the run a second time at this
	// period, for interval reports (Result.Intervals).
	Interval time.Duration
	// Captures are packet captures to take (capture.go); Run returns an
	// error naming a capture it cannot take, before the run.
	Captures []Capture
}

// Result is what a run did.
type Result struct {
	// Seed is the seed the run used.
	Seed uint64
	// Flows are the scenario's flows, in file order (a Count expanded).
	Flows []FlowResult
	// Err is why the run stopped early (sim.ErrTimeLimit when the
	// virtual-time limit came first), or nil.
	Err error
	// End is the virtual time the run stopped at.
	End time.Duration
	// Links are the world's links, for their counters.
	Links []*sim.Link
	// Hosts are the scenario's hosts, in file order, for their counters.
	// A host that restarted is its last stack.
	Hosts []*stack.Host
	// Series holds the samples of every connection and link direction when
	// the scenario or Options set a sampling period; otherwise nil.
	Series *report.Series
	// Intervals is the same at Options.Interval, or nil.
	Intervals *report.Series
}

// FlowResult is one flow of a run.
type FlowResult struct {
	Index    int    // from 1, in file order
	Name     string // "flow1", "bulk#3", …
	From, To string // host names
	Port     int
	App      string
	CC       string // the congestion control of the flow's connection on its source host
	Start    time.Duration
	// Bytes is what the application sent (bulk) or received (http_get).
	Bytes int64
	// Err is why the flow failed, or nil.
	Err error
	// Flow is the connection as package flows saw it on the wire; nil when
	// no SYN was ever sent.
	Flow *flows.Flow
}

// Failed counts the flows that did not complete.
func (r *Result) Failed() int {
	n := 0
	for i := range r.Flows {
		if r.Flows[i].Err != nil {
			n++
		}
	}
	return n
}

// ErrFlowIncomplete is the error of a flow still running when the run ended.
var ErrFlowIncomplete = errors.New("did not complete before the run ended")

// runner is one run's world and bookkeeping.
type runner struct {
	p        *plan
	w        *sim.World
	an       *flows.Analyzer
	hosts    map[*pnode]*stack.Host
	nets     map[*pnode]*sim.Net
	links    []*sim.Link
	conns    []connOf
	sconns   []*stack.Conn // conns' connections, for the Series
	ngs      []*sim.NgCapture
	stopCaps []func() error
	// Restarts (restart.go).
	slots    map[*pnode]*hostSlot
	envs     map[*pnode]*sim.HostEnv
	restarts map[*pnode]int
	servers  map[*pnode][]func() // each host's listeners, to close
	closers  []func()
	left     int
	crashed  map[*pnode]bool
	res      []FlowResult
	finished []bool
	dialed   []dialRec
	failure  error // a restart that could not be done
	// wasCrashed holds the addresses of the hosts that crashed.
	wasCrashed map[netip.Addr]bool
}

type connOf struct {
	c    *stack.Conn
	host *pnode
}

// stackConns lists the run's connections for a Series. It is called at
// each sample boundary and expects the list only to grow: it appends the
// connections tracked since its last call to the list it returns.
func (r *runner) stackConns() []*stack.Conn {
	for _, c := range r.conns[len(r.sconns):] {
		r.sconns = append(r.sconns, c.c)
	}
	return r.sconns
}

type dialRec struct {
	flow          int
	local, remote netip.AddrPort
}

// Run validates s, builds its world and runs it until every flow has ended
// (completed or failed) and every connection has closed, or the time limit.
// An invalid scenario returns Errors and runs nothing.
func Run(s *Scenario, o Options) (*Result, error) {
	if s == nil {
		return nil, Errors{{Msg: "no scenario (nil *Scenario)"}}
	}
	seed := s.Seed
	if o.Seed != nil {
		seed = *o.Seed
	}
	p, err := s.plan(seed)
	if err != nil {
		return nil, err
	}
	timeout := time.Duration(s.Timeout)
	if o.Timeout > 0 {
		timeout = o.Timeout
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	r := &runner{p: p, an: flows.New(), hosts: map[*pnode]*stack.Host{}, nets: map[*pnode]*sim.Net{}, crashed: map[*pnode]bool{},
		slots: map[*pnode]*hostSlot{}, envs: map[*pnode]*sim.HostEnv{}, restarts: map[*pnode]int{}, servers: map[*pnode][]func(){}}
	// A packet crossing routers is sent once per link: the analyzer counts
	// what hosts send and what hosts receive, and what links do to packets
	// anywhere on the path (drops, duplicates, corruption, delays).
	routers := map[string]bool{}
	for _, n := range p.nodes {
		if n.router {
			routers[n.name] = true
		}
	}
	sample := time.Duration(s.Sample)
	if o.Sample > 0 {
		sample = o.Sample
	}
	mkSeries := func(every time.Duration) *report.Series {
		if every <= 0 {
			return nil
		}
		return report.NewSeries(report.SeriesOptions{Every: every, Flows: r.an, Conns: r.stackConns, Links: func() []*sim.Link { return r.links }})
	}
	series, intervals := mkSeries(sample), mkSeries(o.Interval)
	onEvent := func(e *sim.Event) {
		for _, ng := range r.ngs {
			ng.Event(e)
		}
		if !((e.Verdict == sim.Sent || e.Verdict == sim.Delivered) && routers[e.Node]) {
			r.an.Event(e)
		}
		if series != nil {
			series.Event(e)
		}
		if intervals != nil {
			intervals.Event(e)
		}
		if o.OnEvent != nil {
			o.OnEvent(e)
		}
	}
	r.w = sim.New(sim.Config{Seed: seed, TimeLimit: timeout, StreamOnly: true, OnEvent: onEvent})
	defer func() {
		r.an.Stop()
		r.w.Close()
	}()
	if err := r.build(); err != nil {
		return nil, err
	}
	if err := r.startCaptures(o.Captures); err != nil {
		return nil, err
	}
	if err := r.start(); err != nil {
		return nil, err
	}
	runErr := r.w.Run()
	if r.failure != nil {
		runErr = r.failure
	}
	r.an.Stop()
	var capErr error
	for _, stop := range r.stopCaps {
		if err := stop(); err != nil && capErr == nil {
			capErr = fmt.Errorf("capture: %w", err)
		}
	}
	r.ngs = nil
	for _, x := range []*report.Series{series, intervals} {
		if x != nil {
			x.Finish(r.w.Now())
		}
	}
	res := &Result{Seed: seed, Flows: r.res, Err: runErr, End: r.w.Now(), Links: r.links, Series: series, Intervals: intervals}
	for _, n := range p.nodes {
		if h := r.hosts[n]; h != nil {
			res.Hosts = append(res.Hosts, h)
		}
	}
	for i := range res.Flows {
		if res.Flows[i].Err == nil && !r.done(i) {
			res.Flows[i].Err = ErrFlowIncomplete
		}
	}
	r.match(res)
	return res, capErr
}

// done reports whether flow i's task finished.
func (r *runner) done(i int) bool { return r.finished[i] }

func (r *runner) build() error {
	links, err := r.p.build(r.w, buildHooks{
		host: func(n *pnode) (sim.Node, *stack.Host, error) {
			h, env, err := r.newHost(n, 0)
			if err != nil {
				return nil, nil, err
			}
			var node sim.Node = h
			if n.restarts {
				s := &hostSlot{h: h}
				r.slots[n], node = s, s
			}
			r.hosts[n], r.envs[n] = h, env
			return node, h, nil
		},
		link: func(l *plink, cfg *sim.LinkConfig) {
			for _, dc := range []*sim.DirConfig{&cfg.AB, &cfg.BA} {
				var fs []sim.Fault
				if len(l.cuts) > 0 {
					fs = append(fs, sim.Rule{Name: "link-down", Match: inWindows(l.cuts), Action: sim.RuleDrop})
				}
				for _, c := range l.crash {
					fs = append(fs, sim.Rule{Name: "crash", Match: sim.And(sim.Between(c.at, c.until),
						sim.Or(sim.From(c.addr), sim.To(c.addr))), Action: sim.RuleDrop})
				}
				dc.Faults = append(fs, dc.Faults...)
			}
		},
	})
	if err != nil {
		return err
	}
	r.links = links
	for _, n := range r.p.nodes {
		if !n.router {
			r.nets[n] = sim.NewTaskNet(r.w, r.hosts[n])
		}
	}
	return nil
}

// inWindows selects packets entering during one of ws (sorted by start).
func inWindows(ws []window) sim.Matcher {
	return func(p *sim.FaultPacket) bool {
		for _, w := range ws {
			if p.Time < w.from {
				return false
			}
			if p.Time < w.to {
				return true
			}
		}
		return false
	}
}

func (r *runner) start() error {
	w := r.w
	// Servers.
	for _, n := range r.p.nodes {
		if err := r.startServers(n); err != nil {
			return err
		}
	}
	// Events.
	for _, e := range r.p.events {
		switch e.action {
		case "set":
			sl := r.links[e.link.idxIn(r.p)]
			s := e.set
			w.ScheduleFunc(e.at, sim.PrioDefault, func() {
				for d := range 2 {
					if (s.Dir == "ab" && d == 1) || (s.Dir == "ba" && d == 0) {
						continue
					}
					if s.Rate != nil {
						sl.SetRate(d, int64(*s.Rate))
					}
					if s.Delay != nil {
						sl.SetDelay(d, time.Duration(*s.Delay))
					}
				}
			})
		case "crash":
			n := e.crash
			w.ScheduleFunc(e.at, sim.PrioDefault, func() {
				r.crashed[n] = true
				if r.wasCrashed == nil {
					r.wasCrashed = map[netip.Addr]bool{}
				}
				for _, f := range n.ifaces {
					r.wasCrashed[f.addr.Addr()] = true
				}
			})
		case "restart":
			n, path := e.crash, e.path
			w.ScheduleFunc(e.at, sim.PrioDefault, func() {
				if err := r.restart(n); err != nil && r.failure == nil {
					r.failure = fmt.Errorf("%s: %v", path, err)
					w.Stop()
				}
			})
		}
	}
	// Clients.
	r.res = make([]FlowResult, len(r.p.flows))
	r.finished = make([]bool, len(r.p.flows))
	r.left = len(r.p.flows)
	if r.left == 0 {
		r.finish()
	}
	for i, f := range r.p.flows {
		app := f.spec.App
		if app == "" {
			app = AppBulk
		}
		r.res[i] = FlowResult{Index: f.index, Name: f.name, From: f.src.name, To: f.dst.name, Port: f.spec.Port, App: app, CC: f.cc, Start: f.start}
		// The flow's task is made when it starts: a scenario with many
		// flows holds no goroutine per flow waiting for its turn.
		w.ScheduleFunc(f.start, sim.PrioDefault, func() {
			w.Spawn(f.name, func(t *sim.Task) {
				defer func() {
					r.finished[i] = true
					if r.left--; r.left == 0 {
						r.finish()
					}
				}()
				switch app {
				case AppHTTPGet:
					r.res[i].Err = r.httpGet(i, f)
				case AppRequestResponse:
					r.res[i].Err = r.requestResponse(t, i, f)
				case AppOnOff:
					r.res[i].Err = r.onOff(t, i, f)
				default:
					r.res[i].Err = r.bulk(t, i, f)
				}
			})
		})
	}
	return nil
}

func (l *plink) idxIn(p *plan) int {
	for i, x := range p.links {
		if x == l {
			return i
		}
	}
	return -1
}

// startServers starts node n's listeners.
func (r *runner) startServers(n *pnode) error {
	for _, port := range sortedPorts(n.listen) {
		switch n.listen[port] {
		case AppSink:
			if err := r.startSink(n, port); err != nil {
				return err
			}
		case AppHTTP:
			if err := r.startHTTP(n, port); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedPorts(m map[int]string) []int {
	ports := make([]int, 0, len(m))
	for p := range m {
		ports = append(ports, p)
	}
	for i := 1; i < len(ports); i++ {
		for j := i; j > 0 && ports[j] < ports[j-1]; j-- {
			ports[j], ports[j-1] = ports[j-1], ports[j]
		}
	}
	return ports
}

// finish runs when the last flow's task returns: servers stop listening,
// and once every connection is closed (or in TIME_WAIT, or on a crashed
// host) the world stops.
func (r *runner) finish() {
	for _, c := range r.closers {
		c()
	}
	r.w.Spawn("settle", func(t *sim.Task) {
		for !r.settled() {
			t.Sleep(time.Millisecond)
		}
		r.w.Stop()
	})
}

func (r *runner) settled() bool {
	for _, c := range r.conns {
		if r.crashed[c.host] {
			continue
		}
		if st := c.c.State(); st != stack.StateClosed && st != stack.StateTimeWait {
			if len(r.wasCrashed) > 0 && r.wasCrashed[c.c.Info().Remote.Addr()] {
				continue // half-open: its peer crashed and will never answer
			}
			return false
		}
	}
	return true
}

func (r *runner) track(n *pnode, c net.Conn) {
	if sc, ok := c.(*sim.Conn); ok {
		r.conns = append(r.conns, connOf{sc.Stack(), n})
	}
}

// sinkChunk is how much a sink consumes per call.
const sinkChunk = 64 << 10

// startSink listens on port with an event-driven sink on the stack's own
// socket API: it discards what arrives and closes on the client's FIN.
func (r *runner) startSink(n *pnode, port int) error {
	h := r.hosts[n]
	ln, err := h.Listen(uint16(port), 4096)
	if err != nil {
		return fmt.Errorf("%s: listen on %d: %v", n.path, port, err)
	}
	ln.SetNotify(func(stack.Event) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.conns = append(r.conns, connOf{c, n})
			c.SetNotify(func(stack.Event) { drain(c) })
			drain(c)
		}
	})
	r.closers = append(r.closers, func() { ln.Close() })
	r.servers[n] = append(r.servers[n], func() { ln.Close() })
	return nil
}

func drain(c *stack.Conn) {
	for {
		_, err := c.Discard(sinkChunk)
		switch {
		case err == nil:
			continue
		case errors.Is(err, stack.ErrWouldBlock), errors.Is(err, stack.ErrClosed):
		default: // io.EOF or a reset
			c.Close()
		}
		return
	}
}

// startHTTP serves GET /N (N bytes of text) on port with net/http's request
// reader and response writer, one task per connection.
func (r *runner) startHTTP(n *pnode, port int) error {
	ln, err := r.nets[n].Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return fmt.Errorf("%s: listen on %d: %v", n.path, port, err)
	}
	r.closers = append(r.closers, func() { ln.Close() })
	r.servers[n] = append(r.servers[n], func() { ln.Close() })
	r.w.Spawn(fmt.Sprintf("%s:%d", n.name, port), func(t *sim.Task) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.track(n, c)
			r.w.Spawn(fmt.Sprintf("%s:%d conn", n.name, port), func(t *sim.Task) {
				defer c.Close()
				serveHTTP(c)
			})
		}
	})
	return nil
}

// serveHTTP answers requests on c until one asks to close (or the client
// closes): http_get sends one, request_response several.
func serveHTTP(c net.Conn) {
	br := bufio.NewReader(c)
	bw := bufio.NewWriterSize(c, 32<<10)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if !answerHTTP(bw, req) || req.Close {
			return
		}
	}
}

// answerHTTP writes the response to req (GET /N: N bytes of text) and
// reports whether it was sent whole.
func answerHTTP(bw *bufio.Writer, req *http.Request) bool {
	resp := &http.Response{StatusCode: http.StatusOK, ProtoMajor: 1, ProtoMinor: 1, Request: req, Close: req.Close,
		Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}}
	size, err := strconv.ParseInt(strings.TrimPrefix(req.URL.Path, "/"), 10, 64)
	if err != nil || size < 0 {
		resp.StatusCode = http.StatusNotFound
		resp.ContentLength = 0
		resp.Body = http.NoBody
	} else {
		resp.ContentLength = size
		resp.Body = io.NopCloser(io.LimitReader(pattern{}, size))
	}
	return resp.Write(bw) == nil && bw.Flush() == nil
}

// pattern is an endless stream of printable bytes.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	return len(p), nil
}

func (r *runner) dial(i int, f *pflow) (net.Conn, error) {
	ctx := context.Background()
	if f.spec.CC != "" && f.spec.CC != f.src.tcp.CongestionControl {
		// The flow's own algorithm, set while the SYN is out.
		ctx = sim.WithConnSetup(ctx, func(c *stack.Conn) error { return c.SetCongestionControl(f.spec.CC) })
	}
	c, err := r.nets[f.src].DialContext(ctx, "tcp", net.JoinHostPort(f.daddr.String(), strconv.Itoa(f.spec.Port)))
	if err != nil {
		return nil, err
	}
	r.track(f.src, c)
	la, _ := netip.ParseAddrPort(c.LocalAddr().String())
	ra, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	r.dialed = append(r.dialed, dialRec{flow: i, local: la, remote: ra})
	return c, nil
}

// bulk sends Size bytes (or for Duration), half-closes and waits for the
// server's FIN.
func (r *runner) bulk(t *sim.Task, i int, f *pflow) error {
	c, err := r.dial(i, f)
	if err != nil {
		return err
	}
	defer c.Close()
	if d := time.Duration(f.spec.Duration); d > 0 {
		if _, err := r.sendUntil(c, &r.res[i].Bytes, -1, t.Now()+d); err != nil {
			return err
		}
	} else if _, err := r.sendUntil(c, &r.res[i].Bytes, int64(f.spec.Size), -1); err != nil {
		return err
	}
	if err := c.(*sim.Conn).CloseWrite(); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, c)
	return err
}

// sendBuf is what bulk and on_off flows write, over and over.
var sendBuf = func() (b [64 << 10]byte) {
	for j := range b {
		b[j] = byte(j * 7)
	}
	return b
}()

// sendUntil writes to c until *done reaches size (size ≥ 0) or the virtual
// time until (until ≥ 0), whichever comes first; a write still blocked at
// until returns then. It reports whether the time ran out.
func (r *runner) sendUntil(c net.Conn, done *int64, size int64, until time.Duration) (timeUp bool, err error) {
	if until >= 0 {
		c.SetWriteDeadline(r.w.Epoch().Add(until))
		defer c.SetWriteDeadline(time.Time{})
	}
	for size < 0 || *done < size {
		if until >= 0 && r.w.Now() >= until {
			return true, nil
		}
		chunk := sendBuf[:]
		if size >= 0 {
			chunk = chunk[:min(int64(len(chunk)), size-*done)]
		}
		m, err := c.Write(chunk)
		*done += int64(m)
		if until >= 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
	return false, nil
}

// onOff sends for On, stays silent for Off, and again, until Size bytes
// or Duration from its start; then half-closes and waits for the FIN.
func (r *runner) onOff(t *sim.Task, i int, f *pflow) error {
	c, err := r.dial(i, f)
	if err != nil {
		return err
	}
	defer c.Close()
	end := time.Duration(-1)
	size := int64(f.spec.Size)
	if d := time.Duration(f.spec.Duration); d > 0 {
		end, size = t.Now()+d, -1
	}
	on, off := time.Duration(f.spec.On), time.Duration(f.spec.Off)
	for {
		until := t.Now() + on
		if end >= 0 {
			until = min(until, end)
		}
		if _, err := r.sendUntil(c, &r.res[i].Bytes, size, until); err != nil {
			return err
		}
		if size >= 0 && r.res[i].Bytes >= size || end >= 0 && t.Now()+off >= end {
			break
		}
		t.Sleep(off)
	}
	if err := c.(*sim.Conn).CloseWrite(); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, c)
	return err
}

// requestResponse makes Requests GETs of Size bytes on one connection,
// reading each response whole and pausing Think before the next; the last
// request asks the server to close.
func (r *runner) requestResponse(t *sim.Task, i int, f *pflow) error {
	c, err := r.dial(i, f)
	if err != nil {
		return err
	}
	defer c.Close()
	n := max(f.spec.Requests, 1)
	br := bufio.NewReader(c)
	url := fmt.Sprintf("http://%s:%d/%d", f.dst.name, f.spec.Port, int64(f.spec.Size))
	for k := range n {
		if k > 0 && f.spec.Think > 0 {
			t.Sleep(time.Duration(f.spec.Think))
		}
		req, err := http.NewRequest(http.MethodGet, url, http.NoBody)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "tcpsim")
		req.Close = k == n-1
		if err := req.Write(c); err != nil {
			return fmt.Errorf("request %d: %w", k+1, err)
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return fmt.Errorf("response %d: %w", k+1, err)
		}
		got, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		r.res[i].Bytes += got
		switch {
		case err != nil:
			return fmt.Errorf("response %d: %w", k+1, err)
		case resp.StatusCode != http.StatusOK:
			return fmt.Errorf("response %d: HTTP %s", k+1, resp.Status)
		case got != int64(f.spec.Size):
			return fmt.Errorf("response %d: body has %d bytes, want %d", k+1, got, int64(f.spec.Size))
		}
	}
	return nil
}

// httpGet fetches /Size and checks the length of the body.
func (r *runner) httpGet(i int, f *pflow) error {
	c, err := r.dial(i, f)
	if err != nil {
		return err
	}
	defer c.Close()
	url := fmt.Sprintf("http://%s:%d/%d", f.dst.name, f.spec.Port, int64(f.spec.Size))
	req, err := http.NewRequest(http.MethodGet, url, http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "tcpsim")
	req.Close = true
	if err := req.Write(c); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	r.res[i].Bytes = n
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("HTTP %s", resp.Status)
	case n != int64(f.spec.Size):
		return fmt.Errorf("body has %d bytes, want %d", n, int64(f.spec.Size))
	}
	return nil
}

// match pairs each flow with the connection package flows saw: by the
// 4-tuple its dial returned, in order; flows whose dial failed take the
// unclaimed connections from their host to their server, in start order.
func (r *runner) match(res *Result) {
	type key struct{ c, s netip.AddrPort }
	byKey := map[key][]*flows.Flow{}
	for _, fl := range r.an.Flows() {
		k := key{fl.Client, fl.Server}
		byKey[k] = append(byKey[k], fl)
	}
	claimed := map[*flows.Flow]bool{}
	for _, d := range r.dialed {
		k := key{d.local, d.remote}
		if l := byKey[k]; len(l) > 0 {
			res.Flows[d.flow].Flow = l[0]
			claimed[l[0]] = true
			byKey[k] = l[1:]
		}
	}
	for i := range res.Flows {
		fr := &res.Flows[i]
		if fr.Flow != nil {
			continue
		}
		pf := r.p.flows[i]
		for _, fl := range r.an.Flows() {
			if !claimed[fl] && fl.ClientNode == pf.src.name && fl.Server == netip.AddrPortFrom(pf.daddr, uint16(pf.spec.Port)) {
				fr.Flow = fl
				claimed[fl] = true
				break
			}
		}
	}
}

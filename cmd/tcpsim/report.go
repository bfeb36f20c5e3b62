package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	rpt "github.com/tcpsim/tcpsim/report"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// --report FILE.html on get, transfer and run: the run drawn as one HTML
// page (package report); --plot LIST --out DIR: each graph as a file of
// its own. The recorder reads the event stream and samples each
// connection at events; it schedules nothing, so the packets are those of
// the same run without --report.

// reportOptions are the report's flags.
type reportOptions struct {
	file  string
	every flagval.Duration
	// --plot, --out and --plot-format: each graph alone as a file.
	plot, out string
	format    string
	plots     []string // parsed --plot
	formats   []string // parsed --plot-format
	seq       string   // --report-seq: relative or absolute
	window    string   // --report-window FROM:UNTIL
	from, to  time.Duration
	stderr    io.Writer
}

func addReportFlags(fs *pflag.FlagSet, o *options, stderr io.Writer) {
	o.rep.addFlags(fs, stderr)
}

func (r *reportOptions) addFlags(fs *pflag.FlagSet, stderr io.Writer) {
	r.every = flagval.Duration(rpt.DefaultSampleEvery)
	r.stderr = stderr
	fs.StringVar(&r.file, "report", "", "write the run as one self-contained HTML page (ladder, time-sequence graphs, cwnd and RTT over time, flows) to `FILE`")
	fs.Var(&r.every, "report-every", "with --report or --plot: virtual time between two samples of each connection's cwnd, ssthresh, bytes in flight, SRTT and RTO")
	fs.StringVar(&r.plot, "plot", "", "write each of these graphs as a file of its own: a comma-separated `LIST` of "+strings.Join(rpt.PlotNames, ", ")+", or all")
	fs.StringVar(&r.out, "out", ".", "with --plot: the `DIR`ectory to write the graphs to (made if missing)")
	fs.StringVar(&r.format, "plot-format", "svg", "with --plot: svg, png, or svg,png for both")
	fs.StringVar(&r.window, "report-window", "", "with --report or --plot: the ladder draws the packets sent in this window of virtual time, `FROM:UNTIL` such as 1.2s:1.5s (UNTIL may be left out)")
	fs.StringVar(&r.seq, "report-seq", "relative", "the ladder's sequence numbers: relative to each side's initial sequence number, or absolute as on the wire (tcpdump -S)")
}

// validateReport checks the report's flags before the run: a file that
// cannot be written is a bad flag value.
func (o *options) validateReport(fs *pflag.FlagSet) error {
	if fs.Lookup("report") == nil {
		return nil // a command without the report (serve)
	}
	if tun := fs.Lookup("tun"); tun != nil && tun.Changed && (fs.Changed("report") || fs.Changed("plot")) {
		return errors.New("--report and --plot do not apply with --tun: they draw simulated runs")
	}
	return o.rep.validate(fs)
}

func (r *reportOptions) validate(fs *pflag.FlagSet) error {
	if fs.Changed("report-every") && !fs.Changed("report") && !fs.Changed("plot") {
		return errors.New("--report-every needs --report or --plot")
	}
	if r.every <= 0 {
		return fmt.Errorf("--report-every %v: must be positive", time.Duration(r.every))
	}
	if r.seq != "relative" && r.seq != "absolute" {
		return fmt.Errorf("--report-seq %s: want relative or absolute", r.seq)
	}
	if fs.Changed("report-seq") && !fs.Changed("report") && !fs.Changed("plot") {
		return errors.New("--report-seq needs --report or --plot")
	}
	if fs.Changed("report-window") {
		if !fs.Changed("report") && !fs.Changed("plot") {
			return errors.New("--report-window needs --report or --plot")
		}
		from, to, err := parseWindow(r.window)
		if err != nil {
			return fmt.Errorf("--report-window %s: %v", r.window, err)
		}
		r.from, r.to = from, to
	}
	for _, f := range []string{"out", "plot-format"} {
		if fs.Changed(f) && !fs.Changed("plot") {
			return fmt.Errorf("--%s needs --plot", f)
		}
	}
	if fs.Changed("plot") {
		ps, err := rpt.ParsePlots(r.plot)
		if err != nil {
			return fmt.Errorf("--plot %s: %v", r.plot, err)
		}
		r.plots = ps
		r.formats = nil
		for _, f := range strings.Split(r.format, ",") {
			if !slices.Contains(rpt.PlotFormats, f) {
				return fmt.Errorf("--plot-format %s: unknown format %q: want svg, png, or svg,png", r.format, f)
			}
			if !slices.Contains(r.formats, f) {
				r.formats = append(r.formats, f)
			}
		}
		if r.out == "" {
			return errors.New(`--out "": want the directory to write the graphs to`)
		}
		if err := os.MkdirAll(r.out, 0o777); err != nil {
			return fmt.Errorf("--out %s: %v", r.out, errors.Unwrap(err))
		}
		if st, err := os.Stat(r.out); err != nil || !st.IsDir() {
			return fmt.Errorf("--out %s: not a directory", r.out)
		}
	}
	if !fs.Changed("report") {
		return nil
	}
	if r.file == "" {
		return errors.New(`--report "": want the name of the HTML file to write`)
	}
	f, err := os.OpenFile(r.file, os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return fmt.Errorf("--report %s: %v", r.file, errors.Unwrap(err))
	}
	return f.Close()
}

// parseWindow reads FROM:UNTIL (UNTIL may be empty: to the end).
func parseWindow(s string) (from, to time.Duration, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, errors.New("want FROM:UNTIL, such as 1.2s:1.5s, or FROM: for the rest of the run")
	}
	if from, err = time.ParseDuration(a); err != nil || from < 0 {
		return 0, 0, fmt.Errorf("FROM %q: want a duration of virtual time such as 1.2s", a)
	}
	if b == "" {
		return from, 0, nil
	}
	if to, err = time.ParseDuration(b); err != nil || to <= from {
		return 0, 0, fmt.Errorf("UNTIL %q: want a duration after FROM", b)
	}
	return from, to, nil
}

// wanted says whether the run must be recorded.
func (r *reportOptions) wanted() bool { return r.file != "" || len(r.plots) > 0 }

// reportHook returns the event hook of the report, or nil without
// --report or --plot. It samples the connections the run tracks (n.conns).
func (n *network) reportHook(o *options) func(*sim.Event) {
	if !o.rep.wanted() {
		return nil
	}
	n.rep = rpt.New(rpt.Options{
		Flows:       n.an.Analyzer,
		SampleEvery: time.Duration(o.rep.every),
		AbsoluteSeq: o.rep.seq == "absolute",
		LadderFrom:  o.rep.from,
		LadderUntil: o.rep.to,
		Conns:       func() []*stack.Conn { return n.conns },
		Links:       func() []*sim.Link { return []*sim.Link{n.link} },
	})
	return func(e *sim.Event) {
		if !n.an.Stopped() {
			n.rep.Event(e)
		}
	}
}

// writeReport writes the page when --report was given, and the graphs
// when --plot was.
func (n *network) writeReport(o *options, title string, steps []rpt.Step) error {
	if n.rep == nil {
		return nil
	}
	m := rpt.Meta{Title: title, Lines: []string{"link: " + o.describeLink()}, Steps: steps, TimeWait: 2 * n.client.Config().MSL}
	if o.cc != "" {
		m.Lines = append(m.Lines, "tcp: "+o.cc.String()+" congestion control")
	}
	if len(o.ccFlows) > 0 {
		parts := make([]string, len(o.ccFlows))
		for i, cc := range o.ccFlows {
			parts[i] = fmt.Sprintf("flow %d %s", i+1, cc)
		}
		m.Lines = append(m.Lines, "tcp: congestion control per flow: "+strings.Join(parts, ", "))
	}
	if fs := n.an.Flows(); len(fs) > 1 {
		m.Table = flowTable(fs, n.ccOf)
	}
	return o.rep.write(n.rep, m)
}

// ccOf is the algorithm a flow ran: transfer's per-flow --cc list, or the
// client host's.
func (n *network) ccOf(f *Flow) string {
	if name := n.flowCC[f.Client]; name != "" {
		return name
	}
	return n.client.Config().CongestionControl
}

// write writes the page and the plots the flags ask for.
func (r *reportOptions) write(rec *rpt.Recorder, m rpt.Meta) error {
	if r.file != "" {
		var b bytes.Buffer
		if err := rec.Write(&b, m); err != nil {
			return err
		}
		if err := os.WriteFile(r.file, b.Bytes(), 0o666); err != nil {
			return fmt.Errorf("--report: %v", err)
		}
	}
	if len(r.plots) == 0 {
		return nil
	}
	pics, missing := rec.Plots(r.plots, m)
	for _, p := range pics {
		for _, f := range r.formats {
			data := p.SVG
			if f == "png" {
				var err error
				if data, err = rpt.PNG(p.SVG); err != nil {
					return fmt.Errorf("--plot %s: %v", p.Name, err)
				}
			}
			name := p.Name + "." + f
			if err := os.WriteFile(filepath.Join(r.out, name), data, 0o666); err != nil {
				return fmt.Errorf("--plot: %v", err)
			}
		}
	}
	// The files are written quietly, as --report and --pcap are; a graph
	// named in --plot (not just implied by all) that has nothing to draw
	// in this run is said on stderr.
	if r.stderr != nil && !slices.Contains(strings.Split(r.plot, ","), "all") {
		for _, s := range missing {
			fmt.Fprintf(r.stderr, "tcpsim: --plot %s\n", s)
		}
	}
	return nil
}

// flowTable is the flow table (table.go's rows) as the report shows it.
func flowTable(fs []*Flow, cc func(*Flow) string) *rpt.Table {
	rows := make([]flowRow, len(fs))
	for i, f := range fs {
		rows[i] = newFlowRow(f, cc(f))
	}
	return rowsTable(rows)
}

func rowsTable(rows []flowRow) *rpt.Table {
	t := &rpt.Table{Header: []string{"flow", "client", "server", "cc", "status", "start s", "FCT s", "bytes c→s", "bytes s→c", "packets", "rtx", "drops", "Mbit/s", "RTT min/mean/p99 ms"}}
	for _, r := range rows {
		drops := 0
		for _, n := range r.Drops {
			drops += n
		}
		fct := "-"
		if r.Status == "completed" {
			fct = strconv.FormatFloat(r.FCT, 'f', 3, 64)
		}
		rtt := "-"
		if r.RTTSamples > 0 {
			rtt = fmt.Sprintf("%.1f/%.1f/%.1f", r.RTTMin, r.RTTMean, r.RTTp99)
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(r.Flow), r.Client, r.Server, r.CC, r.Status, strconv.FormatFloat(r.Start, 'f', 3, 64), fct,
			strconv.FormatInt(r.Bytes[0], 10), strconv.FormatInt(r.Bytes[1], 10), strconv.Itoa(r.Packets[0] + r.Packets[1]),
			strconv.Itoa(r.Retrans[0] + r.Retrans[1]), strconv.Itoa(drops), strconv.FormatFloat(r.Goodput/1e6, 'f', 3, 64), rtt})
	}
	return t
}

// For tcpsim run: the scenario builds its own world, so the recorder only
// reads its events (scenario.Options.OnEvent); it has no connections to
// sample, so the page and the plots have no cwnd or RTT series.

// recorder returns the recorder of run's --report and --plot, or nil.
func (r *reportOptions) recorder() *rpt.Recorder {
	if !r.wanted() {
		return nil
	}
	return rpt.New(rpt.Options{SampleEvery: time.Duration(r.every), AbsoluteSeq: r.seq == "absolute", LadderFrom: r.from, LadderUntil: r.to})
}

// writeScenario writes run's page and plots; rec may be nil.
func (r *reportOptions) writeScenario(rec *rpt.Recorder, title string, rows []flowRow) error {
	if rec == nil {
		return nil
	}
	rec.Stop()
	m := rpt.Meta{Title: title, Lines: []string{"no time series: tcpsim run does not sample the connections"}}
	if len(rows) > 1 {
		m.Table = rowsTable(rows)
	}
	return r.write(rec, m)
}

// sockCall records a socket call of host for the ladder, made at at and
// returning now.
func (n *network) sockCall(host, op string, at time.Duration, nb int, err error) {
	if n.rep == nil {
		return
	}
	c := rpt.Call{Host: host, Op: op, At: at, End: n.now(), N: nb}
	switch {
	case errors.Is(err, io.EOF):
		c.Err = "EOF"
	case err != nil:
		c.Err = "error"
	}
	n.mu.Lock()
	n.rep.Call(c)
	n.mu.Unlock()
}

// traced returns c with its reads, writes and close recorded for the
// ladder (c itself without a report).
func (n *network) traced(host string, c net.Conn) net.Conn {
	if n.rep == nil {
		return c
	}
	return &tracedConn{Conn: c, n: n, host: host}
}

type tracedConn struct {
	net.Conn
	n    *network
	host string
}

func (t *tracedConn) Read(p []byte) (int, error) {
	at := t.n.now()
	k, err := t.Conn.Read(p)
	t.n.sockCall(t.host, "read", at, k, err)
	return k, err
}

func (t *tracedConn) Write(p []byte) (int, error) {
	at := t.n.now()
	k, err := t.Conn.Write(p)
	t.n.sockCall(t.host, "write", at, k, err)
	return k, err
}

func (t *tracedConn) Close() error {
	at := t.n.now()
	err := t.Conn.Close()
	t.n.sockCall(t.host, "close", at, 0, err)
	return err
}

var storyLine = regexp.MustCompile(`^([1-7]) +([0-9]+\.[0-9]+)  (.*)$`)

// storySteps is get's story (printStory's seven steps) as the report
// draws it beside the ladder.
func storySteps(n *network, u getURL, res *getResult) []rpt.Step {
	if n.rep == nil {
		return nil
	}
	var b bytes.Buffer
	printStory(&b, n, u, res)
	var steps []rpt.Step
	for _, l := range strings.Split(b.String(), "\n") {
		m := storyLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		sec, _ := strconv.ParseFloat(m[2], 64)
		steps = append(steps, rpt.Step{At: time.Duration(math.Round(sec*1e6)) * time.Microsecond, Text: m[1] + "  " + m[3]})
	}
	return steps
}

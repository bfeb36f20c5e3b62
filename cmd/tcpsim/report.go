package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	rpt "github.com/tcpsim/tcpsim/report"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// --report FILE.html on get and transfer: the run drawn as one HTML page
// (package report). The recorder reads the event stream and samples each
// connection at events; it schedules nothing, so the packets are those of
// the same run without --report.

// reportOptions are the report's flags.
type reportOptions struct {
	file  string
	every flagval.Duration
}

func addReportFlags(fs *pflag.FlagSet, o *options) {
	o.rep.every = flagval.Duration(rpt.DefaultSampleEvery)
	fs.StringVar(&o.rep.file, "report", "", "write the run as one self-contained HTML page (ladder, time-sequence graphs, cwnd and RTT over time, flows) to `FILE`")
	fs.Var(&o.rep.every, "report-every", "with --report: virtual time between two samples of each connection's cwnd, ssthresh, bytes in flight, SRTT and RTO")
}

// validateReport checks the report's flags before the run: a file that
// cannot be written is a bad flag value.
func (o *options) validateReport(fs *pflag.FlagSet) error {
	if fs.Lookup("report") == nil {
		return nil // a command without the report (serve)
	}
	if fs.Changed("report-every") && o.rep.file == "" {
		return errors.New("--report-every needs --report")
	}
	if o.rep.every <= 0 {
		return fmt.Errorf("--report-every %v: must be positive", time.Duration(o.rep.every))
	}
	if !fs.Changed("report") {
		return nil
	}
	if tun := fs.Lookup("tun"); tun != nil && tun.Changed {
		return errors.New("--report does not apply with --tun: the report draws simulated runs")
	}
	if o.rep.file == "" {
		return errors.New(`--report "": want the name of the HTML file to write`)
	}
	f, err := os.OpenFile(o.rep.file, os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return fmt.Errorf("--report %s: %v", o.rep.file, errors.Unwrap(err))
	}
	return f.Close()
}

// reportHook returns the event hook of the report, or nil without
// --report. It samples the connections the run tracks (n.conns).
func (n *network) reportHook(o *options) func(*sim.Event) {
	if o.rep.file == "" {
		return nil
	}
	n.rep = rpt.New(rpt.Options{
		Flows:       n.an.Analyzer,
		SampleEvery: time.Duration(o.rep.every),
		Conns:       func() []*stack.Conn { return n.conns },
		Links:       func() []*sim.Link { return []*sim.Link{n.link} },
	})
	return func(e *sim.Event) {
		if !n.an.Stopped() {
			n.rep.Event(e)
		}
	}
}

// writeReport writes the page when --report was given.
func (n *network) writeReport(o *options, title string, steps []rpt.Step) error {
	if n.rep == nil {
		return nil
	}
	m := rpt.Meta{Title: title, Lines: []string{"link: " + o.describeLink()}, Steps: steps}
	if o.cc != "" {
		m.Lines = append(m.Lines, "tcp: "+o.cc.String()+" congestion control")
	}
	if fs := n.an.Flows(); len(fs) > 1 {
		m.Table = flowTable(fs, n.client.Config().CongestionControl)
	}
	var b bytes.Buffer
	if err := n.rep.Write(&b, m); err != nil {
		return err
	}
	if err := os.WriteFile(o.rep.file, b.Bytes(), 0o666); err != nil {
		return fmt.Errorf("--report: %v", err)
	}
	return nil
}

// flowTable is the flow table (table.go's rows) as the report shows it.
func flowTable(fs []*Flow, cc string) *rpt.Table {
	t := &rpt.Table{Header: []string{"flow", "client", "server", "cc", "status", "start s", "FCT s", "bytes c→s", "bytes s→c", "packets", "rtx", "drops", "Mbit/s", "RTT min/mean/p99 ms"}}
	for _, f := range fs {
		r := newFlowRow(f, cc)
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

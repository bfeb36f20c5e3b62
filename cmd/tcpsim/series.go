package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	rpt "github.com/tcpsim/tcpsim/report"
	"github.com/tcpsim/tcpsim/scenario"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// --series FILE.csv|.json and --sample DUR on get, transfer and run: the
// run's time series (package report's Series) written to a file; -i DUR:
// iperf3-style interval lines in the text output, from a Series sampled
// every DUR. A Series reads the events and schedules nothing, so the
// packets are those of the same run without these flags.

// seriesOptions are the time-series flags.
type seriesOptions struct {
	file   string
	sample flagval.Duration
}

func addSeriesFlags(fs *pflag.FlagSet, o *seriesOptions) {
	o.sample = flagval.Duration(rpt.DefaultSampleEvery)
	fs.StringVar(&o.file, "series", "", "write the time series (per connection cwnd, ssthresh, bytes in flight, SRTT, RTO, delivery rate; per link direction queue, drops, CE marks) to `FILE`, CSV or JSON by its extension (docs/series.md)")
	fs.Var(&o.sample, "sample", "with --series: virtual time between two samples")
}

// validate checks the flags before the run: the extension chooses the
// format, and a file that cannot be written is a bad flag value.
func (o *seriesOptions) validate(fs *pflag.FlagSet, timeout time.Duration) error {
	if fs.Lookup("series") == nil {
		return nil
	}
	if o.file != "" && o.sample > 0 && timeout/time.Duration(o.sample) > scenario.MaxSamples {
		return fmt.Errorf("--sample %v: more than %d samples in --timeout %v; sample less often", time.Duration(o.sample), scenario.MaxSamples, timeout)
	}
	if fs.Changed("sample") && o.file == "" {
		return errors.New("--sample needs --series FILE (the samples go to the file)")
	}
	if o.sample <= 0 {
		return fmt.Errorf("--sample %v: must be positive", time.Duration(o.sample))
	}
	if !fs.Changed("series") {
		return nil
	}
	if o.file == "" {
		return errors.New(`--series "": want the name of the file to write, ending in .csv or .json`)
	}
	if _, err := seriesFormat(o.file); err != nil {
		return err
	}
	f, err := os.OpenFile(o.file, os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return fmt.Errorf("--series %s: %v", o.file, errors.Unwrap(err))
	}
	return f.Close()
}

func seriesFormat(file string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(file)); ext {
	case ".csv", ".json":
		return ext[1:], nil
	default:
		return "", fmt.Errorf("--series %s: want a file name ending in .csv or .json (the extension chooses the format)", file)
	}
}

// writeSeriesFile writes s to file in the format its extension names.
func writeSeriesFile(file string, s *rpt.Series) error {
	format, err := seriesFormat(file)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if format == "csv" {
		err = s.WriteCSV(&b)
	} else {
		err = s.WriteJSON(&b)
	}
	if err == nil {
		err = os.WriteFile(file, b.Bytes(), 0o666)
	}
	if err != nil {
		return fmt.Errorf("--series %s: %v", file, err)
	}
	return nil
}

// seriesHooks makes the Series that --series and -i ask for (nil when not
// asked) over the network's connections and link, and returns the event
// hook feeding them, or nil.
func (n *network) seriesHooks(o *options) func(*sim.Event) {
	mk := func(every time.Duration) *rpt.Series {
		return rpt.NewSeries(rpt.SeriesOptions{Every: every, Flows: n.an.Analyzer,
			Conns: func() []*stack.Conn { return n.conns },
			Links: func() []*sim.Link {
				if n.link == nil {
					return nil
				}
				return []*sim.Link{n.link}
			}})
	}
	if o.series.file != "" {
		n.series = mk(time.Duration(o.series.sample))
	}
	if o.interval > 0 && !o.json && !o.csv {
		n.ivSeries = mk(time.Duration(o.interval))
	}
	if n.series == nil && n.ivSeries == nil {
		return nil
	}
	if n.rep != nil && n.series != nil {
		n.rep.UseSeries(n.series) // the page draws the file's samples
	}
	return func(e *sim.Event) {
		if n.an.Stopped() {
			return
		}
		if n.series != nil {
			n.series.Event(e)
		}
		if n.ivSeries != nil {
			n.ivSeries.Event(e)
		}
	}
}

// finishSeries ends the samples at the world's time and writes --series.
func (n *network) finishSeries(o *options) error {
	end := n.now()
	if n.ivSeries != nil {
		n.ivSeries.Finish(end)
	}
	if n.series == nil {
		return nil
	}
	n.series.Finish(end)
	return writeSeriesFile(o.series.file, n.series)
}

// printIperfIntervals prints s as iperf3 prints its -i reports: per
// interval a line for each connection that sent data (the payload its peer
// acknowledged in the interval, that as a rate, the segments it
// retransmitted and its congestion window at the interval's end), then a
// SUM line when several did. A flow whose two ends both sent (--bidir)
// has a TX-C line (the client's sending) and an RX-C line.
func printIperfIntervals(w io.Writer, s *rpt.Series) {
	if s == nil {
		return
	}
	type sender struct {
		c    *rpt.ConnSeries
		tag  string
		last time.Duration // the end of its last interval with data acknowledged
	}
	var senders []sender
	perFlow := map[int]int{}
	for _, c := range s.Conns() {
		var d uint64
		var last time.Duration
		for _, p := range c.Points {
			if p.Delivered > 0 {
				d, last = d+p.Delivered, p.At
			}
		}
		if d > 0 {
			senders = append(senders, sender{c: c, last: last})
			perFlow[c.FlowIndex()]++
		}
	}
	if len(senders) == 0 {
		return
	}
	slices.SortStableFunc(senders, func(a, b sender) int { return a.c.FlowIndex() - b.c.FlowIndex() })
	idw := 5 // "[ ID]"
	for i := range senders {
		c := senders[i].c
		if perFlow[c.FlowIndex()] > 1 && c.Flow != nil {
			idw = 11
			senders[i].tag = "[RX-C]"
			if c.Local == c.Flow.Client {
				senders[i].tag = "[TX-C]"
			}
		}
	}
	// The intervals: the boundaries of every sender's points, in order.
	seen := map[time.Duration]time.Duration{}
	var ends []time.Duration
	for _, sd := range senders {
		for _, p := range sd.c.Points {
			if _, ok := seen[p.At]; !ok && p.At <= sd.last {
				seen[p.At] = p.Interval
				ends = append(ends, p.At)
			}
		}
	}
	slices.Sort(ends)
	fmt.Fprintf(w, "%-*s %-19s  %12s  %15s  %5s  %12s\n", idw, "[ ID]", "Interval", "Transfer", "Bitrate", "Retr", "Cwnd")
	idx := make([]int, len(senders))
	prevRetr := make([]uint64, len(senders))
	for _, at := range ends {
		from := at - seen[at]
		var sumB, sumR uint64
		lines := 0
		for k, sd := range senders {
			pts := sd.c.Points
			for idx[k] < len(pts) && pts[idx[k]].At < at {
				prevRetr[k] = pts[idx[k]].Retrans
				idx[k]++
			}
			if idx[k] >= len(pts) || pts[idx[k]].At != at || at > sd.last {
				continue
			}
			p := &pts[idx[k]]
			retr := p.Retrans - prevRetr[k]
			id := fmt.Sprintf("[%3d]%s", sd.c.FlowIndex(), sd.tag)
			fmt.Fprintf(w, "%-*s %s  %12s  %15s  %5d  %12s\n", idw, id, ivText(from, at), iperfBytes(float64(p.Delivered)), iperfRate(p.Rate()), retr, iperfBytes(float64(p.Cwnd)))
			sumB, sumR = sumB+p.Delivered, sumR+retr
			lines++
		}
		if lines > 1 || len(senders) > 1 && lines > 0 {
			rate := 0.0
			if d := at - from; d > 0 {
				rate = float64(sumB) * 8 / d.Seconds()
			}
			fmt.Fprintf(w, "%-*s %s  %12s  %15s  %5d\n", idw, "[SUM]", ivText(from, at), iperfBytes(float64(sumB)), iperfRate(rate), sumR)
		}
	}
	fmt.Fprintln(w)
}

func ivText(from, to time.Duration) string {
	return fmt.Sprintf("%7.3f-%-7.3f sec", from.Seconds(), to.Seconds())
}

// iperfBytes writes a byte count as iperf3 does (KBytes = 1024 bytes).
func iperfBytes(v float64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.2f GBytes", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.2f MBytes", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.1f KBytes", v/(1<<10))
	}
	return fmt.Sprintf("%.0f Bytes", v)
}

// iperfRate writes a bit rate as iperf3 does (Mbits = 10⁶ bits).
func iperfRate(bps float64) string {
	switch {
	case bps >= 1e9:
		return fmt.Sprintf("%.2f Gbits/sec", bps/1e9)
	case bps >= 1e6:
		return fmt.Sprintf("%.2f Mbits/sec", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.1f Kbits/sec", bps/1e3)
	}
	return fmt.Sprintf("%.0f bits/sec", bps)
}

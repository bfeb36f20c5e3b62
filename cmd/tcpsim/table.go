package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tcpsim/tcpsim/flows"
)

// The flow table: one row per flow, one unit per column, and the
// aggregates below it; the same data as JSON (--json) or CSV (--csv).

// flowRow is one flow as the table, the JSON and the CSV show it. Times are
// seconds of virtual time, rates bits per second.
type flowRow struct {
	Flow      int     `json:"flow"`
	Client    string  `json:"client"`
	Server    string  `json:"server"`
	CC        string  `json:"congestion_control"`
	Status    string  `json:"status"` // "completed", "failed" or "incomplete"
	Error     string  `json:"error,omitempty"`
	Start     float64 `json:"start_s"`      // first SYN sent
	FirstByte float64 `json:"first_byte_s"` // first payload sent (main direction)
	LastByte  float64 `json:"last_byte_s"`  // last new payload delivered (main direction)
	FCT       float64 `json:"fct_s"`        // completion time: first SYN to last payload delivered
	// Client→server and server→client.
	Bytes       [2]int64       `json:"bytes"`         // payload without retransmissions
	BytesSent   [2]int64       `json:"bytes_sent"`    // payload, retransmissions included
	Packets     [2]int         `json:"packets"`       // sent
	Delivered   [2]int         `json:"delivered"`     // delivered by the link
	Retrans     [2]int         `json:"retransmitted"` // segments sent again
	Drops       map[string]int `json:"drops"`         // link drops by reason, both ways
	Duplicated  int            `json:"duplicated"`
	Corrupted   int            `json:"corrupted"`
	Goodput     float64        `json:"goodput_bps"`
	RTTSamples  int            `json:"rtt_samples"`
	RTTMin      float64        `json:"rtt_min_ms"`
	RTTMean     float64        `json:"rtt_mean_ms"`
	RTTp50      float64        `json:"rtt_p50_ms"`
	RTTp99      float64        `json:"rtt_p99_ms"`
	HandshakeMS float64        `json:"handshake_rtt_ms"` // SYN to SYN-ACK delivered
}

func newFlowRow(f *Flow, cc string) flowRow {
	r := flowRow{
		Flow:   f.Index,
		Client: f.Client.String(),
		Server: f.Server.String(),
		CC:     cc,
		Start:  f.SYNAt.Seconds(),
		Drops:  map[string]int{},
	}
	for i := range f.Dir {
		d := &f.Dir[i]
		r.Bytes[i], r.BytesSent[i] = d.UniqueBytes(), d.Payload
		r.Packets[i], r.Delivered[i], r.Retrans[i] = d.Packets, d.Delivered, d.Retrans
		r.Duplicated += d.Duplicated
		r.Corrupted += d.Corrupted
		for reason, n := range d.DropReasons {
			r.Drops[reason] += n
		}
	}
	m := f.Main()
	if m.HasData {
		r.FirstByte = m.FirstData.Seconds()
	}
	if m.HasLastData {
		r.LastByte = m.LastData.Seconds()
	}
	switch fct, ok := f.CompletionTime(); {
	case f.Failure != "":
		r.Status, r.Error = "failed", f.Failure
	case ok:
		r.Status, r.FCT = "completed", fct.Seconds()
	default:
		r.Status = "incomplete"
	}
	if g, ok := f.Goodput(); ok {
		r.Goodput = g
	}
	if rt := &m.RTT; rt.Count() > 0 {
		r.RTTSamples = rt.Count()
		r.RTTMin, r.RTTMean, r.RTTp50, r.RTTp99 = ms(rt.Min()), ms(rt.Mean()), ms(rt.Percentile(50)), ms(rt.Percentile(99))
	}
	if f.SYNACKDeliveredAt > 0 {
		r.HandshakeMS = ms(f.SYNACKDeliveredAt - f.SYNAt)
	}
	return r
}

// summaryDoc is the aggregates as JSON shows them.
type summaryDoc struct {
	Flows        int     `json:"flows"`
	Completed    int     `json:"completed"`
	Failed       int     `json:"failed"`
	FCTp50       float64 `json:"fct_p50_s"`
	FCTp90       float64 `json:"fct_p90_s"`
	FCTp99       float64 `json:"fct_p99_s"`
	FCTMax       float64 `json:"fct_max_s"`
	Jain         float64 `json:"jain_fairness"`
	Bytes        int64   `json:"bytes"`
	RetransBytes int64   `json:"retransmitted_bytes"`
	Retrans      int     `json:"retransmitted_segments"`
	Drops        int     `json:"link_drops"`
	Goodput      float64 `json:"aggregate_goodput_bps"`
	// Bottleneck is the link direction busiest over the run (run and
	// sweep: of the whole network; transfer and get: of the bottleneck
	// link), or absent when no direction has a rate.
	Bottleneck *linkUse `json:"bottleneck,omitempty"`
}

func newSummaryDoc(s flows.Summary) summaryDoc {
	return summaryDoc{Flows: s.Flows, Completed: s.Completed, Failed: s.Failed,
		FCTp50: s.FCTp50.Seconds(), FCTp90: s.FCTp90.Seconds(), FCTp99: s.FCTp99.Seconds(), FCTMax: s.FCTMax.Seconds(),
		Jain: s.Jain, Bytes: s.Bytes, RetransBytes: s.RetransBytes, Retrans: s.Retrans, Drops: s.Drops, Goodput: s.Goodput}
}

// runDoc is the whole --json document.
type runDoc struct {
	Command string     `json:"command"`
	Seed    uint64     `json:"seed"`
	Link    string     `json:"link"`
	Flows   []flowRow  `json:"flows"`
	Summary summaryDoc `json:"summary"`
	// Links is the bottleneck link's two directions' utilisation.
	Links     []linkUse     `json:"links,omitempty"`
	Intervals []intervalRow `json:"intervals,omitempty"`
	Error     string        `json:"error,omitempty"`
}

func writeJSON(w io.Writer, doc runDoc) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

var csvHeader = []string{"flow", "client", "server", "congestion_control", "status", "error", "start_s", "first_byte_s", "last_byte_s", "fct_s",
	"bytes_c2s", "bytes_s2c", "bytes_sent_c2s", "bytes_sent_s2c", "packets_c2s", "packets_s2c", "delivered_c2s", "delivered_s2c",
	"retrans_c2s", "retrans_s2c", "drops", "duplicated", "corrupted", "goodput_bps", "rtt_samples", "rtt_min_ms", "rtt_mean_ms", "rtt_p50_ms", "rtt_p99_ms", "handshake_rtt_ms"}

func writeCSV(w io.Writer, rows []flowRow) error {
	return writeCSVRows(w, len(rows), func(i int) *flowRow { return &rows[i] })
}

// writeCSVRows writes n rows, row(i) giving the i-th: a million flows'
// rows need not all exist at once.
func writeCSVRows(w io.Writer, n int, row func(int) *flowRow) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for i := range n {
		r := row(i)
		drops := 0
		for _, n := range r.Drops {
			drops += n
		}
		cw.Write([]string{strconv.Itoa(r.Flow), r.Client, r.Server, r.CC, r.Status, r.Error, f(r.Start), f(r.FirstByte), f(r.LastByte), f(r.FCT),
			strconv.FormatInt(r.Bytes[0], 10), strconv.FormatInt(r.Bytes[1], 10), strconv.FormatInt(r.BytesSent[0], 10), strconv.FormatInt(r.BytesSent[1], 10),
			strconv.Itoa(r.Packets[0]), strconv.Itoa(r.Packets[1]), strconv.Itoa(r.Delivered[0]), strconv.Itoa(r.Delivered[1]),
			strconv.Itoa(r.Retrans[0]), strconv.Itoa(r.Retrans[1]), strconv.Itoa(drops), strconv.Itoa(r.Duplicated), strconv.Itoa(r.Corrupted),
			f(r.Goodput), strconv.Itoa(r.RTTSamples), f(r.RTTMin), f(r.RTTMean), f(r.RTTp50), f(r.RTTp99), f(r.HandshakeMS)})
	}
	cw.Flush()
	return cw.Error()
}

// printFlowTable writes the human table: one row per flow.
func printFlowTable(w io.Writer, rows []flowRow) { printFlowTableCC(w, rows, false) }

// printFlowTableCC is printFlowTable with, when withCC is set, a column
// after the server's naming each flow's congestion control (transfer
// --cc with one algorithm per flow).
func printFlowTableCC(w io.Writer, rows []flowRow, withCC bool) {
	ccW := 0
	if withCC {
		ccW = len("cc")
		for _, r := range rows {
			ccW = max(ccW, len(r.CC))
		}
	}
	ccCol := func(s string) string {
		if !withCC {
			return ""
		}
		return fmt.Sprintf("%-*s  ", ccW, s)
	}
	fmt.Fprintf(w, "%5s  %-21s  %-21s  %s%-10s  %9s  %9s  %11s  %11s  %7s  %5s  %5s  %10s  %23s\n",
		"flow", "client", "server", ccCol("cc"), "status", "start s", "FCT s", "bytes c→s", "bytes s→c", "packets", "rtx", "drops", "Mbit/s", "RTT min/mean/p99 ms")
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
		fmt.Fprintf(w, "%5d  %-21s  %-21s  %s%-10s  %9.3f  %9s  %11d  %11d  %7d  %5d  %5d  %10.3f  %23s\n",
			r.Flow, r.Client, r.Server, ccCol(r.CC), r.Status, r.Start, fct, r.Bytes[0], r.Bytes[1], r.Packets[0]+r.Packets[1],
			r.Retrans[0]+r.Retrans[1], drops, r.Goodput/1e6, rtt)
	}
}

// printAggregates writes the totals under the table.
func printAggregates(w io.Writer, s flows.Summary) {
	fmt.Fprintf(w, "flows: %d, %d completed, %d failed", s.Flows, s.Completed, s.Failed)
	if s.Flows > s.Completed+s.Failed {
		fmt.Fprintf(w, ", %d incomplete", s.Flows-s.Completed-s.Failed)
	}
	fmt.Fprintln(w)
	if s.Completed > 0 {
		fmt.Fprintf(w, "completion time s: p50 %.3f, p90 %.3f, p99 %.3f, max %.3f; Jain's fairness index %.3f\n",
			s.FCTp50.Seconds(), s.FCTp90.Seconds(), s.FCTp99.Seconds(), s.FCTMax.Seconds(), s.Jain)
	}
	fmt.Fprintf(w, "all flows: %d bytes, %d retransmissions, %d link drops", s.Bytes, s.Retrans, s.Drops)
	if s.Goodput > 0 {
		fmt.Fprintf(w, ", aggregate goodput %s", formatBitRate(s.Goodput))
	}
	fmt.Fprintln(w)
}

// intervalRow is one -i report: the payload acknowledged over all flows
// in [From, To) seconds of virtual time.
type intervalRow struct {
	From  float64 `json:"from_s"`
	To    float64 `json:"to_s"`
	Bytes int64   `json:"bytes"`
	Bps   float64 `json:"bits_per_second"`
}

// printIntervals writes the -i lines, iperf3's way.
func printIntervals(w io.Writer, rows []intervalRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "%-17s  %12s  %14s\n", "interval s", "acked bytes", "Mbit/s")
	for _, r := range rows {
		fmt.Fprintf(w, "%7.3f-%-9.3f  %12d  %14.3f\n", r.From, r.To, r.Bytes, r.Bps/1e6)
	}
	fmt.Fprintln(w)
}

// failureText turns a flow's error into the one line the table keeps.
func failureText(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s, "dial ") {
		return s[i+2:]
	}
	return s
}

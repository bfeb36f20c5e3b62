package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/flows"
	"github.com/tcpsim/tcpsim/scenario"
	"github.com/tcpsim/tcpsim/sim"
)

// runOptions are the flags of `tcpsim run`.
type runOptions struct {
	seed      flagval.Uint64
	timeout   flagval.Duration
	json, csv bool
	rep       reportOptions    // --report and --plot (report.go)
	series    seriesOptions    // --series, --sample (series.go)
	interval  flagval.Duration // -i
	pcap      string           // --pcap FILE: refused, run needs NODE=FILE
	pcapAt    []pcapAt         // --pcap NODE[@LINK]=FILE (capture.go)
	pcapng    string           // --pcapng FILE
}

func newRunCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a scenario file: a network of hosts, routers and links, its flows and events",
		Long: `run reads a scenario (YAML, described in docs/scenarios.md), checks it, builds
the network, runs every flow and prints the flow table and the aggregates.
An invalid scenario is rejected before it runs, with the file, line, column
and field of each problem (exit status 2); a flow that fails makes the exit
status 1.`,
		Example: `  tcpsim run docs/examples/dumbbell.yaml
  tcpsim run dumbbell.yaml --seed 7 --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("run needs exactly one scenario file, got %d arguments", len(args))
			}
			return nil
		},
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if o.json && o.csv {
				return errors.New("--json and --csv are exclusive: choose one output format")
			}
			if cmd.Flags().Changed("timeout") && o.timeout == 0 {
				return errors.New("--timeout 0s: every run needs a virtual-time limit")
			}
			if cmd.Flags().Changed("interval") && o.interval == 0 {
				return errors.New("--interval 0: want a positive duration such as 1s")
			}
			if o.pcap != "" {
				return fmt.Errorf("--pcap %s: run has many hosts; say where, as NODE=FILE or NODE@LINK=FILE", o.pcap)
			}
			if err := validateCaptures(cmd.Flags(), o.pcapAt, o.pcapng, nil); err != nil {
				return err
			}
			if err := o.series.validate(cmd.Flags(), cmp.Or(time.Duration(o.timeout), scenario.DefaultTimeout)); err != nil {
				return err
			}
			return o.rep.validate(cmd.Flags())
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := scenario.Load(args[0])
			if err != nil {
				return err // a bad file is bad input: status 2
			}
			if err := s.Validate(); err != nil {
				return err
			}
			warnScenarioSeqWrap(stderr, s) // seqwrap.go
			opt := scenario.Options{Timeout: time.Duration(o.timeout)}
			if o.series.file != "" {
				opt.Sample = time.Duration(o.series.sample)
				if !cmd.Flags().Changed("sample") && s.Sample > 0 {
					opt.Sample = time.Duration(s.Sample) // the file's period
				}
			}
			if !o.json && !o.csv {
				opt.Interval = time.Duration(o.interval)
			}
			if cmd.Flags().Changed("seed") {
				seed := uint64(o.seed)
				opt.Seed = &seed
			}
			caps, closeCaps, err := o.openCaptures(s)
			if err != nil {
				return err // a capture the scenario cannot take: status 2
			}
			opt.Captures = caps
			err = runScenario(stdout, args[0], s, opt, o)
			if cerr := closeCaps(); err == nil {
				err = cerr
			}
			if err != nil {
				return &runError{err}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.Var(&o.seed, "seed", "random seed, replacing the scenario's")
	fs.Var(&o.timeout, "timeout", "virtual-time limit, replacing the scenario's (default 10m)")
	fs.BoolVar(&o.json, "json", false, "print the flow table and totals as one JSON document instead of text")
	fs.BoolVar(&o.csv, "csv", false, "print the flow table as CSV instead of text")
	o.rep.addFlags(fs, stderr)
	addSeriesFlags(fs, &o.series)
	fs.Lookup("sample").Usage = "with --series: virtual time between two samples (default: the file's sample, else 10ms)"
	fs.VarP(&o.interval, "interval", "i", "print iperf3-style lines (bytes acknowledged, rate, retransmissions, cwnd) of each sending connection every this much virtual time")
	fs.Var(pcapFlag{&o.pcap, &o.pcapAt}, "pcap", "write a capture at a node's link end to FILE, as NODE=FILE (a node with one link) or NODE@LINK=FILE; FILE.pcapng holds every link end of NODE; repeatable")
	fs.StringVar(&o.pcapng, "pcapng", "", "write one pcapng `FILE` with every link end of the network as an interface (NODE:LINK) and each drop on an interface of its direction and reason")
	return cmd
}

// scenarioRow is a flow of a scenario as --json shows it: the flow table's
// row plus the scenario's names for it.
type scenarioRow struct {
	flowRow
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
	App  string `json:"app"`
}

// scenarioDoc is the --json document of `tcpsim run`.
type scenarioDoc struct {
	Command  string        `json:"command"`
	File     string        `json:"file"`
	Scenario string        `json:"scenario"`
	Seed     uint64        `json:"seed"`
	End      float64       `json:"end_s"` // virtual time the run stopped at
	Flows    []scenarioRow `json:"flows"`
	Summary  summaryDoc    `json:"summary"`
	// Links is the utilisation of every link direction, in file order.
	Links []linkUse `json:"links"`
	Error string    `json:"error,omitempty"`
}

func runScenario(w io.Writer, file string, s *scenario.Scenario, opt scenario.Options, o *runOptions) error {
	defer oneThread()()
	rec := o.rep.recorder()
	if rec != nil {
		opt.OnEvent = rec.Event
	}
	res, err := scenario.Run(s, opt)
	if err != nil {
		return err
	}
	if o.series.file != "" && res.Series != nil {
		if err := writeSeriesFile(o.series.file, res.Series); err != nil {
			return err
		}
	}
	fs := scenarioFlows(res) // sweep.go
	rows := make([]scenarioRow, len(res.Flows))
	for i := range res.Flows {
		fr, f := &res.Flows[i], fs[i]
		rows[i] = scenarioRow{flowRow: newFlowRow(f, fr.CC), Name: fr.Name, From: fr.From, To: fr.To, App: fr.App}
		if fr.Flow == nil {
			rows[i].Client = fr.From
			rows[i].Server = fmt.Sprintf("%s:%d", fr.To, fr.Port)
		}
	}
	sum := flows.Summarize(fs)
	uses := linkUses(res.Links, res.End)
	plain := make([]flowRow, len(rows))
	for i := range rows {
		plain[i] = rows[i].flowRow
	}
	if err := o.rep.writeScenario(rec, fmt.Sprintf("tcpsim run %s (seed %d)", file, res.Seed), plain); err != nil {
		return err
	}
	switch {
	case o.json:
		doc := scenarioDoc{Command: "run", File: file, Scenario: s.Name, Seed: res.Seed, End: res.End.Seconds(), Flows: rows, Summary: newSummaryDoc(sum), Links: uses}
		doc.Summary.Bottleneck = busiest(uses)
		if res.Err != nil {
			doc.Error = res.Err.Error()
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
	case o.csv:
		plain := make([]flowRow, len(rows))
		for i := range rows {
			plain[i] = rows[i].flowRow
		}
		if err := writeCSV(w, plain); err != nil {
			return err
		}
	default:
		name := s.Name
		if name == "" {
			name = file
		}
		fmt.Fprintf(w, "tcpsim run %s: %s (seed %d)\n", file, name, res.Seed)
		fmt.Fprintf(w, "network: %d hosts, %d routers, %d links; %d flows; ended at %.3f s of virtual time\n\n",
			len(s.Hosts), len(s.Routers), len(res.Links), len(res.Flows), res.End.Seconds())
		appW := 8 // wider for request_response
		for i := range res.Flows {
			appW = max(appW, len(res.Flows[i].App))
		}
		fmt.Fprintf(w, "%5s  %-16s  %-24s  %-*s  %-8s  %9s\n", "flow", "name", "from → to:port", appW, "app", "cc", "start s")
		for i := range res.Flows {
			fr := &res.Flows[i]
			fmt.Fprintf(w, "%5d  %-16s  %-24s  %-*s  %-8s  %9.3f\n", fr.Index, fr.Name,
				fmt.Sprintf("%s → %s:%d", fr.From, fr.To, fr.Port), appW, fr.App, fr.CC, fr.Start.Seconds())
		}
		fmt.Fprintln(w)
		printIperfIntervals(w, res.Intervals)
		plain := make([]flowRow, len(rows))
		for i := range rows {
			plain[i] = rows[i].flowRow
		}
		printFlowTable(w, plain)
		fmt.Fprintln(w)
		printAggregates(w, sum)
		printBusiest(w, busiest(uses))
		fmt.Fprintln(w)
		printLinkUses(w, uses)
		printLinkDrops(w, res.Links)
		var parts []string
		for _, h := range res.Hosts {
			if d := hostDrops(h); d != "" {
				parts = append(parts, h.Name()+" "+d)
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "host drops: %s\n", strings.Join(parts, "; "))
		}
	}
	switch {
	case errors.Is(res.Err, sim.ErrTimeLimit):
		return fmt.Errorf("the scenario did not finish within its time limit (%v of virtual time; --timeout sets another)", res.End)
	case res.Err != nil:
		return res.Err
	}
	if n := res.Failed(); n > 0 {
		first := 0
		for i := range res.Flows {
			if res.Flows[i].Err != nil {
				first = i
				break
			}
		}
		fr := &res.Flows[first]
		if n == 1 {
			return fmt.Errorf("flow %d (%s) failed: %v", fr.Index, fr.Name, fr.Err)
		}
		return fmt.Errorf("%d of %d flows failed; the first, flow %d (%s): %v", n, len(res.Flows), fr.Index, fr.Name, fr.Err)
	}
	return nil
}

// printLinkDrops prints one line per link direction that dropped packets.
func printLinkDrops(w io.Writer, links []*sim.Link) {
	first := true
	for _, l := range links {
		for from := range 2 {
			st := l.Stats(from)
			drops := st.DropQueue + st.DropMTU + st.DropFault + st.DropOther
			if drops == 0 {
				continue
			}
			if first {
				fmt.Fprintln(w, "link drops:")
				first = false
			}
			a, b := l.End(from).NodeName(), l.End(from^1).NodeName()
			fmt.Fprintf(w, "  %s %s→%s: %d of %d packets (queue %d, fault %d, mtu %d, other %d); most queued %d\n",
				l.Name(), a, b, drops, st.Sent, st.DropQueue, st.DropFault, st.DropMTU, st.DropOther, st.MaxQueue)
		}
	}
}

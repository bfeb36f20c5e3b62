package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/tcpsim/tcpsim/flows"
	"github.com/tcpsim/tcpsim/scenario"
)

// tcpsim sweep FILE: the scenario over seeds and a grid of parameter
// values, each run an independent world on a core of its own, merged into
// one table; --shard i/N runs every Nth run only, and tcpsim merge joins
// the shards' --json documents into the table the whole sweep prints.

func init() { extraCommands = append(extraCommands, newSweepCommand, newMergeCommand) }

type sweepOptions struct {
	seeds     string
	sets      []string
	jobs      int
	shard     string
	json, csv bool
}

// sweepSet is one --set PATH=V1,V2,…
type sweepSet struct {
	Path   string   `json:"path"`
	Values []string `json:"values"`
}

// sweepRun is one run of a sweep: a point of the grid and a seed.
type sweepRun struct {
	Job    int               `json:"job"` // from 0: grid point × seeds + seed's place
	Params map[string]string `json:"params"`
	Seed   uint64            `json:"seed"`
	End    float64           `json:"end_s"`
	Sum    summaryDoc        `json:"summary"`
	Error  string            `json:"error,omitempty"`
}

// sweepDoc is the --json document of sweep (one shard or all) and of merge.
type sweepDoc struct {
	Command  string     `json:"command"`
	File     string     `json:"file"`
	Scenario string     `json:"scenario"`
	Sets     []sweepSet `json:"sets"`
	Seeds    []uint64   `json:"seeds"`
	Jobs     int        `json:"jobs"`            // runs in the whole sweep
	Shard    string     `json:"shard,omitempty"` // "i/N" of a shard
	Runs     []sweepRun `json:"runs"`
}

func newSweepCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &sweepOptions{}
	cmd := &cobra.Command{
		Use:   "sweep FILE",
		Short: "Run a scenario over seeds and a grid of parameter values on all cores, one table",
		Long: `sweep runs the scenario FILE once per seed (--seeds) and point of the grid
that the --set flags span (each PATH=V1,V2,… a field of the file in its own
words; the first --set varies slowest, the seed fastest). The runs are
independent worlds, run --jobs at a time; the table has a row per run, in
that order, whatever the number of jobs. --shard i/N runs only the runs
i, i+N, i+2N, … (i from 1): give each machine of a batch one shard with
--json, and tcpsim merge joins their documents into the sweep's table.`,
		Example: `  tcpsim sweep docs/examples/dumbbell.yaml --seeds 1-8 --set links[bottleneck].rate=5mbit,10mbit,20mbit
  tcpsim sweep dumbbell.yaml --seeds 1-100 --shard 3/10 --json > shard3.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("sweep needs exactly one scenario file, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.json && o.csv {
				return errors.New("--json and --csv are exclusive: choose one output format")
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			base, err := scenario.Parse(args[0], data)
			if err != nil {
				return err
			}
			if err := base.Validate(); err != nil {
				return err
			}
			seeds := []uint64{base.Seed}
			if cmd.Flags().Changed("seeds") {
				if seeds, err = parseSeeds(o.seeds); err != nil {
					return fmt.Errorf("--seeds %s: %v", o.seeds, err)
				}
			}
			sets, err := parseSets(o.sets)
			if err != nil {
				return err
			}
			// Every grid point must make a valid scenario: checked before
			// anything runs.
			points := gridPoints(sets)
			for _, pt := range points {
				if _, err := pointScenario(args[0], data, sets, pt); err != nil {
					return err
				}
			}
			shardI, shardN := 1, 1
			if o.shard != "" {
				if shardI, shardN, err = parseShard(o.shard); err != nil {
					return fmt.Errorf("--shard %s: %v", o.shard, err)
				}
			}
			if o.jobs < 1 {
				return fmt.Errorf("--jobs %d: want at least 1", o.jobs)
			}
			// Each world is serial: one thread per job (see oneThread).
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.jobs))
			doc := sweepDoc{Command: "sweep", File: args[0], Scenario: base.Name, Sets: sets, Seeds: seeds, Jobs: len(points) * len(seeds)}
			if o.shard != "" {
				doc.Shard = o.shard
			}
			var jobs []int
			for j := shardI - 1; j < doc.Jobs; j += shardN {
				jobs = append(jobs, j)
			}
			doc.Runs = runSweep(args[0], data, sets, points, seeds, jobs, o.jobs, progressWriter(stderr))
			if err := printSweep(stdout, &doc, o.json, o.csv); err != nil {
				return err
			}
			return sweepStatus(&doc)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.seeds, "seeds", "", "seeds to run, as a list and ranges: 1-10 or 1,5,9 or 1-3,7 (default: the file's seed)")
	fs.StringArrayVar(&o.sets, "set", nil, "a parameter of the grid, as PATH=V1,V2,… with PATH a field of the file (links[bottleneck].rate, flows[0].size, hosts[server].tcp.rcvbuf); repeatable")
	fs.IntVar(&o.jobs, "jobs", runtime.NumCPU(), "runs at a time (default: the machine's cores)")
	fs.StringVar(&o.shard, "shard", "", "run only shard i of N (i from 1): runs i, i+N, i+2N, …; merge the shards' --json with tcpsim merge")
	fs.BoolVar(&o.json, "json", false, "print one JSON document (the input of tcpsim merge) instead of the table")
	fs.BoolVar(&o.csv, "csv", false, "print the table as CSV")
	return cmd
}

func newMergeCommand(stdout, stderr io.Writer) *cobra.Command {
	var asJSON, asCSV bool
	cmd := &cobra.Command{
		Use:   "merge SHARD.json…",
		Short: "Join the --json documents of a sharded sweep into the sweep's table",
		Long: `merge reads the --json documents of tcpsim sweep --shard i/N runs, checks that
they come from one sweep (the same file, grid and seeds) and that every run
is there once, and prints the table the unsharded sweep prints (or its
--json or --csv), byte for byte.`,
		Example: `  tcpsim merge shard1.json shard2.json shard3.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("merge needs the shards' JSON files")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON && asCSV {
				return errors.New("--json and --csv are exclusive: choose one output format")
			}
			doc, err := mergeDocs(args)
			if err != nil {
				return err
			}
			if err := printSweep(stdout, doc, asJSON, asCSV); err != nil {
				return err
			}
			return sweepStatus(doc)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the merged JSON document")
	cmd.Flags().BoolVar(&asCSV, "csv", false, "print the table as CSV")
	return cmd
}

func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	seen := map[uint64]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: want a seed or a range such as 1-10", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("%q: want a range low-high such as 1-10", part)
			}
		}
		if b-a >= 1<<20 || len(out) > 1<<20 {
			return nil, fmt.Errorf("%q: at most %d seeds", part, 1<<20)
		}
		for v := a; ; v++ {
			if seen[v] {
				return nil, fmt.Errorf("seed %d given twice", v)
			}
			seen[v] = true
			out = append(out, v)
			if v == b {
				break
			}
		}
	}
	return out, nil
}

func parseSets(args []string) ([]sweepSet, error) {
	var out []sweepSet
	for _, a := range args {
		path, vals, ok := strings.Cut(a, "=")
		if !ok || path == "" || vals == "" {
			return nil, fmt.Errorf("--set %q: want PATH=V1,V2,… such as links[bottleneck].rate=5mbit,10mbit", a)
		}
		if path == "seed" {
			return nil, fmt.Errorf("--set %s: the seeds are --seeds's (--seeds %s)", a, vals)
		}
		for _, s := range out {
			if s.Path == path {
				return nil, fmt.Errorf("--set %s: the path is set twice", path)
			}
		}
		out = append(out, sweepSet{Path: path, Values: strings.Split(vals, ",")})
	}
	return out, nil
}

func parseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, errors.New("want i/N with 1 ≤ i ≤ N, such as 1/4")
	}
	return i, n, nil
}

// gridPoints lists the grid's points, each the index of a value per set,
// the first set varying slowest.
func gridPoints(sets []sweepSet) [][]int {
	points := [][]int{{}}
	for _, s := range sets {
		var next [][]int
		for _, p := range points {
			for k := range s.Values {
				next = append(next, append(slices.Clone(p), k))
			}
		}
		points = next
	}
	return points
}

// pointScenario decodes the file afresh and applies a grid point.
func pointScenario(file string, data []byte, sets []sweepSet, pt []int) (*scenario.Scenario, error) {
	s, err := scenario.Parse(file, data)
	if err != nil {
		return nil, err
	}
	for i, k := range pt {
		if err := s.Set(sets[i].Path, sets[i].Values[k]); err != nil {
			return nil, fmt.Errorf("--set %v", err)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("with %s: %v", pointText(sets, pt), err)
	}
	return s, nil
}

func pointText(sets []sweepSet, pt []int) string {
	var parts []string
	for i, k := range pt {
		parts = append(parts, sets[i].Path+"="+sets[i].Values[k])
	}
	return strings.Join(parts, " ")
}

// runSweep runs the given jobs, at most par at a time, and returns their
// rows in job order.
func runSweep(file string, data []byte, sets []sweepSet, points [][]int, seeds []uint64, jobs []int, par int, progress io.Writer) []sweepRun {
	runs := make([]sweepRun, len(jobs))
	var mu sync.Mutex
	done := 0
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(par, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				runs[i] = runJob(file, data, sets, points, seeds, jobs[i])
				mu.Lock()
				done++
				if progress != nil {
					fmt.Fprintf(progress, "\rsweep: %d of %d runs", done, len(jobs))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	if progress != nil && len(jobs) > 0 {
		fmt.Fprintln(progress)
	}
	return runs
}

func runJob(file string, data []byte, sets []sweepSet, points [][]int, seeds []uint64, job int) sweepRun {
	pt, seed := points[job/len(seeds)], seeds[job%len(seeds)]
	r := sweepRun{Job: job, Params: map[string]string{}, Seed: seed}
	for i, k := range pt {
		r.Params[sets[i].Path] = sets[i].Values[k]
	}
	s, err := pointScenario(file, data, sets, pt)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	res, err := scenario.Run(s, scenario.Options{Seed: &seed})
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.End = res.End.Seconds()
	r.Sum = newSummaryDoc(flows.Summarize(scenarioFlows(res)))
	r.Sum.Bottleneck = busiest(linkUses(res.Links, res.End))
	switch {
	case res.Err != nil:
		r.Error = res.Err.Error()
	case res.Failed() > 0:
		for _, f := range res.Flows {
			if f.Err != nil {
				r.Error = fmt.Sprintf("%d of %d flows failed; the first, %s: %v", res.Failed(), len(res.Flows), f.Name, f.Err)
				break
			}
		}
	}
	return r
}

// scenarioFlows is the run's flows as the flow table shows them: a flow
// that never sent a SYN is an empty one, a failed flow carries its error.
func scenarioFlows(res *scenario.Result) []*Flow {
	fs := make([]*Flow, len(res.Flows))
	for i := range res.Flows {
		fr := &res.Flows[i]
		f := fr.Flow
		if f == nil {
			f = &flows.Flow{}
		}
		f.Index = fr.Index
		if fr.Err != nil {
			f.Failure = failureText(fr.Err)
		}
		fs[i] = f
	}
	return fs
}

// mergeDocs reads shard documents and joins them.
func mergeDocs(files []string) (*sweepDoc, error) {
	var out *sweepDoc
	byJob := map[int]string{}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var d sweepDoc
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("%s: not a tcpsim sweep --json document: %v", name, err)
		}
		if d.Command != "sweep" || d.Jobs < 1 || len(d.Seeds) == 0 {
			return nil, fmt.Errorf("%s: not a tcpsim sweep --json document", name)
		}
		if out == nil {
			first := d
			first.Shard, first.Runs = "", nil
			out = &first
		} else if d.File != out.File || d.Jobs != out.Jobs || !slices.Equal(d.Seeds, out.Seeds) || !sameSets(d.Sets, out.Sets) {
			return nil, fmt.Errorf("%s: from another sweep than %s (file, grid or seeds differ)", name, files[0])
		}
		for _, r := range d.Runs {
			if r.Job < 0 || r.Job >= d.Jobs {
				return nil, fmt.Errorf("%s: run %d is outside the sweep's %d runs", name, r.Job, d.Jobs)
			}
			if prev, dup := byJob[r.Job]; dup {
				return nil, fmt.Errorf("%s: run %d is also in %s (two shards overlap)", name, r.Job, prev)
			}
			byJob[r.Job] = name
			out.Runs = append(out.Runs, r)
		}
	}
	if len(out.Runs) != out.Jobs {
		var missing []string
		for j := 0; j < out.Jobs && len(missing) < 10; j++ {
			if _, ok := byJob[j]; !ok {
				missing = append(missing, strconv.Itoa(j+1))
			}
		}
		return nil, fmt.Errorf("%d of the sweep's %d runs are missing (runs %s…): a shard's document is not given", out.Jobs-len(out.Runs), out.Jobs, strings.Join(missing, ", "))
	}
	slices.SortFunc(out.Runs, func(a, b sweepRun) int { return a.Job - b.Job })
	return out, nil
}

func sameSets(a, b []sweepSet) bool {
	return slices.EqualFunc(a, b, func(x, y sweepSet) bool { return x.Path == y.Path && slices.Equal(x.Values, y.Values) })
}

// printSweep prints the table, the CSV or the JSON document.
func printSweep(w io.Writer, d *sweepDoc, asJSON, asCSV bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	header := []string{"run"}
	for _, s := range d.Sets {
		header = append(header, s.Path)
	}
	header = append(header, "seed", "flows", "failed", "fct_p50_s", "fct_p99_s", "fct_max_s", "jain", "goodput_mbps", "busiest_util", "retrans", "drops", "end_s", "error")
	rows := make([][]string, len(d.Runs))
	for i, r := range d.Runs {
		row := []string{strconv.Itoa(r.Job + 1)}
		for _, s := range d.Sets {
			row = append(row, r.Params[s.Path])
		}
		f3 := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
		row = append(row, strconv.FormatUint(r.Seed, 10), strconv.Itoa(r.Sum.Flows), strconv.Itoa(r.Sum.Failed), f3(r.Sum.FCTp50), f3(r.Sum.FCTp99), f3(r.Sum.FCTMax),
			f3(r.Sum.Jain), f3(r.Sum.Goodput/1e6), busiestUtil(r.Sum.Bottleneck), strconv.Itoa(r.Sum.Retrans), strconv.Itoa(r.Sum.Drops), f3(r.End), r.Error)
		rows[i] = row
	}
	if asCSV {
		cw := csv.NewWriter(w)
		cw.Write(header)
		cw.WriteAll(rows)
		return cw.Error()
	}
	name := d.Scenario
	if name == "" {
		name = d.File
	}
	var grid []string
	for _, s := range d.Sets {
		grid = append(grid, fmt.Sprintf("%d values of %s", len(s.Values), s.Path))
	}
	grid = append(grid, fmt.Sprintf("%d seed(s)", len(d.Seeds)))
	fmt.Fprintf(w, "tcpsim sweep %s: %s\n", d.File, name)
	fmt.Fprintf(w, "grid: %s = %d runs", strings.Join(grid, " × "), d.Jobs)
	if d.Shard != "" {
		fmt.Fprintf(w, "; shard %s: %d of them", d.Shard, len(d.Runs))
	}
	fmt.Fprint(w, "\n\n")
	// Column widths from the header and the cells; the error last, unpadded.
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = len(h)
		for _, r := range rows {
			width[i] = max(width[i], len([]rune(r[i])))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			if i == len(cells)-1 {
				b.WriteString(c)
				break
			}
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i > 0 && i <= len(d.Sets) {
				b.WriteString(c + pad) // parameter values: left
			} else {
				b.WriteString(pad + c)
			}
			b.WriteString("  ")
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
	failed := 0
	for _, r := range d.Runs {
		if r.Error != "" {
			failed++
		}
	}
	fmt.Fprintf(w, "\nruns: %d, %d with failed flows or errors\n", len(d.Runs), failed)
	printPoints(w, d)
	return nil
}

// printPoints summarises each grid point over its seeds, when there are
// several: the mean of the runs' median completion time, goodput and
// Jain's index, with the smallest and largest.
func printPoints(w io.Writer, d *sweepDoc) {
	if len(d.Seeds) < 2 {
		return
	}
	type acc struct {
		n, failed     int
		fct, gp, jain float64
		fctLo, fctHi  float64
		gpLo, gpHi    float64
		params        []string
	}
	var order []int
	byPoint := map[int]*acc{}
	for _, r := range d.Runs {
		p := r.Job / len(d.Seeds)
		a := byPoint[p]
		if a == nil {
			a = &acc{fctLo: r.Sum.FCTp50, fctHi: r.Sum.FCTp50, gpLo: r.Sum.Goodput, gpHi: r.Sum.Goodput}
			for _, s := range d.Sets {
				a.params = append(a.params, s.Path+"="+r.Params[s.Path])
			}
			byPoint[p] = a
			order = append(order, p)
		}
		a.n++
		if r.Error != "" {
			a.failed++
		}
		a.fct, a.gp, a.jain = a.fct+r.Sum.FCTp50, a.gp+r.Sum.Goodput, a.jain+r.Sum.Jain
		a.fctLo, a.fctHi = min(a.fctLo, r.Sum.FCTp50), max(a.fctHi, r.Sum.FCTp50)
		a.gpLo, a.gpHi = min(a.gpLo, r.Sum.Goodput), max(a.gpHi, r.Sum.Goodput)
	}
	fmt.Fprintf(w, "\nper grid point, over its seeds (mean, [min–max]):\n")
	for _, p := range order {
		a := byPoint[p]
		n := float64(a.n)
		name := strings.Join(a.params, " ")
		if name == "" {
			name = "the file as it is"
		}
		fmt.Fprintf(w, "  %s: %d runs, %d failed; FCT p50 %.3f s [%.3f–%.3f]; goodput %.3f Mbit/s [%.3f–%.3f]; Jain %.3f\n",
			name, a.n, a.failed, a.fct/n, a.fctLo, a.fctHi, a.gp/n/1e6, a.gpLo/1e6, a.gpHi/1e6, a.jain/n)
	}
}

// sweepStatus fails (exit status 1) when a run failed.
func sweepStatus(d *sweepDoc) error {
	for _, r := range d.Runs {
		if r.Error != "" {
			return &runError{fmt.Errorf("run %d (seed %d%s) failed: %s", r.Job+1, r.Seed, paramsText(d, r), r.Error)}
		}
	}
	return nil
}

func paramsText(d *sweepDoc, r sweepRun) string {
	var b strings.Builder
	for _, s := range d.Sets {
		fmt.Fprintf(&b, ", %s=%s", s.Path, r.Params[s.Path])
	}
	return b.String()
}

package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/sim"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the simulated run failed
	exitUsage   = 2 // bad flags or arguments
)

// runError marks an error raised while running a simulation (as opposed to
// a usage error); it exits with status 1.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// options holds every flag. The link and TCP flags are shared by the get
// and transfer commands.
type options struct {
	// Link and faults, netem's words.
	delay, jitter                     flagval.Duration
	rate                              flagval.Rate
	loss, duplicate, corrupt, reorder flagval.Percent
	lossGE                            flagval.GE
	gap                               flagval.IntRange
	mtu, queue                        flagval.IntRange
	qdisc                             flagval.Qdisc // --qdisc (issue 13)
	// --up-rate, --down-delay, ... (get and transfer): one direction's
	// rate, delay or loss in place of --rate, --delay or --loss; up is
	// client to server.
	up, down dirFlags

	// TCP.
	mss            flagval.IntRange
	sndbuf, rcvbuf flagval.Size
	nodelay        bool
	delayedAck     flagval.OnOff
	cc             ccFlag      // --cc with one name (cc.go)
	ccFlows        []string    // transfer --cc with a list: flow i's algorithm (cc.go)
	pace           paceOptions // --pacing, --max-pacing-rate (cc.go)
	ecn            flagval.OnOff
	ecnGiven       bool
	profile        profileFlag

	timestamps flagval.OnOff

	// Run.
	seed    flagval.Uint64
	timeout flagval.Duration
	verbose bool
	hex     bool // -X: each packet's anatomy under its line (implies verbose)
	absSeq  bool // -S: -v's sequence numbers as on the wire

	// get https:// (tls.go).
	tlsVer tlsVersionFlag
	// get --dns: resolve the URL's name over simulated DNS (dns.go).
	dns flagval.OnOff
	// get --objects, --page, --strategy, --compare (pages.go).
	pages pageOptions
	// get --repeat, --ports, --split-request (repeat.go).
	demo demoOptions

	// get --ladder (ladder.go).
	ladder    ladderMode
	ladderMax flagval.IntRange
	pcap      string   // --pcap FILE: the client's end
	pcapAt    []pcapAt // --pcap HOST=FILE (capture.go)
	pcapng    string   // --pcapng FILE (capture.go)

	// Payload.
	size  flagval.Size
	file  string
	flows flagval.IntRange
	// transfer --clients: client hosts (0: one per flowsPerClient flows);
	// clientHosts is the number resolved before the run (0 or 1: one).
	clients     flagval.IntRange
	clientHosts int
	// --topology SHAPE:N (topology.go).
	topology topologyFlag

	// transfer: when flows start, and machine-readable output.
	startSpread flagval.Duration
	json, csv   bool
	// transfer in iperf3's words: --time (duration mode), --reverse,
	// --bidir, -i/--interval reports.
	duration, interval flagval.Duration
	reverse, bidir     bool

	// progress is where progress is drawn, or nil.
	progress io.Writer

	// --report and --report-every (report.go).
	rep reportOptions
	// --series and --sample (series.go).
	series seriesOptions
}

func defaultOptions() *options {
	return &options{
		delay:      flagval.Duration(25 * time.Millisecond),
		rate:       flagval.Rate(10e6),
		gap:        flagval.IntRange{V: 0, Min: 1, Max: 1 << 20},
		mtu:        flagval.IntRange{V: 1500, Min: 68, Max: 65535}, // RFC 791's least MTU
		queue:      flagval.IntRange{V: 100, Min: 1, Max: 1 << 20},
		mss:        flagval.IntRange{V: 0, Min: 28, Max: 65495}, // hosts' MTU is MSS+40, at least 68 (RFC 791)
		delayedAck: true,
		timestamps: true,
		seed:       1,
		timeout:    flagval.Duration(10 * time.Minute),
		flows:      flagval.IntRange{V: 1, Min: 1, Max: maxFlows},
		clients:    flagval.IntRange{V: 0, Min: 1, Max: maxClients},
		ladderMax:  flagval.IntRange{V: 200, Min: 1, Max: 1 << 20},
	}
}

// addNetemFlags adds the link's flags: delay, rate, queue and faults (get,
// transfer and ping).
func addNetemFlags(fs *pflag.FlagSet, o *options) {
	fs.Var(&o.delay, "delay", "one-way link delay")
	fs.Var(&o.jitter, "jitter", "random variation added to --delay (uniform, ±jitter)")
	fs.Var(&o.rate, "rate", "link rate, e.g. 10mbit, 512kbit, 1gbit (0 = unlimited)")
	fs.Var(&o.loss, "loss", "random loss probability per packet, e.g. 1%")
	fs.Var(&o.lossGE, "loss-ge", "Gilbert-Elliott burst loss p,r,1-h,1-k as netem's gemodel")
	fs.Var(&o.duplicate, "duplicate", "probability of duplicating a packet")
	fs.Var(&o.corrupt, "corrupt", "probability of flipping one bit in a packet")
	fs.Var(&o.reorder, "reorder", "probability of sending a packet at once, ahead of delayed ones (needs --delay)")
	fs.Var(&o.gap, "gap", "with --reorder: reorder only every Nth packet")
	fs.Var(&o.mtu, "mtu", "link MTU in bytes")
	fs.Var(&o.queue, "queue", "link queue limit in packets (netem's limit)")
	fs.Var(&o.qdisc, "qdisc", "link queue discipline as tc writes it: pfifo, bfifo, red, codel, fq_codel, pie with parameters, e.g. \"codel target 5ms interval 100ms\"")
}

// addLinkFlags adds the link's flags, TCP's and the run's (get and transfer).
func addLinkFlags(fs *pflag.FlagSet, o *options) {
	addNetemFlags(fs, o)

	fs.Var(&o.mss, "mss", "TCP maximum segment size to announce (default MTU-40)")
	fs.Var(&o.sndbuf, "sndbuf", "TCP send buffer size, e.g. 1MiB (default 256KiB, the stack's)")
	fs.Var(&o.rcvbuf, "rcvbuf", "TCP receive buffer size, e.g. 1MiB (default 256KiB, the stack's)")
	fs.BoolVar(&o.nodelay, "nodelay", false, "disable Nagle's algorithm")
	fs.Var(&o.delayedAck, "delayed-ack", "delayed ACKs on or off")
	addCCFlag(fs, o)
	fs.Var(&o.profile, "profile", "TCP defaults: linux (Linux 6.x as tcpsim models it: CUBIC, quick-ACK, RTO 200 ms to 120 s) or rfc (the RFCs' text: NewReno, RTO 1 s to 60 s, MSL 2 min)")

	fs.Var(&o.timestamps, "timestamps", "RFC 7323 timestamps (PAWS, RTT measurement) on or off")
	fs.Var(&o.ecn, "ecn", "ECN (RFC 3168) on both hosts: on (ask and accept) or off; by default the profile's (linux: accept only, as Linux)")

	fs.Var(&o.seed, "seed", "random seed for every fault decision")
	fs.Var(&o.timeout, "timeout", "give up after this much virtual time")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "print every packet, tcpdump style, with drops and reasons")
	fs.BoolVarP(&o.absSeq, "absolute-seq", "S", false, "with -v: print sequence and acknowledgment numbers as on the wire, not relative to each side's initial sequence number (tcpdump -S)")
	fs.BoolVarP(&o.hex, "hex", "X", false, "with -v's lines, each sent packet's bytes as hex, every IPv4 and TCP header field and option named, HTTP as text (implies -v)")
	fs.Var(pcapFlag{&o.pcap, &o.pcapAt}, "pcap", "write a pcap capture, taken at the client's end of the link, to FILE; HOST=FILE (client or server) captures at that host's end; repeatable")
}

// validate checks what single flags cannot: combinations.
func (o *options) validate(fs *pflag.FlagSet) error {
	if o.hex {
		o.verbose = true
	}
	if err := o.validateDirs(fs); err != nil {
		return err
	}
	o.ecnGiven = fs.Lookup("ecn") != nil && fs.Changed("ecn")
	if err := o.validateCC(fs); err != nil {
		return err
	}
	if fs.Changed("queue") && o.qdisc.Q != nil {
		return fmt.Errorf("--queue %d and --qdisc %q are exclusive: give the discipline's limit (e.g. --qdisc \"%s limit %d\")", o.queue.V, o.qdisc.Q.QdiscName(), o.qdisc.Q.QdiscName(), o.queue.V)
	}
	if fs.Changed("gap") && o.reorder == 0 {
		return fmt.Errorf("--gap %d needs --reorder", o.gap.V)
	}
	// The link's own rules (sim.DirConfig.Validate), in the flags' words
	// where a rule concerns a combination of flags.
	for d, dc := range o.dirConfigs() {
		delay := "--delay"
		if o.dirsDiffer() {
			delay = [2]string{"--up-delay", "--down-delay"}[d]
		}
		if err := dc.Validate(); errors.Is(err, sim.ErrReorderNeedsDelay) {
			return fmt.Errorf("--reorder %s needs a non-zero %s (reordered packets overtake delayed ones)", flagval.FormatPercent(float64(o.reorder)), delay)
		} else if err != nil {
			return fmt.Errorf("link flags: %v", err)
		}
	}
	if fs.Changed("loss") && o.lossGE.Given {
		return fmt.Errorf("--loss %s and --loss-ge %s are exclusive", flagval.FormatPercent(float64(o.loss)), o.lossGE.String())
	}
	if o.mss.V > 0 && o.mss.V > o.mtu.V-40 {
		return fmt.Errorf("--mss %d does not fit --mtu %d (at most %d)", o.mss.V, o.mtu.V, o.mtu.V-40)
	}
	if o.timeout == 0 {
		return errors.New("--timeout 0s: every run needs a virtual-time limit")
	}
	for _, b := range []struct {
		name string
		v    flagval.Size
	}{{"sndbuf", o.sndbuf}, {"rcvbuf", o.rcvbuf}} {
		if fs.Changed(b.name) && (b.v < 1024 || b.v > 64<<20) {
			return fmt.Errorf("--%s %s: must be between 1KiB and 64MiB", b.name, flagval.FormatSize(int64(b.v)))
		}
	}
	if err := o.validateReport(fs); err != nil {
		return err
	}
	if err := o.series.validate(fs, time.Duration(o.timeout)); err != nil {
		return err
	}
	if fs.Changed("pcap") && (o.pcap != "" || len(o.pcapAt) == 0) {
		if o.pcap == "" {
			return errors.New(`--pcap "": want the name of the capture file to write`)
		}
		// A file that cannot be written is a bad flag value (status 2),
		// found before the run rather than after it.
		f, err := os.OpenFile(o.pcap, os.O_WRONLY|os.O_CREATE, 0o666)
		if err != nil {
			return fmt.Errorf("--pcap %s: %v", o.pcap, errors.Unwrap(err))
		}
		f.Close()
	}
	if fs.Lookup("pcapng") == nil && len(o.pcapAt) > 0 {
		return fmt.Errorf("--pcap %s=%s: this command captures at its own end only (--pcap FILE)", o.pcapAt[0].node, o.pcapAt[0].file)
	}
	return validateCaptures(fs, o.pcapAt, o.pcapng, []string{clientName, serverName})
}

// addCaptureFlags adds --pcapng (get and transfer).
func addCaptureFlags(fs *pflag.FlagSet, o *options) {
	fs.StringVar(&o.pcapng, "pcapng", "", "write one pcapng `FILE` holding both ends of the link as interfaces (client:wire, server:wire) and each drop on an interface of its direction and reason")
}

// newRootCommand builds the command tree writing to stdout and stderr.
func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "tcpsim",
		Short: "Simulate TCP transfers over an impaired link, packet by packet",
		Long: `tcpsim runs a TCP/IP simulation on a virtual clock: two hosts joined by a link
with netem-style delay, rate and faults. The same flags and --seed always give
the same packets and the same output.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		Args:              cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("missing command (see the list with --help)")
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	root.AddCommand(newGetCommand(stdout, stderr), newTransferCommand(stdout, stderr))
	root.AddCommand(newRunCommand(stdout, stderr)) // scenario files (run.go)
	for _, mk := range extraCommands {
		root.AddCommand(mk(stdout, stderr))
	}
	return root
}

// extraCommands lets other files of this package add subcommands (such as
// `serve`, which attaches the stack to a TUN device) from an init function,
// without editing the command tree here:
//
//	func init() { extraCommands = append(extraCommands, newServeCommand) }
//
// A subcommand reports usage errors by returning them (exit status 2) and
// failures by returning a *runError (exit status 1).
var extraCommands []func(stdout, stderr io.Writer) *cobra.Command

func newGetCommand(stdout, stderr io.Writer) *cobra.Command {
	o := defaultOptions()
	o.size = 10 * 1024
	cmd := &cobra.Command{
		Use:   "get URL",
		Short: "Fetch a page over a simulated link and explain each step",
		Example: `  tcpsim get http://server.example/index.html
  tcpsim get https://server.example/ --tls 1.2
  tcpsim get http://server.example/ --loss 5% --seed 3 -v
  tcpsim get http://server.example/big --size 1MB --rate 1mbit --pcap get.pcap
  tcpsim get https://server.example/ --objects 10 --object-size 10KB --compare
  tcpsim get http://server.example/ --repeat 101 --ports 32768-32867`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("get needs exactly one URL, got %d arguments", len(args))
			}
			_, err := parseGetURL(args[0])
			return err
		},
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(cmd.Flags()); err != nil {
				return err
			}
			if u, _ := parseGetURL(args[0]); cmd.Flags().Changed("tls") && !u.https {
				return fmt.Errorf("--tls %s: the URL %s is not https://", o.tlsVer.String(), args[0])
			}
			if err := o.demo.validate(cmd.Flags(), args[0]); err != nil { // repeat.go
				return err
			}
			if cmd.Flags().Changed("size") && cmd.Flags().Changed("file") {
				return fmt.Errorf("--size %s and --file %s are exclusive", flagval.FormatSize(int64(o.size)), o.file)
			}
			if cmd.Flags().Changed("interval") && o.interval == 0 {
				return errors.New("--interval 0: want a positive duration such as 100ms")
			}
			if cmd.Flags().Changed("file") && o.file == "" {
				return errors.New(`--file "": want the name of a file to serve`)
			}
			if o.file != "" {
				st, err := os.Stat(o.file)
				if err != nil {
					return fmt.Errorf("--file %s: %v", o.file, errors.Unwrap(err))
				}
				if !st.Mode().IsRegular() {
					return fmt.Errorf("--file %s: not a regular file", o.file)
				}
			}
			u, _ := parseGetURL(args[0])
			if err := o.validateGetTopology(cmd.Flags()); err != nil {
				return err
			}
			return o.pages.validate(cmd.Flags(), o, u)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			u, _ := parseGetURL(args[0])
			o.progress = progressWriter(stderr)
			warnSeqWrap(stderr, o)
			if o.pages.on {
				if err := runPage(stdout, o, u); err != nil {
					return &runError{err}
				}
				return nil
			}
			if err := runGet(stdout, o, u); err != nil {
				return &runError{err}
			}
			return nil
		},
	}
	addLinkFlags(cmd.Flags(), o)
	addDirFlags(cmd.Flags(), o)
	cmd.Flags().Var(&o.size, "size", "size of the generated page, e.g. 10KiB, 1MB")
	cmd.Flags().StringVar(&o.file, "file", "", "serve the contents of `FILE` instead of a generated page")
	cmd.Flags().Var(&o.ladder, "ladder", "draw the connection as a ladder of packets between the two hosts (auto, unicode or ascii)")
	cmd.Flags().Lookup("ladder").NoOptDefVal = "auto"
	cmd.Flags().Var(&o.ladderMax, "ladder-max", "with --ladder: draw at most this many packets")
	cmd.Flags().Var(&o.topology, "topology", "chain:N: N routers between the client and the server, every hop the link the flags describe (star and dumbbell are transfer's)")
	cmd.Flags().Var(&o.tlsVer, "tls", "with an https:// URL: the TLS version, 1.3 or 1.2")
	o.dns = true
	cmd.Flags().Var(&o.dns, "dns", "resolve the URL's host name with a DNS query over the simulated link (on), or in the hosts table at no cost (off)")
	addReportFlags(cmd.Flags(), o, stderr)
	addSeriesFlags(cmd.Flags(), &o.series)
	addCaptureFlags(cmd.Flags(), o)
	cmd.Flags().VarP(&o.interval, "interval", "i", "print iperf3-style lines (bytes acknowledged, rate, retransmissions, cwnd) of each sending connection every this much virtual time")
	addDemoFlags(cmd.Flags(), o) // --repeat, --ports, --split-request (repeat.go)
	addTUNToGet(cmd, o)          // --tun: fetch from the kernel over a TUN device (serve.go)
	addPageFlags(cmd, &o.pages)
	addFastOpenToGet(cmd, o) // --fastopen: two fetches, the second's request on the SYN (fastopen.go)
	return cmd
}

func newTransferCommand(stdout, stderr io.Writer) *cobra.Command {
	o := defaultOptions()
	o.size = 10e6
	cmd := &cobra.Command{
		Use:   "transfer",
		Short: "Run bulk transfers over a simulated link and summarise each flow",
		Example: `  tcpsim transfer --size 100MB --rate 10mbit --delay 25ms
  tcpsim transfer --size 10MB --flows 4 --loss 0.5%`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(cmd.Flags()); err != nil {
				return err
			}
			if o.size == 0 {
				return errors.New("--size 0B: nothing to transfer")
			}
			if cmd.Flags().Changed("time") && cmd.Flags().Changed("size") {
				return errors.New("--time and --size are exclusive: send for a time or a number of bytes")
			}
			if cmd.Flags().Changed("time") && o.duration == 0 {
				return errors.New("--time 0: want a positive duration such as 10s")
			}
			if o.reverse && o.bidir {
				return errors.New("--reverse and --bidir are exclusive")
			}
			if cmd.Flags().Changed("interval") && o.interval == 0 {
				return errors.New("--interval 0: want a positive duration such as 1s")
			}
			if o.json && o.csv {
				return errors.New("--json and --csv are exclusive: choose one output format")
			}
			if err := o.resolveClients(cmd.Flags()); err != nil {
				return err
			}
			if !cmd.Flags().Changed("timeout") {
				// The default limit counts from the last flow's start.
				o.timeout += o.startSpread
			}
			if (o.json || o.csv) && o.verbose {
				return errors.New("-v prints packet lines to standard output, which --json and --csv keep for the document; use one or the other")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.progress = progressWriter(stderr)
			warnSeqWrap(stderr, o)
			if err := runTransfer(stdout, o); err != nil {
				return &runError{err}
			}
			return nil
		},
	}
	addLinkFlags(cmd.Flags(), o)
	addDirFlags(cmd.Flags(), o)
	cmd.Flags().Var(&o.size, "size", "bytes per flow, e.g. 100MB, 64KiB")
	cmd.Flags().Var(&o.flows, "flows", "number of parallel flows, each on its own connection")
	cmd.Flags().Var(&o.topology, "topology", "the network: star:N (N client hosts on a router, the link from it to the server), dumbbell:N (N clients and N servers on two routers joined by the link) or chain:N (client, N routers, server; every hop is the link); default: two hosts on the link")
	cmd.Flags().Var(&o.clients, "clients", "client hosts the flows are dealt to in turn, on a star whose bottleneck is the link (default: one per 10,000 flows)")
	cmd.Flags().Var(&o.startSpread, "start-spread", "start the flows evenly over this much virtual time instead of all at 0")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the flow table and totals as one JSON document instead of text")
	cmd.Flags().BoolVar(&o.csv, "csv", false, "print the flow table as CSV instead of text")
	cmd.Flags().Var(&o.duration, "time", "send for this much virtual time instead of --size bytes (iperf3 -t)")
	cmd.Flags().BoolVarP(&o.reverse, "reverse", "R", false, "the server sends, the client receives (iperf3 -R)")
	cmd.Flags().BoolVar(&o.bidir, "bidir", false, "both ends send at once (iperf3 --bidir)")
	cmd.Flags().VarP(&o.interval, "interval", "i", "print iperf3-style lines (bytes acknowledged, rate, retransmissions, cwnd) of each flow every this much virtual time (iperf3 -i)")
	addReportFlags(cmd.Flags(), o, stderr)
	addSeriesFlags(cmd.Flags(), &o.series)
	addCaptureFlags(cmd.Flags(), o)
	return cmd
}

// getURL is the part of a URL that get uses.
type getURL struct {
	raw  string
	host string // name or IP literal, no port
	port uint16
	path string // request target, at least "/"
	// portGiven is set when the URL names a port.
	portGiven bool
	// https: TLS over the connection (tls.go).
	https bool
}

func parseGetURL(s string) (getURL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return getURL{}, fmt.Errorf("invalid URL %q: %v", s, errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return getURL{}, fmt.Errorf("invalid URL %q: scheme %q not supported (want http or https)", s, u.Scheme)
	}
	if u.Hostname() == "" {
		return getURL{}, fmt.Errorf("invalid URL %q: no host", s)
	}
	g := getURL{raw: s, host: u.Hostname(), port: 80, path: u.RequestURI(), https: u.Scheme == "https"}
	if g.https {
		g.port = 443
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return getURL{}, fmt.Errorf("invalid URL %q: port %q", s, p)
		}
		g.port, g.portGiven = uint16(n), true
	}
	if strings.HasPrefix(g.host, "[") || strings.Contains(g.host, ":") {
		return getURL{}, fmt.Errorf("invalid URL %q: IPv6 is not simulated", s)
	}
	return g, nil
}

// run executes tcpsim with args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	root.SetArgs(args)
	_, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	if re := (*runError)(nil); errors.As(err, &re) {
		fmt.Fprintf(stderr, "tcpsim: %v\n", err)
		return exitFailure
	}
	// Usage errors: the one line naming the flag and the value, and
	// nothing after it (no usage text, no hint), so that a script or a
	// reader sees the error alone.
	fmt.Fprintf(stderr, "tcpsim: %v\n", err)
	return exitUsage
}

// progressWriter returns stderr when it is a terminal, else nil.
func progressWriter(stderr io.Writer) io.Writer {
	if isTerminal(stderr) {
		return stderr
	}
	return nil
}

package main

// The TUN side of the CLI: `tcpsim serve` (HTTP from the tcpsim stack to the
// kernel) and `tcpsim get --tun` (fetch from a kernel server). Both run on
// the wall clock: the tcpsim host sits on a simulated link whose far end is
// a TUN device (sim/tun), so the link flags (delay, rate, loss, reorder,
// ...), --pcap and -v apply to the kernel's traffic as to a simulated peer's.
// docs/tun.md shows how to set the device up.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/sim/tun"
	"github.com/tcpsim/tcpsim/stack"
)

func init() { extraCommands = append(extraCommands, newServeCommand) }

// tunOptions are the flags that put tcpsim on a TUN device.
type tunOptions struct {
	dev   string
	addr  string // tcpsim's address and prefix, e.g. 192.0.2.2/24
	netns string // network namespace to open the device in ("" = current)
	port  flagval.IntRange

	prefix netip.Prefix // parsed addr
}

func addTUNFlags(fs *pflag.FlagSet, t *tunOptions) {
	fs.StringVar(&t.dev, "tun", "", "attach to the TUN device `NAME` (e.g. tun0; see docs/tun.md)")
	fs.StringVar(&t.addr, "addr", "192.0.2.2/24", "tcpsim's IPv4 address and prefix on the TUN device (not the kernel's)")
	fs.StringVar(&t.netns, "netns", "", "open the device in the network namespace `NAME` (as made by ip netns add)")
}

// validate checks the TUN flags; tunRequired says whether --tun must be
// given.
func (t *tunOptions) validate(fs *pflag.FlagSet, o *options) error {
	p, err := netip.ParsePrefix(t.addr)
	if err != nil || !p.Addr().Is4() {
		return fmt.Errorf("--addr %q: want an IPv4 address with a prefix length, e.g. 192.0.2.2/24", t.addr)
	}
	if p.Bits() > 30 {
		return fmt.Errorf("--addr %s: the prefix must leave room for the kernel's address (/30 or shorter)", t.addr)
	}
	t.prefix = p
	if fs.Changed("mss") {
		return fmt.Errorf("--mss %d is not supported with --tun (the MSS follows the device's MTU; use --mtu)", o.mss.V)
	}
	return nil
}

// tunDefaults adjusts the simulated commands' defaults for a real device: no
// added delay and no rate limit unless asked for, the device's MTU.
func tunDefaults(o *options) {
	o.delay = 0
	o.rate = 0
	o.queue = flagval.IntRange{V: 0, Min: 0, Max: 1 << 20}
}

func newServeCommand(stdout, stderr io.Writer) *cobra.Command {
	o := defaultOptions()
	tunDefaults(o)
	o.size = 1 << 20
	t := &tunOptions{port: flagval.IntRange{V: 8080, Min: 1, Max: 65535}}
	cmd := &cobra.Command{
		Use:   "serve --tun NAME",
		Short: "Serve HTTP from the tcpsim stack to the real kernel over a TUN device",
		Long: `serve attaches a tcpsim host to a TUN device and serves HTTP on it, so that
curl, a browser or any program on this machine talks TCP to tcpsim's stack.
It runs in real time until Ctrl-C (or --timeout, if given).

  GET /          a page of --size bytes (or the --file contents)
  GET /SIZE      SIZE pseudo-random bytes, e.g. /1MB, /20MiB, /1048576

The link flags apply between tcpsim and the device, in both directions.`,
		Example: `  sudo ip netns exec tcpsim tcpsim serve --tun tun0 --addr 192.0.2.2/24 --port 8080
  tcpsim serve --netns tcpsim --tun tun0 --loss 5% --reorder 10% --delay 2ms --pcap serve.pcap -v`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if t.dev == "" {
				return errors.New("--tun is required: the name of a TUN device (docs/tun.md shows how to make one)")
			}
			if err := o.validate(cmd.Flags()); err != nil {
				return err
			}
			if cmd.Flags().Changed("file") && o.file == "" {
				return errors.New(`--file "": want the name of a file to serve`)
			}
			if cmd.Flags().Changed("size") && o.file != "" {
				return fmt.Errorf("--size %s and --file %s are exclusive", flagval.FormatSize(int64(o.size)), o.file)
			}
			return t.validate(cmd.Flags(), o)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if cmd.Flags().Changed("timeout") {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(o.timeout))
				defer cancel()
			}
			if err := runServe(ctx, stdout, stderr, o, t, cmd.Flags().Changed("mtu")); err != nil {
				return &runError{err}
			}
			return nil
		},
	}
	addLinkFlags(cmd.Flags(), o)
	addTUNFlags(cmd.Flags(), t)
	cmd.Flags().Var(&t.port, "port", "TCP port to serve HTTP on")
	cmd.Flags().Var(&o.size, "size", "size of the page at /, e.g. 10KiB, 1MB")
	cmd.Flags().StringVar(&o.file, "file", "", "serve the contents of `FILE` at / instead of a generated page")
	// serve applies --timeout only when it is given, so the shared flag's
	// default (the simulated commands' virtual-time limit) is not shown.
	tf := cmd.Flags().Lookup("timeout")
	tf.Usage, tf.DefValue = "stop after this much wall time (unset: run until Ctrl-C)", ""
	return cmd
}

// addTUNToGet gives the get command the --tun flags: with --tun it fetches
// the URL from the kernel over the device instead of simulating a server.
// The CLI's get command calls it (the one line that hooks TUN into get).
func addTUNToGet(cmd *cobra.Command, o *options) {
	t := &tunOptions{}
	addTUNFlags(cmd.Flags(), t)
	pre, runE := cmd.PreRunE, cmd.RunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if t.dev == "" {
			return pre(cmd, args)
		}
		fs := cmd.Flags()
		// The simulated defaults (25 ms, 10 Mbit/s) describe a made-up
		// path; on a real device they apply only when asked for.
		if !fs.Changed("delay") {
			o.delay = 0
		}
		if !fs.Changed("rate") {
			o.rate = 0
		}
		if !fs.Changed("queue") {
			o.queue.V = 0
		}
		for _, name := range []string{"size", "file"} {
			if fs.Changed(name) {
				return fmt.Errorf("--%s does not apply with --tun: the kernel's server sends the page", name)
			}
		}
		if fs.Changed("dns") {
			return fmt.Errorf("--dns does not apply with --tun: no DNS server is simulated there")
		}
		for _, name := range []string{"repeat", "ports", "split-request"} { // repeat.go
			if fs.Changed(name) {
				return fmt.Errorf("--%s does not apply with --tun: it is a demonstration on the simulated link", name)
			}
		}
		if u, err := parseGetURL(args[0]); err == nil && u.https {
			return fmt.Errorf("--tun %s with %s: https over a TUN device is not supported yet; use http://", t.dev, args[0])
		}
		if err := o.validate(fs); err != nil {
			return err
		}
		return t.validate(fs, o)
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if t.dev == "" {
			return runE(cmd, args)
		}
		u, _ := parseGetURL(args[0])
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		ctx, cancel := context.WithTimeout(ctx, time.Duration(o.timeout))
		defer cancel()
		if err := runTUNGet(ctx, cmd.OutOrStdout(), o, t, u, cmd.Flags().Changed("mtu")); err != nil {
			return &runError{err}
		}
		return nil
	}
}

// tunRun is a tcpsim host attached to a TUN device, with the CLI's trace
// and capture.
type tunRun struct {
	att      *tun.Attachment
	an       *analyzer
	capture  *sim.Capture
	pcapFile *os.File
}

// startTUN opens the device and attaches a tcpsim host named name to it.
func startTUN(o *options, t *tunOptions, verbose io.Writer, name string, mtuGiven bool) (*tunRun, error) {
	var dev *tun.Device
	var err error
	if t.netns != "" {
		path := t.netns
		if !strings.Contains(path, "/") {
			path = "/var/run/netns/" + path
		}
		dev, err = tun.OpenInNamespace(path, t.dev)
	} else {
		dev, err = tun.Open(t.dev)
	}
	if err != nil {
		return nil, err
	}
	r := &tunRun{an: newAnalyzer(verbose)}
	d := sim.DirConfig{
		Delay:        time.Duration(o.delay),
		Jitter:       time.Duration(o.jitter),
		Rate:         int64(o.rate),
		QueuePackets: o.queue.V,
		Faults:       o.faults(),
	}
	if mtuGiven {
		d.MTU = o.mtu.V
	}
	tcp := stack.TCPConfig{SendBuffer: int(o.sndbuf), RecvBuffer: int(o.rcvbuf), NoDelay: o.nodelay, CongestionControl: string(o.cc)}
	if !o.delayedAck {
		tcp.DelayedAck = -1
	}
	o.pace.apply(&tcp)
	if stack.CongestionControlRequiresECN(tcp.CongestionControl) {
		tcp.ECN = stack.ECNPassive // dctcp: ask on active opens, accept on passive ones
	}
	r.att, err = tun.Attach(dev, tun.AttachConfig{
		Addr:       t.prefix,
		HostName:   name,
		World:      sim.Config{Seed: uint64(o.seed), StreamOnly: true, OnEvent: r.an.event},
		ToKernel:   d,
		FromKernel: d,
		TCP:        tcp,
	})
	if err != nil {
		return nil, err
	}
	if o.pcap != "" {
		f, err := os.Create(o.pcap)
		if err != nil {
			r.att.Close()
			return nil, fmt.Errorf("--pcap: %v", err)
		}
		r.pcapFile = f
		if cerr := r.att.Loop.Call(func() { r.capture, err = r.att.World.Capture(r.att.Link.End(0), f) }); cerr != nil || err != nil {
			f.Close()
			r.att.Close()
			return nil, errors.Join(cerr, err)
		}
	}
	return r, nil
}

// describe is the first line printed: where tcpsim sits and the link.
func (r *tunRun) describe(w io.Writer, o *options, t *tunOptions) {
	fmt.Fprintf(w, "tcpsim %v on %s (MTU %d); link: %s\n", t.prefix, r.att.Node.Device().Name(), r.att.Link.End(0).MTU(), describeTUNLink(o))
}

func describeTUNLink(o *options) string {
	// The simulated commands' line, without its MTU (the device's counts)
	// and with "queue 0" spelled out.
	s := strings.Replace(o.describeLink(), fmt.Sprintf(", mtu %d", o.mtu.V), "", 1)
	return strings.Replace(s, ", queue 0", ", queue unlimited", 1)
}

// stop closes the attachment and the capture, and prints a summary of every
// connection seen.
func (r *tunRun) stop(w io.Writer) error {
	var errs []error
	if r.capture != nil {
		if err := r.att.Loop.Call(func() { errs = append(errs, r.capture.Close()) }); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, r.att.Close())
	if r.pcapFile != nil {
		errs = append(errs, r.pcapFile.Close())
	}
	for i, f := range r.an.Flows() {
		printSummary(w, fmt.Sprintf("[%d] ", i+1), f)
	}
	return errors.Join(errs...)
}

// sizedBody writes n pseudo-random bytes, the same for every request of
// that size: the stream is seeded with n.
func sizedBody(w io.Writer, n int64) error {
	var seed [32]byte
	for i := range 8 {
		seed[i] = byte(n >> (8 * i))
	}
	_, err := io.CopyN(w, rand.NewChaCha8(seed), n)
	return err
}

// serveHandler answers GET / with page and GET /SIZE with sizedBody.
func serveHandler(page []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(page)))
			w.Write(page)
			return
		}
		n, err := flagval.ParseSize(strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil || n < 0 || n > 1<<40 {
			http.Error(w, "tcpsim serves / and /SIZE (e.g. /1MB, /20MiB, /1048576)", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		if r.Method != http.MethodHead {
			sizedBody(w, n)
		}
	})
}

// runServe serves HTTP until ctx ends, then shuts down gracefully: the
// server stops accepting and finishes the responses in progress (up to five
// seconds), then the device is released.
func runServe(ctx context.Context, stdout, stderr io.Writer, o *options, t *tunOptions, mtuGiven bool) error {
	page, err := o.page()
	if err != nil {
		return err
	}
	var verbose io.Writer
	if o.verbose {
		verbose = stdout
	}
	r, err := startTUN(o, t, verbose, "tcpsim", mtuGiven)
	if err != nil {
		return err
	}
	l, err := r.att.Net.Listen("tcp", ":"+strconv.Itoa(t.port.V))
	if err != nil {
		return errors.Join(err, r.stop(io.Discard))
	}
	r.describe(stdout, o, t)
	fmt.Fprintf(stdout, "serving http://%v:%d/ (Ctrl-C to stop)\n", t.prefix.Addr(), t.port.V)
	srv := &http.Server{Handler: serveHandler(page), ReadHeaderTimeout: time.Minute, ErrorLog: nil}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if serveErr == nil {
		serveErr = <-served
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	fmt.Fprintln(stdout, "stopped")
	return errors.Join(serveErr, r.stop(stdout))
}

// runTUNGet fetches u from the kernel side of the device and prints what
// arrived: status, size and SHA-256 of the body, then the connection's
// summary.
func runTUNGet(ctx context.Context, stdout io.Writer, o *options, t *tunOptions, u getURL, mtuGiven bool) error {
	host, err := netip.ParseAddr(u.host)
	if err != nil || !host.Is4() {
		return fmt.Errorf("get --tun %s: the host must be an IPv4 address on the device's side (no name resolution here)", u.raw)
	}
	var verbose io.Writer
	if o.verbose {
		verbose = stdout
	}
	r, err := startTUN(o, t, verbose, "tcpsim", mtuGiven)
	if err != nil {
		return err
	}
	r.describe(stdout, o, t)
	var mu sync.Mutex
	var conns []*stack.Conn
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := r.att.Net.DialContext(ctx, network, addr)
		if sc, ok := c.(*sim.Conn); ok {
			mu.Lock()
			conns = append(conns, sc.Stack())
			mu.Unlock()
		}
		return c, err
	}
	tr := &http.Transport{DialContext: dial, DisableCompression: true}
	cl := &http.Client{Transport: tr}
	res, ferr := tunFetch(ctx, cl, netip.AddrPortFrom(host, u.port), u.path)
	tr.CloseIdleConnections()
	if ferr == nil {
		fmt.Fprintf(stdout, "%s: %s, %d bytes, sha256 %x\n", u.raw, res.status, res.n, res.sum)
	}
	// Wait (briefly) for the connection to finish closing, so that the
	// summary and the capture include the FIN exchange.
	mu.Lock()
	waitClosed(r.att, conns, 2*time.Second)
	mu.Unlock()
	if err := r.stop(stdout); err != nil && ferr == nil {
		ferr = err
	}
	return ferr
}

type tunFetchResult struct {
	status string
	n      int64
	sum    []byte
}

func tunFetch(ctx context.Context, cl *http.Client, ap netip.AddrPort, path string) (tunFetchResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ap.String()+path, nil)
	if err != nil {
		return tunFetchResult{}, err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return tunFetchResult{}, err
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		return tunFetchResult{}, fmt.Errorf("reading the body after %d bytes: %w", n, err)
	}
	return tunFetchResult{status: resp.Status, n: n, sum: h.Sum(nil)}, nil
}

// waitClosed polls (every 10 ms, up to d) until every connection in conns
// is CLOSED or in TIME_WAIT.
func waitClosed(a *tun.Attachment, conns []*stack.Conn, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		busy := false
		if a.Loop.Call(func() {
			for _, c := range conns {
				if st := c.State(); st != stack.StateClosed && st != stack.StateTimeWait {
					busy = true
				}
			}
		}) != nil || !busy {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

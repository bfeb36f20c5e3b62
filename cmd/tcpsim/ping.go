package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/sim"
)

// tcpsim ping: ICMP echo requests from the client to the server over the
// link the flags describe, printed as iputils' ping prints them, on
// virtual time. Request k leaves at (k−1) × --interval whether or not the
// earlier ones were answered; each waits --wait for its reply (sim.Net.Ping).

func init() { extraCommands = append(extraCommands, newPingCommand) }

// pingOptions are ping's own flags.
type pingOptions struct {
	count    flagval.IntRange
	interval flagval.Duration
	size     flagval.IntRange
	wait     flagval.Duration
}

// pingHeader is the IPv4 and ICMP headers' length: a request of -s bytes
// of data is this much longer on the wire.
const pingHeader = 20 + 8

func newPingCommand(stdout, stderr io.Writer) *cobra.Command {
	o := defaultOptions()
	p := &pingOptions{
		count:    flagval.IntRange{V: 4, Min: 1, Max: 1 << 20},
		interval: flagval.Duration(time.Second),
		size:     flagval.IntRange{V: 56, Min: 0, Max: 65535 - pingHeader},
		wait:     flagval.Duration(10 * time.Second),
	}
	cmd := &cobra.Command{
		Use:   "ping [HOST]",
		Short: "Send ICMP echo requests from the client to the server over a simulated link",
		Long: `ping sends ICMP echo requests from the client (10.0.0.1) to HOST over the
simulated link and prints each reply and a summary as ping does: packets
transmitted and received, the loss, and the round-trip times. HOST is
server.example (the default), server or an IPv4 address. Times are virtual.`,
		Example: `  tcpsim ping
  tcpsim ping -c 10 -i 200ms --delay 10ms --rate 1mbit
  tcpsim ping server.example -c 100 --loss 5% --seed 3 -s 1000`,
		Args: cobra.MaximumNArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(cmd.Flags()); err != nil {
				return err
			}
			if p.interval <= 0 {
				return fmt.Errorf("--interval %v: want a positive duration such as 1s", time.Duration(p.interval))
			}
			if p.wait <= 0 {
				return fmt.Errorf("--wait %v: want a positive duration such as 2s", time.Duration(p.wait))
			}
			if n := p.size.V + pingHeader; n > o.mtu.V {
				return fmt.Errorf("--size %d: a %d-byte packet does not fit --mtu %d (at most --size %d; tcpsim does not fragment)", p.size.V, n, o.mtu.V, o.mtu.V-pingHeader)
			}
			if t := o.topology; t.shape != "" && t.shape != shapeChain {
				return fmt.Errorf("--topology %s: ping goes from one client to one server, so its one shape is chain:N (routers between them)", t.String())
			}
			if len(args) == 1 {
				if _, _, err := pingTarget(args[0]); err != nil {
					return err
				}
			}
			if !cmd.Flags().Changed("timeout") {
				// The default limit leaves room for every request and the
				// last one's wait.
				need := time.Duration(p.count.V-1)*time.Duration(p.interval) + time.Duration(p.wait) + time.Second
				o.timeout = flagval.Duration(max(time.Duration(o.timeout), need))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			host := "server.example"
			if len(args) == 1 {
				host = args[0]
			}
			if err := runPing(stdout, o, p, host); err != nil {
				return &runError{err}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	addNetemFlags(fs, o)
	addDirFlags(fs, o)
	fs.VarP(&p.count, "count", "c", "stop after sending this many echo requests")
	fs.VarP(&p.interval, "interval", "i", "virtual time between two requests")
	fs.VarP(&p.size, "size", "s", "bytes of data in each request (the packet is 28 bytes more)")
	fs.VarP(&p.wait, "wait", "W", "how long each request waits for its reply")
	fs.Var(&o.topology, "topology", "chain:N: N routers between the client and the server, every hop the link the flags describe (each takes one from the TTL)")
	fs.Var(&o.seed, "seed", "random seed for every fault decision")
	fs.Var(&o.timeout, "timeout", "give up after this much virtual time (default: time for every request and the last one's --wait)")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "print every packet, tcpdump style, with drops and reasons")
	addReportFlags(fs, o, stderr)
	return cmd
}

// pingTarget is the address HOST names: the server (whose address the
// network decides: a chain's is not 10.0.0.2), or an IPv4 address.
func pingTarget(host string) (a netip.Addr, server bool, err error) {
	switch host {
	case "server.example", serverName:
		return netip.Addr{}, true, nil
	}
	a, err = netip.ParseAddr(host)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false, fmt.Errorf("unknown host %q: want server.example, server or an IPv4 address", host)
	}
	return a, false, nil
}

// pingStats is what the replies add up to.
type pingStats struct {
	sent, received int
	rtts           []time.Duration
	last           time.Duration // the last request sent or reply received
}

// summary is ping's two closing lines.
func (s *pingStats) summary(w io.Writer, host string) {
	fmt.Fprintf(w, "\n--- %s ping statistics ---\n", host)
	loss := 0.0
	if s.sent > 0 {
		loss = 100 * float64(s.sent-s.received) / float64(s.sent)
	}
	fmt.Fprintf(w, "%d packets transmitted, %d received, %s%% packet loss, time %dms\n",
		s.sent, s.received, fmt.Sprintf("%.4g", loss), s.last.Milliseconds())
	if len(s.rtts) == 0 {
		return
	}
	// mdev as ping computes it: the standard deviation of the samples.
	lo, hi := s.rtts[0], s.rtts[0]
	var sum, sum2 float64
	for _, r := range s.rtts {
		lo, hi = min(lo, r), max(hi, r)
		ms := float64(r) / float64(time.Millisecond)
		sum += ms
		sum2 += ms * ms
	}
	n := float64(len(s.rtts))
	avg := sum / n
	mdev := math.Sqrt(max(0, sum2/n-avg*avg))
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	fmt.Fprintf(w, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", ms(lo), avg, ms(hi), mdev)
}

func runPing(stdout io.Writer, o *options, p *pingOptions, host string) error {
	defer oneThread()()
	dst, toServer, err := pingTarget(host)
	if err != nil {
		return err
	}
	var verbose io.Writer
	if o.verbose {
		verbose = stdout
	}
	n, err := newNetwork(o, verbose, nil)
	if err != nil {
		return err
	}
	defer n.close()
	if toServer {
		dst = n.serverAddr
	}
	name := host
	if host == serverName {
		name = "server.example"
	}
	fmt.Fprintf(stdout, "tcpsim ping %s from client %v (seed %d)\n", name, n.clientAddr, o.seed)
	if t := n.describeTopology(o); t != "" {
		fmt.Fprintln(stdout, t)
	}
	fmt.Fprintf(stdout, "link: %s\n\n", o.describeLink())
	fmt.Fprintf(stdout, "PING %s (%v) %d(%d) bytes of data.\n", name, dst, p.size.V, p.size.V+pingHeader)
	if o.verbose {
		fmt.Fprintln(stdout, verboseHeader)
	}
	id := uint16(n.w.SeedFor("ping", name))
	data := make([]byte, p.size.V)
	for i := range data {
		data[i] = byte(i) // iputils' pattern after its timestamp
	}
	var st pingStats
	var sendErr error
	start := time.Duration(0)
	n.spawn("ping", func(tk *sim.Task) {
		start = tk.Now()
		for k := range p.count.V {
			tk.SleepUntil(start + time.Duration(k)*time.Duration(p.interval))
			if sendErr != nil {
				return
			}
			seq := uint16(k + 1)
			// Each request waits in a task of its own, so that the next
			// leaves on time.
			n.spawn(fmt.Sprintf("ping %d", k+1), func(tk *sim.Task) {
				st.sent++
				st.last = max(st.last, tk.Now()-start)
				r, err := n.cnet.Ping(dst, id, seq, data, time.Duration(p.wait))
				switch {
				case errors.Is(err, os.ErrDeadlineExceeded):
					fmt.Fprintf(stdout, "no answer for icmp_seq=%d within %v\n", seq, time.Duration(p.wait))
				case err != nil:
					st.sent--
					if sendErr == nil {
						sendErr = err
					}
				default:
					st.received++
					st.rtts = append(st.rtts, r.RTT)
					st.last = max(st.last, tk.Now()-start)
					fmt.Fprintf(stdout, "%d bytes from %v: icmp_seq=%d ttl=%d time=%.3f ms\n",
						r.Len+8, r.From, r.Seq, r.TTL, float64(r.RTT)/float64(time.Millisecond))
				}
			})
		}
	})
	runErr := n.w.Run()
	if runErr != nil && !errors.Is(runErr, sim.ErrTimeLimit) {
		return runErr
	}
	if sendErr != nil {
		return fmt.Errorf("ping %v: %v", dst, sendErr)
	}
	st.summary(stdout, name)
	if err := n.writeReport(o, fmt.Sprintf("tcpsim ping %s -c %d (seed %d)", name, p.count.V, o.seed), nil); err != nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("--timeout %v reached after %d of %d requests", time.Duration(o.timeout), st.sent, p.count.V)
	}
	if st.received == 0 {
		return fmt.Errorf("no reply from %v: all %d requests lost", dst, st.sent)
	}
	return nil
}

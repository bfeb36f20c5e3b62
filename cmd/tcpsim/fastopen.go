package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// get --fastopen (issue 15): TCP Fast Open, RFC 7413. The client fetches
// the page twice. The first connection's SYN asks for a cookie and the
// server's SYN-ACK brings one; the second connection's SYN carries the
// cookie and the client's first write (the GET, or the TLS ClientHello),
// so the server answers one round trip sooner.

func addFastOpenToGet(cmd *cobra.Command, o *options) {
	var on bool
	cmd.Flags().BoolVar(&on, "fastopen", false, "fetch twice with TCP Fast Open (RFC 7413): the first connection gets a cookie, the second sends its request on the SYN")
	pre, runE := cmd.PreRunE, cmd.RunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if err := pre(cmd, args); err != nil || !on {
			return err
		}
		for _, name := range []string{"tun", "ladder", "report", "interval"} {
			if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
				return fmt.Errorf("--%s does not apply with --fastopen (it draws one connection; --fastopen makes two)", name)
			}
		}
		// Runs of their own kind: a page of objects, the demonstrations.
		for _, name := range append([]string{"repeat", "split-request"}, pageFlagNames...) {
			if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
				return fmt.Errorf("--%s and --fastopen are exclusive: --fastopen makes its own two fetches", name)
			}
		}
		return nil
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if !on {
			return runE(cmd, args)
		}
		u, _ := parseGetURL(args[0])
		if err := runGetFastOpen(cmd.OutOrStdout(), o, u); err != nil {
			return &runError{err}
		}
		return nil
	}
}

// tfoFetch is what one of the two fetches saw.
type tfoFetch struct {
	local      netip.AddrPort
	start      time.Duration // the dial began
	connected  time.Duration // the dial returned
	firstByte  time.Duration // the first byte from the server arrived (0: none)
	firstWrite int           // bytes of the client's first write
	info       stack.FastOpenInfo
	status     string
	bodyLen    int64
	mismatch   int64
	err        error
}

// firstByteConn notes when the first byte is read from c.
type firstByteConn struct {
	net.Conn
	now   func() time.Duration
	at    *time.Duration
	wrote *int
}

func (c *firstByteConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && *c.at == 0 {
		*c.at = c.now()
	}
	return n, err
}

func (c *firstByteConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if *c.wrote == 0 {
		*c.wrote = n
	}
	return n, err
}

func runGetFastOpen(stdout io.Writer, o *options, u getURL) error {
	defer oneThread()()
	body, err := o.pageSource()
	if err != nil {
		return err
	}
	var verbose io.Writer
	if o.verbose {
		verbose = stdout
	}
	n, err := newNetwork(o, verbose, newProgress(nil, body.size))
	if err != nil {
		return err
	}
	defer n.close()
	// Linux's tcp_fastopen bits: 0x1 on the client; 0x2 and 0x400 (every
	// listener, a queue of its backlog) on the server.
	if err := n.client.SetFastOpenMode(stack.FastOpenClient); err != nil {
		return err
	}
	if err := n.server.SetFastOpenMode(stack.FastOpenServer | stack.FastOpenServerAll); err != nil {
		return err
	}
	serverAddr := n.serverAddr
	addr := serverAddr
	if a, err := netip.ParseAddr(u.host); err == nil {
		addr = a
	}
	fmt.Fprintf(stdout, "tcpsim get %s --fastopen (seed %d)\n", u.raw, o.seed)
	fmt.Fprintf(stdout, "link: %s\n", o.describeLink())
	o.printCC(stdout)
	fmt.Fprintf(stdout, "hosts: client %v, server %v; %s serves %d bytes on port %d; TCP Fast Open on both (Linux tcp_fastopen 0x1 client, 0x402 server); the name stands for the server (no DNS step with --fastopen)\n",
		n.clientAddr, serverAddr, serverName, body.size, u.port)
	var cliTLS, srvTLS *tls.Config
	if u.https {
		if cliTLS, srvTLS, err = tlsConfigs(u.host, o.tlsVer.version(), uint64(o.seed), n.w.Epoch()); err != nil {
			return err
		}
		// Go offers a post-quantum key share by default, which makes the
		// ClientHello larger than a SYN can carry (MSS less 40 bytes):
		// with X25519 alone it fits, and the whole hello rides the SYN.
		cliTLS.CurvePreferences = []tls.CurveID{tls.X25519}
		fmt.Fprintf(stdout, "https: %s with a certificate for %s made for this run; the client offers X25519 only, so that its ClientHello fits in the SYN; %s\n", tls.VersionName(o.tlsVer.version()), u.host, tlsNote)
	}
	fmt.Fprintln(stdout)
	if o.verbose {
		fmt.Fprintln(stdout, verboseHeader)
	}
	ln, err := n.snet.Listen("tcp", ":"+strconv.Itoa(int(u.port)))
	if err != nil {
		return err
	}
	var serverErr error
	n.spawn("server", func(t *sim.Task) {
		for range 2 {
			if serverErr = serve(n, ln, body, srvTLS, nil); serverErr != nil {
				return
			}
		}
	})
	var fetches [2]tfoFetch
	n.spawn("client", func(t *sim.Task) {
		defer ln.Close()
		for i := range fetches {
			f := &fetches[i]
			f.mismatch = -1
			if f.err = fetchFastOpen(n, u, addr, body, cliTLS, f); f.err != nil {
				return
			}
		}
	})
	runErr := n.w.Run()
	if err := n.finish(); err != nil {
		return err
	}
	if o.verbose {
		fmt.Fprintln(stdout)
	}
	printFastOpen(stdout, u, fetches[:])
	printHostDrops(stdout, "  ", n)
	switch {
	case runErr != nil && errors.Is(runErr, sim.ErrTimeLimit):
		return fmt.Errorf("the two GETs did not complete within --timeout %v of virtual time", time.Duration(o.timeout))
	case runErr != nil:
		return runErr
	case serverErr != nil:
		return serverErr
	}
	for i, f := range fetches {
		switch {
		case f.err != nil:
			return fmt.Errorf("GET %s (connection %d) failed: %v", u.raw, i+1, f.err)
		case f.bodyLen != body.size:
			return fmt.Errorf("GET %s (connection %d): body has %d bytes, the server sent %d", u.raw, i+1, f.bodyLen, body.size)
		case f.mismatch >= 0:
			return fmt.Errorf("GET %s (connection %d): body differs from what the server sent at byte %d", u.raw, i+1, f.mismatch)
		}
	}
	return nil
}

// fetchFastOpen is one GET over a connection dialed with Fast Open.
func fetchFastOpen(n *network, u getURL, addr netip.Addr, body page, cfg *tls.Config, f *tfoFetch) error {
	f.start = n.w.Now()
	c, err := n.cnet.DialContext(sim.WithFastOpen(context.Background()), "tcp", net.JoinHostPort(addr.String(), strconv.Itoa(int(u.port))))
	f.connected = n.w.Now()
	n.sockCall("client", "connect", f.start, 0, err)
	if err != nil {
		return err
	}
	n.track(c)
	sc := c.(*sim.Conn).Stack()
	f.local = sc.LocalAddr()
	defer func() { f.info = sc.FastOpen() }()
	c = &firstByteConn{Conn: n.traced("client", c), now: n.w.Now, at: &f.firstByte, wrote: &f.firstWrite}
	defer c.Close()
	if cfg != nil {
		tc := tls.Client(c, cfg)
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		c = tc
	}
	req, err := http.NewRequest(http.MethodGet, u.raw, http.NoBody)
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
	f.status = resp.Status
	ref, err := body.open()
	if err != nil {
		return err
	}
	defer ref.Close()
	cmp := newCompareWriter(ref)
	f.bodyLen, err = io.Copy(cmp, resp.Body)
	f.mismatch = cmp.mismatch
	return err
}

// printFastOpen tells what each connection did and the round trip saved.
func printFastOpen(w io.Writer, u getURL, fs []tfoFetch) {
	first, reply := "the GET", "the response"
	if u.https {
		first, reply = "the TLS ClientHello", "the server's reply (its ServerHello)"
	}
	fmt.Fprintln(w, "TCP Fast Open (RFC 7413), two fetches of the page:")
	for i, f := range fs {
		if f.local == (netip.AddrPort{}) {
			continue
		}
		fmt.Fprintf(w, "  connection %d, %v -> %v:%d:\n", i+1, f.local, serverPrefix.Addr(), u.port)
		switch {
		case f.info.SYNData > 0 && f.info.DataAcked && f.info.SYNData < f.firstWrite:
			fmt.Fprintf(w, "    SYN: the cookie and the first %d of the %d bytes of %s; the server took them with the SYN, the rest waited for the handshake\n", f.info.SYNData, f.firstWrite, first)
		case f.info.SYNData > 0 && f.info.DataAcked:
			fmt.Fprintf(w, "    SYN: the cookie and %d bytes of data, %s; the server took them with the SYN\n", f.info.SYNData, first)
		case f.info.SYNData > 0:
			fmt.Fprintf(w, "    SYN: the cookie and %d bytes of data, %s; the server acknowledged only the SYN, so the data went again (fallback)\n", f.info.SYNData, first)
		case f.info.ClientFail == stack.FastOpenCookieUnavailable:
			fmt.Fprintf(w, "    SYN: asks for a cookie (an empty Fast Open option); %s waits for the handshake (%.1f ms)\n", first, ms(f.connected-f.start))
		default:
			fmt.Fprintf(w, "    SYN: no Fast Open (the SYN was retransmitted or the cookie was refused); %s waited for the handshake\n", first)
		}
		if f.firstByte > 0 {
			fmt.Fprintf(w, "    first byte from the server %.1f ms after connect", ms(f.firstByte-f.start))
			if f.status != "" {
				fmt.Fprintf(w, "; %s, %d bytes", f.status, f.bodyLen)
			}
			fmt.Fprintln(w)
		}
		if f.err != nil {
			fmt.Fprintf(w, "    error: %v\n", f.err)
		}
	}
	a, b := fs[0], fs[1]
	if a.firstByte == 0 || b.firstByte == 0 {
		return
	}
	rtt := a.connected - a.start // the first connection's handshake: one round trip
	saved := (a.firstByte - a.start) - (b.firstByte - b.start)
	if b.info.DataAcked && rtt > 0 && saved > 0 {
		fmt.Fprintf(w, "saved: %s sent on the SYN; %s began %.1f ms (%.2f RTT) earlier than on the first connection (RTT %.1f ms, the first handshake)\n",
			first, reply, ms(saved), float64(saved)/float64(rtt), ms(rtt))
	} else {
		fmt.Fprintf(w, "saved: nothing: the second connection's response began %.1f ms after connect, the first's %.1f ms (its data did not all go on the SYN, or losses delayed it)\n",
			ms(b.firstByte-b.start), ms(a.firstByte-a.start))
	}
}

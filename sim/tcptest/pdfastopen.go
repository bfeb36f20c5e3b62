package tcptest

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/stack"
)

// TCP Fast Open in packetdrill scripts (issue 15): the FO and FOEXP
// options in packets, sendto(MSG_FASTOPEN), setsockopt TCP_FASTOPEN,
// TCP_FASTOPEN_CONNECT and TCP_FASTOPEN_KEY, the tcp_fastopen and
// tcp_fastopen_key sysctls, and tcpi_options / tcpi_fastopen_client_fail.

const (
	pdMsgFastOpen = 0x20000000
	pdMsgNoSignal = 0x4000 // no SIGPIPE: the runner raises no signals anyway
)

func init() {
	for k, v := range map[string]int64{
		"MSG_FASTOPEN": pdMsgFastOpen, "MSG_NOSIGNAL": pdMsgNoSignal, "TCP_SYNCNT": 7, "TCP_FASTOPEN": 23, "TCP_FASTOPEN_CONNECT": 30,
		"TCP_FASTOPEN_KEY": 33, "TCP_FASTOPEN_NO_COOKIE": 34,
		"TCPI_OPT_TIMESTAMPS": 1, "TCPI_OPT_SACK": 2, "TCPI_OPT_WSCALE": 4, "TCPI_OPT_ECN": 8,
		"TCPI_OPT_ECN_SEEN": 16, "TCPI_OPT_SYN_DATA": 32,
		"TFO_STATUS_UNSPEC": 0, "TFO_COOKIE_UNAVAILABLE": 1, "TFO_DATA_NOT_ACKED": 2, "TFO_SYN_RETRANSMITTED": 3,
	} {
		pdSymbols[k] = v
	}
}

// fastOpenOption parses "FO [cookie]" or "FOEXP [cookie]" (the cookie in
// hex) into o.
func (p *pdParser) fastOpenOption(nt pdToken, o *pdOpt) error {
	o.kind = segment.OptFastOpen
	if nt.text == "FOEXP" {
		o.kind = segment.OptExperimental
	}
	t := p.peek()
	if t.kind != pdWord && t.kind != pdInt {
		return nil // a cookie request
	}
	p.next()
	if t.text == "TFO_COOKIE" {
		// packetdrill's run_all.py defines it as the cookie Linux gives the
		// script's remote address with defaults.sh's key.
		o.cookieSym = true
		return nil
	}
	c, err := hex.DecodeString(t.text)
	if err != nil || len(c) > segment.MaxOptionsLen-4 {
		return p.errAt(t, "%s wants a cookie of up to %d bytes in hex, found %s", nt.text, segment.MaxOptionsLen-4, t)
	}
	o.cookie = c
	return nil
}

// fastOpenCookie is the cookie op names: its own, or TFO_COOKIE's.
func (r *pdRunner) fastOpenCookie(op pdOpt) []byte {
	if !op.cookieSym {
		return op.cookie
	}
	key := r.cfg.TCP.FastOpenKey
	if key == nil {
		key = make([]byte, 16)
	}
	c, err := stack.FastOpenCookieFor(key, r.cfg.Peer.Addr(), r.cfg.Host.Addr())
	if err != nil {
		return nil
	}
	return c
}

// fastOpenInbound adds a script's Fast Open option to an inbound packet.
func (r *pdRunner) fastOpenInbound(o *segment.Options, op pdOpt) {
	o.Unknown = segment.AppendFastOpen(o.Unknown, r.fastOpenCookie(op), op.kind == segment.OptExperimental)
	// AppendFastOpen's NOPs are the script's to write; the codec pads.
	for n := len(o.Unknown); n > 0 && o.Unknown[n-1] == segment.OptNOP; n-- {
		o.Unknown = o.Unknown[:n-1]
	}
}

// fastOpenCheck compares the Fast Open option of a sent packet with the
// script's.
func (r *pdRunner) fastOpenCheck(o *segment.Options, op pdOpt) error {
	fo, err := o.FastOpen()
	if err != nil {
		return fmt.Errorf("Fast Open option: %v", err)
	}
	if fo.Exp != (op.kind == segment.OptExperimental) {
		return fmt.Errorf("Fast Open option: want experimental %v, got %v", op.kind == segment.OptExperimental, fo.Exp)
	}
	if want := r.fastOpenCookie(op); !bytes.Equal(fo.Cookie, want) {
		return fmt.Errorf("Fast Open cookie: want %q, got %q", hex.EncodeToString(want), hex.EncodeToString(fo.Cookie))
	}
	return nil
}

// fastOpenSysctl maps tcp_fastopen and tcp_fastopen_key.
func (r *pdRunner) fastOpenSysctl(name, val string) (pdSysctlKind, error) {
	val = strings.TrimSpace(val)
	switch name {
	case "tcp_fastopen":
		n, err := strconv.ParseInt(val, 0, 64)
		if err != nil || n < 0 || n > 0xffffffff {
			return 0, fmt.Errorf("sysctl tcp_fastopen wants an integer, found %q", val)
		}
		r.cfg.TCP.FastOpen = int(n)
		return pdApplied, nil
	case "tcp_fastopen_key":
		k, err := pdFastOpenKey(val)
		if err != nil {
			return 0, err
		}
		r.cfg.TCP.FastOpenKey = k
		return pdApplied, nil
	case "tcp_fastopen_blackhole_timeout_sec":
		// tcpsim has no Fast Open blackhole detection: 0 turns Linux's off.
		if val == "0" {
			return pdSame, nil
		}
		return pdDiffers, nil
	}
	return pdUnknown, nil
}

// fastOpenLiveSysctl applies a sysctl command that sets only tcp_fastopen,
// tcp_timestamps or tcp_ecn to the running host (stack/live.go); it
// reports false, changing nothing, for any other command.
func (r *pdRunner) fastOpenLiveSysctl(line string) bool {
	args := pdSysctlArg.FindAllStringSubmatch(line, -1)
	if len(args) == 0 {
		return false
	}
	vals := make([]int64, len(args))
	for i, a := range args {
		switch strings.TrimPrefix(a[1], "net.ipv4.") {
		case "tcp_fastopen", "tcp_timestamps", "tcp_ecn":
		default:
			return false
		}
		n, err := strconv.ParseInt(strings.Trim(a[2], `"'`), 0, 64)
		if err != nil || n < 0 || n > 0xffffffff {
			return false
		}
		vals[i] = n
	}
	for i, a := range args {
		n := vals[i]
		switch strings.TrimPrefix(a[1], "net.ipv4.") {
		case "tcp_fastopen":
			r.p.host.SetFastOpenMode(int(n))
			r.cfg.TCP.FastOpen = int(n)
		case "tcp_timestamps":
			r.p.host.SetTimestamps(n != 0)
			r.cfg.TCP.DisableTimestamps = n == 0
		case "tcp_ecn":
			if n > 2 || r.p.host.SetECN([]int{stack.ECNOff, stack.ECNOn, stack.ECNPassive}[n]) != nil {
				return false
			}
		}
	}
	return true
}

// pdFastOpenKey reads a tcp_fastopen_key value, four 32-bit hex words
// joined by "-" (a second key after "," is ignored), into the byte order
// Linux keeps: each word little-endian.
func pdFastOpenKey(val string) ([]byte, error) {
	first, _, _ := strings.Cut(val, ",")
	words := strings.Split(first, "-")
	if len(words) != 4 {
		return nil, fmt.Errorf("sysctl tcp_fastopen_key wants four 32-bit hex words joined by '-', found %q", val)
	}
	k := make([]byte, 16)
	for i, w := range words {
		n, err := strconv.ParseUint(w, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("sysctl tcp_fastopen_key: %q is not a 32-bit hex word", w)
		}
		binary.LittleEndian.PutUint32(k[4*i:], uint32(n))
	}
	return k, nil
}

// fastOpenSockopt handles the Fast Open socket options; handled is false
// for any other.
func (r *pdRunner) fastOpenSockopt(ev *pdEvent, f *pdFD, level, name int64) (fn func() (int64, string, bool), handled bool, err error) {
	if level != 6 || name != 7 && name != 23 && name != 30 && name != 33 && name != 34 {
		return nil, false, nil
	}
	fail := func(e string) func() (int64, string, bool) {
		return func() (int64, string, bool) { return -1, e, true }
	}
	done := func() (int64, string, bool) { return 0, "", true }
	if name == 33 { // TCP_FASTOPEN_KEY: a 16-byte string
		a, err := r.arg(ev, 3)
		if err != nil {
			return nil, true, err
		}
		n, err := r.intArg(ev, 4)
		if err != nil {
			return nil, true, err
		}
		if a.kind != pxString {
			return nil, true, r.unsupported(a.line, a.col, "TCP_FASTOPEN_KEY from something other than a string")
		}
		if n != 16 || len(a.s) < 16 {
			return fail("EINVAL"), true, nil
		}
		key := []byte(a.s[:16])
		f.tfoKey = key
		if f.ln != nil {
			if err := f.ln.SetFastOpenKey(key); err != nil {
				return fail("EINVAL"), true, nil
			}
		}
		return done, true, nil
	}
	v, err := r.intArg(ev, 3)
	if err != nil {
		return nil, true, err
	}
	switch name {
	case 7: // TCP_SYNCNT
		if v < 1 || v > 127 {
			return fail("EINVAL"), true, nil
		}
		f.synCnt = int(v)
		if f.conn != nil {
			f.conn.SetSYNRetries(int(v))
		}
	case 23: // TCP_FASTOPEN: the listener's queue limit
		if v < 0 {
			return fail("EINVAL"), true, nil
		}
		f.tfoQlen = int(v)
		if f.ln != nil {
			f.ln.SetFastOpen(int(v))
		}
	case 30: // TCP_FASTOPEN_CONNECT
		if r.cfg.TCP.FastOpen&stack.FastOpenClient == 0 {
			return fail("EOPNOTSUPP"), true, nil
		}
		if f.conn != nil {
			return fail("EISCONN"), true, nil
		}
		f.tfoConnect = v != 0
	case 34: // TCP_FASTOPEN_NO_COOKIE: per socket; tcpsim has the host's bit only
		if v != 0 {
			return nil, true, r.unsupported(ev.args[2].line, ev.args[2].col, "setsockopt TCP_FASTOPEN_NO_COOKIE (tcpsim has only the host's tcp_fastopen 0x4 and 0x200 bits)")
		}
	}
	return done, true, nil
}

// fastOpenListen applies the socket's Fast Open options to its new listener.
func (r *pdRunner) fastOpenListen(f *pdFD) {
	if c := r.conn; c != nil && c.State() != stack.StateClosed && c.RemoteAddr() == r.p.cfg.Peer {
		// A new listener while the last connection lives: packetdrill's
		// next inbound SYN comes from a new remote port.
		r.p.cfg.Peer = netip.AddrPortFrom(r.p.cfg.Peer.Addr(), r.p.cfg.Peer.Port()+1)
	}
	if f.tfoQlen > 0 {
		f.ln.SetFastOpen(f.tfoQlen)
	}
	if f.tfoKey != nil {
		f.ln.SetFastOpenKey(f.tfoKey)
	}
}

// fastOpenConnected notes a new active connection for the runner.
func (r *pdRunner) fastOpenConnected(f *pdFD, c *stack.Conn) {
	r.p.cfg.Host = c.LocalAddr()
	f.conn = c
	r.conn = c
	r.applyOpts(f)
	r.watch(c)
}

// fastOpenSend is sendto or sendmsg with MSG_FASTOPEN on a socket not yet
// connected: connect, with as much data on the SYN as the stack puts there
// (Linux's tcp_sendmsg_fastopen). A non-blocking call returns what went on
// the SYN, or EINPROGRESS; a blocking one waits for the connection and
// writes the rest.
func (r *pdRunner) fastOpenSend(ev *pdEvent, f *pdFD) (func() (int64, string, bool), error) {
	n, err := r.bufLen(ev)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return func() (int64, string, bool) { return -1, "EFAULT", true }, nil
	}
	r.cfg.Peer = netip.AddrPortFrom(r.cfg.Peer.Addr(), pdConnectPort)
	if err := r.start(); err != nil {
		return nil, err
	}
	if r.cfg.TCP.FastOpen&stack.FastOpenClient == 0 || r.isSym(ev, 4, "AF_UNSPEC") {
		// Linux's tcp_sendmsg_fastopen: Fast Open off, or an AF_UNSPEC
		// address (which would mean disconnect).
		return func() (int64, string, bool) { return -1, "EOPNOTSUPP", true }, nil
	}
	c, k, cerr := r.p.host.ConnectFastOpen(netip.AddrPortFrom(r.cfg.Host.Addr(), 0), r.cfg.Peer, stack.ConnectOptions{MaxSegment: f.maxSeg, SYNRetries: f.synCnt}, make([]byte, n))
	if cerr != nil {
		return func() (int64, string, bool) { return -1, pdErrno(cerr), true }, nil
	}
	r.fastOpenConnected(f, c)
	if fl, _ := r.msgFlags(ev); f.nonblock || fl&pdMsgDontWait != 0 {
		if k > 0 {
			return func() (int64, string, bool) { return int64(k), "", true }, nil
		}
		return func() (int64, string, bool) { return -1, "EINPROGRESS", true }, nil
	}
	// A blocking call sleeps until the handshake ends and then copies the
	// rest. Linux notes the sleeping writer (sk_write_pending in
	// tcp_rcv_synsent_state_process): the ACK of the SYN-ACK waits to ride
	// on that data, and the connection counts as interactive. Queueing the
	// rest now, while connecting, gives the same packets.
	data := make([]byte, n-k)
	written := 0
	if len(data) > 0 {
		m, _ := f.conn.Write(data)
		written = m
	}
	wait := r.connectWait(f)
	connected := false
	return func() (int64, string, bool) {
		if !connected {
			ret, errno, done := wait()
			if !done {
				return 0, "", false
			}
			if ret < 0 {
				return ret, errno, true
			}
			connected = true
			if len(data) > 0 {
				f.conn.SetQuickAck(false)
			}
		}
		for written < len(data) {
			m, err := f.conn.Write(data[written:])
			written += m
			if errors.Is(err, stack.ErrWouldBlock) || err == nil && m == 0 {
				return 0, "", false
			}
			if err != nil {
				return -1, pdErrno(err), true
			}
		}
		return int64(n), "", true
	}, nil
}

// writeWhileConnecting is a write in SYN_SENT: Linux (tcp_sendmsg,
// sk_stream_wait_connect) fails a non-blocking one with EAGAIN and makes a
// blocking one wait for the handshake.
func (r *pdRunner) writeWhileConnecting(ev *pdEvent, f *pdFD) (func() (int64, string, bool), error) {
	if f.nonblock {
		if _, err := r.bufLen(ev); err != nil {
			return nil, err
		}
		return func() (int64, string, bool) { return -1, "EAGAIN", true }, nil
	}
	write, err := r.write(ev, f)
	if err != nil {
		return nil, err
	}
	wait := r.connectWait(f)
	return func() (int64, string, bool) {
		if ret, errno, done := wait(); !done {
			return 0, "", false
		} else if ret < 0 {
			return ret, errno, true
		}
		return write()
	}, nil
}

// fastOpenEmptyWrite is an empty write on a TCP_FASTOPEN_CONNECT socket
// whose SYN waits: the SYN goes out (with the cookie, no data), and the call
// returns EINPROGRESS, or 0 once connected when blocking.
func (r *pdRunner) fastOpenEmptyWrite(f *pdFD) func() (int64, string, bool) {
	f.conn.Write(nil)
	if f.nonblock {
		return func() (int64, string, bool) { return -1, "EINPROGRESS", true }
	}
	return r.connectWait(f)
}

// fastOpenNonblockWrite is a non-blocking write on a TCP_FASTOPEN_CONNECT
// socket whose SYN waits: it returns what went on the SYN (Linux queues
// nothing more until the handshake ends).
func (r *pdRunner) fastOpenNonblockWrite(f *pdFD, n int) func() (int64, string, bool) {
	return func() (int64, string, bool) {
		k, err := f.conn.Write(make([]byte, n))
		if err != nil && k == 0 {
			return -1, pdErrno(err), true
		}
		if k == 0 {
			return -1, "EINPROGRESS", true
		}
		return int64(k), "", true
	}
}

// fastOpenSendConnected is sendto(MSG_FASTOPEN) on a socket that has
// connected: Linux's tcp_sendmsg_fastopen tries to connect again.
func (r *pdRunner) fastOpenSendConnected(f *pdFD) func() (int64, string, bool) {
	return func() (int64, string, bool) {
		if st := f.conn.State(); st == stack.StateSynSent || st == stack.StateSynReceived {
			return -1, "EALREADY", true
		}
		return 0, "", false // connected: MSG_FASTOPEN is ignored (the caller writes)
	}
}

// fastOpenConnect is connect on a socket with TCP_FASTOPEN_CONNECT: it
// returns 0 at once when the SYN is deferred to the first write.
func (r *pdRunner) fastOpenConnect(f *pdFD) (func() (int64, string, bool), error) {
	r.cfg.Peer = netip.AddrPortFrom(r.cfg.Peer.Addr(), pdConnectPort)
	if err := r.start(); err != nil {
		return nil, err
	}
	c, cerr := r.p.host.ConnectWith(netip.AddrPortFrom(r.cfg.Host.Addr(), 0), r.cfg.Peer, stack.ConnectOptions{MaxSegment: f.maxSeg, FastOpen: true, SYNRetries: f.synCnt})
	if cerr != nil {
		return func() (int64, string, bool) { return -1, pdErrno(cerr), true }, nil
	}
	r.fastOpenConnected(f, c)
	if c.FastOpen().Deferred {
		return func() (int64, string, bool) { return 0, "", true }, nil
	}
	if f.nonblock {
		return func() (int64, string, bool) { return -1, "EINPROGRESS", true }, nil
	}
	return r.connectWait(f), nil
}

// fastOpenDeferredWrite is a blocking write on a TCP_FASTOPEN_CONNECT
// socket whose SYN waits for it: the data goes on the SYN, and the call
// returns once the handshake is over (Linux waits in tcp_sendmsg_fastopen).
func (r *pdRunner) fastOpenDeferredWrite(ev *pdEvent, f *pdFD) (func() (int64, string, bool), error) {
	write, err := r.write(ev, f)
	if err != nil {
		return nil, err
	}
	wait := r.connectWait(f)
	wrote := false
	var ret int64
	var errno string
	return func() (int64, string, bool) {
		if !wrote {
			var done bool
			if ret, errno, done = write(); !done {
				return 0, "", false
			}
			wrote = true
		}
		if ret < 0 {
			return ret, errno, true
		}
		if r2, e2, done := wait(); !done {
			return 0, "", false
		} else if r2 < 0 {
			return r2, e2, true
		}
		if ret > int64(f.conn.FastOpen().SYNData) {
			f.conn.SetQuickAck(false) // the writer waited with data: as fastOpenSend
		}
		return ret, errno, true
	}, nil
}

// otherSocket reports whether a packet the host sent belongs to a
// connection other than the script's current one. packetdrill matches the
// host's packets against its socket under test only and lets those of
// earlier sockets pass unseen (a FIN after close, the ACK of a SYN-ACK the
// script ignores), so the runner skips them too.
func (r *pdRunner) otherSocket(s *Sent) bool {
	if s.Err != nil {
		return false
	}
	t := &s.Packet.TCP
	return t.SrcPort != r.p.cfg.Host.Port() || t.DstPort != r.p.cfg.Peer.Port()
}

// fastOpenTcpi reads tcpi_options and tcpi_fastopen_client_fail, and
// "(A & B)" of two values.
func (r *pdRunner) fastOpenTcpi(s string) (int64, bool) {
	if r.conn == nil {
		return 0, false
	}
	if in, ok := strings.CutPrefix(s, "("); ok && strings.HasSuffix(in, ")") {
		a, b, ok := strings.Cut(strings.TrimSuffix(in, ")"), "&")
		if !ok {
			return 0, false
		}
		x, err1 := r.tcpiValue(a, 0, 0)
		y, err2 := r.tcpiValue(b, 0, 0)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		return x & y, true
	}
	switch s {
	case "tcpi_options":
		i := r.conn.Info()
		var v int64
		if i.Timestamps {
			v |= 1
		}
		if i.SACK {
			v |= 2
		}
		if i.SndWndScale > 0 || i.RcvWndScale > 0 {
			v |= 4
		}
		if r.conn.FastOpen().DataAcked {
			v |= 32
		}
		return v, true
	case "tcpi_delivered":
		return int64(r.conn.FastOpen().Delivered), true
	case "tcpi_fastopen_client_fail":
		return int64(r.conn.FastOpen().ClientFail), true
	}
	return 0, false
}

package tcptest

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// The system calls, sysctl commands and %{ }% assertions of packetdrill
// scripts, mapped onto tcpsim's stack.

// pdSymbols are the Linux constants scripts name.
var pdSymbols = map[string]int64{
	"AF_INET": 2, "PF_INET": 2, "SOCK_STREAM": 1, "IPPROTO_TCP": 6, "SOL_TCP": 6, "SOL_SOCKET": 1,
	"IPPROTO_IP": 0, "SOL_IP": 0,
	"SO_REUSEADDR": 2, "SO_ZEROCOPY": 60, "SO_ERROR": 4, "SO_SNDBUF": 7, "SO_RCVBUF": 8, "SO_KEEPALIVE": 9, "SO_LINGER": 13,
	"TCP_NODELAY": 1, "TCP_MAXSEG": 2, "TCP_CORK": 3, "TCP_KEEPIDLE": 4, "TCP_KEEPINTVL": 5, "TCP_KEEPCNT": 6,
	"TCP_INFO": 11, "TCP_QUICKACK": 12, "TCP_CONGESTION": 13, "TCP_USER_TIMEOUT": 18, "TCP_NOTSENT_LOWAT": 25,
	"TCP_INQ": 36, "TCP_CM_INQ": 36, "IP_TOS": 1, "IP_MTU_DISCOVER": 10,
	"IP_PMTUDISC_DONT": 0, "IP_PMTUDISC_WANT": 1, "IP_PMTUDISC_DO": 2, "IP_PMTUDISC_PROBE": 3,
	"SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2,
	"F_GETFL": 3, "F_SETFL": 4, "O_RDWR": 2, "O_RDONLY": 0, "O_WRONLY": 1, "O_NONBLOCK": 0x800,
	"POLLIN": 0x1, "POLLPRI": 0x2, "POLLOUT": 0x4, "POLLERR": 0x8, "POLLHUP": 0x10, "POLLNVAL": 0x20,
	"POLLRDNORM": 0x40, "POLLRDBAND": 0x80, "POLLWRNORM": 0x100, "POLLWRBAND": 0x200, "POLLRDHUP": 0x2000,
	"MSG_PEEK": 0x2, "MSG_DONTWAIT": 0x40, "MSG_EOR": 0x80, "MSG_MORE": 0x8000, "MSG_ZEROCOPY": 0x4000000,
	"SOCK_NONBLOCK": 0x800, "SIOCINQ": 0x541B, "FIONREAD": 0x541B, "SIOCOUTQ": 0x5411, "TIOCOUTQ": 0x5411, "NULL": 0,
	"TCP_CA_Open": 0, "TCP_CA_Disorder": 1, "TCP_CA_CWR": 2, "TCP_CA_Recovery": 3, "TCP_CA_Loss": 4,
	"TCP_INFINITE_SSTHRESH": 0x7fffffff,
	"TCP_ESTABLISHED":       1, "TCP_SYN_SENT": 2, "TCP_SYN_RECV": 3, "TCP_FIN_WAIT1": 4, "TCP_FIN_WAIT2": 5,
	"TCP_TIME_WAIT": 6, "TCP_CLOSE": 7, "TCP_CLOSE_WAIT": 8, "TCP_LAST_ACK": 9, "TCP_LISTEN": 10, "TCP_CLOSING": 11,
}

// pdMaxBuf bounds byte counts and buffer sizes a script may ask for, so
// that a bad script cannot make the test allocate without limit.
const pdMaxBuf = 64 << 20

// intExpr evaluates an integer expression: a number, a constant, a|b, or
// a one-element array [n].
func (r *pdRunner) intExpr(e *pdExpr) (int64, error) {
	switch e.kind {
	case pxInt:
		return e.i, nil
	case pxWord:
		if v, ok := pdSymbols[e.s]; ok {
			return v, nil
		}
		return 0, r.unsupported(e.line, e.col, "symbol %s", e.s)
	case pxOr:
		var v int64
		for _, a := range e.args {
			x, err := r.intExpr(a)
			if err != nil {
				return 0, err
			}
			v |= x
		}
		return v, nil
	case pxArray:
		if len(e.args) == 1 {
			return r.intExpr(e.args[0])
		}
	}
	return 0, r.unsupported(e.line, e.col, "expression where an integer is wanted")
}

func (r *pdRunner) arg(ev *pdEvent, i int) (*pdExpr, error) {
	if i >= len(ev.args) {
		return nil, r.failAt(ev.line, "%s needs at least %d arguments", ev.name, i+1)
	}
	return ev.args[i], nil
}

func (r *pdRunner) intArg(ev *pdEvent, i int) (int64, error) {
	a, err := r.arg(ev, i)
	if err != nil {
		return 0, err
	}
	return r.intExpr(a)
}

// anyArg checks that argument i is "..." (tcpsim fills in addresses).
func (r *pdRunner) anyArg(ev *pdEvent, i int, what string) error {
	if i < len(ev.args) && ev.args[i].kind != pxEllipsis {
		return r.unsupported(ev.args[i].line, ev.args[i].col, "%s argument of %s other than ...", what, ev.name)
	}
	return nil
}

// newFD makes a descriptor for a call whose expected result is ev's.
// Script descriptors are names, as in packetdrill, which maps the number a
// script expects from socket or accept onto whatever the kernel returned:
// a free number the script expects is taken; otherwise the lowest free one
// from 3 (and the result check then reports the difference).
func (r *pdRunner) newFD(ev *pdEvent) *pdFD {
	n := 3
	if ev != nil && ev.ret != nil && ev.ret.kind == pxInt && ev.ret.i >= 3 && ev.ret.i < 1<<20 {
		// The number the script expects, even if a socket it never closed
		// has it: packetdrill maps script numbers to live ones, the newest
		// socket first, so the old one is shadowed.
		n = int(ev.ret.i)
	} else {
		for r.fds[n] != nil {
			n++
		}
	}
	f := &pdFD{num: n}
	r.fds[n] = f
	return f
}

// syscall runs a system call event that starts at at.
func (r *pdRunner) syscall(ev *pdEvent, at time.Duration) error {
	attempt, err := r.prepare(ev)
	if err != nil {
		return err
	}
	ret, errno, done := attempt()
	if done {
		if ev.hasEnd && ev.tm.kind != pdAny {
			end := ev.endT
			if ev.tm.kind == pdRel {
				end += r.offset
			}
			pd := &pdPending{ev: ev, start: at, end: end}
			r.finish(pd, ret, errno, at)
			return r.fail
		}
		return r.checkResult(ev, ret, errno)
	}
	pd := &pdPending{ev: ev, attempt: attempt, start: at, end: ev.endT}
	if ev.tm.kind == pdRel {
		pd.end += r.offset
	}
	if r.pollTimeout != nil {
		pd.hasDeadline, pd.deadline, pd.onDeadline = true, at+*r.pollTimeout, r.pollOnTimeout
		r.pollTimeout = nil
	}
	r.pending = pd
	if !ev.hasEnd {
		return r.waitPending()
	}
	return nil
}

// prepare checks a call's arguments and returns the function that tries
// it: done is false while it would block.
func (r *pdRunner) prepare(ev *pdEvent) (func() (int64, string, bool), error) {
	fail := func(errno string) func() (int64, string, bool) {
		return func() (int64, string, bool) { return -1, errno, true }
	}
	ok := func(v int64) func() (int64, string, bool) {
		return func() (int64, string, bool) { return v, "", true }
	}
	r.pollTimeout = nil
	if ev.name == "socket" {
		if err := r.anyArg(ev, 0, "domain"); err != nil && !r.isSym(ev, 0, "AF_INET") {
			return nil, err
		}
		typ, err := r.intArg(ev, 1)
		if err != nil {
			return nil, err
		}
		if typ&^0x800 != 1 {
			return nil, r.unsupported(ev.args[1].line, ev.args[1].col, "socket type other than SOCK_STREAM")
		}
		f := r.newFD(ev)
		f.nonblock = typ&0x800 != 0
		return ok(int64(f.num)), nil
	}
	switch ev.name {
	case "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait":
		return r.epollCall(ev)
	case "open":
		return r.open(ev)
	case "splice", "pipe", "sendmmsg", "recvmmsg", "mmap":
		return nil, r.unsupported(ev.callLine, ev.callCol, "system call %s", ev.name)
	}
	fdn, err := r.intArg(ev, 0)
	if ev.name == "poll" {
		return r.poll(ev)
	}
	if err != nil {
		return nil, err
	}
	f := r.fds[int(fdn)]
	if f == nil {
		return fail("EBADF"), nil
	}
	switch ev.name {
	case "setsockopt":
		return r.setsockopt(ev, f)
	case "getsockopt":
		return r.getsockopt(ev, f)
	case "bind":
		if err := r.anyArg(ev, 1, "address"); err != nil {
			return nil, err
		}
		return ok(0), nil
	case "listen":
		backlog, err := r.intArg(ev, 1)
		if err != nil {
			return nil, err
		}
		if err := r.start(); err != nil {
			return nil, err
		}
		ln, lerr := r.p.host.ListenAddr(r.cfg.Host, int(max(backlog, 0))+1)
		if lerr != nil {
			return fail(pdErrno(lerr)), nil
		}
		if err := ln.SetMaxSegment(f.maxSeg); err != nil {
			return fail(pdErrno(err)), nil
		}
		ln.SetNotify(func(stack.Event) { r.poke() })
		f.ln = ln
		r.fastOpenListen(f) // pdfastopen.go
		return ok(0), nil
	case "accept", "accept4":
		if f.ln == nil {
			return fail("EINVAL"), nil
		}
		return func() (int64, string, bool) {
			c, err := f.ln.Accept()
			if errors.Is(err, stack.ErrWouldBlock) {
				if f.nonblock {
					return -1, "EAGAIN", true
				}
				return 0, "", false
			}
			if err != nil {
				return -1, pdErrno(err), true
			}
			nf := r.newFD(ev)
			nf.conn = c
			nf.nodelay, nf.keepalive, nf.keepIdle, nf.keepIntvl, nf.keepCnt, nf.userTO = f.nodelay, f.keepalive, f.keepIdle, f.keepIntvl, f.keepCnt, f.userTO
			nf.lowat, nf.cork, nf.inq, nf.zerocopy = f.lowat, f.cork, f.inq, f.zerocopy
			nf.tos, nf.noDF = f.tos, f.noDF
			r.applyOpts(nf)
			r.watch(c)
			r.conn = c
			return int64(nf.num), "", true
		}, nil
	case "connect":
		if err := r.anyArg(ev, 1, "address"); err != nil {
			return nil, err
		}
		if f.conn != nil && f.conn.FastOpen().Deferred {
			return fail("EISCONN"), nil // pdfastopen.go: Linux's connect returned 0 already
		}
		if f.conn != nil {
			return r.connectWait(f), nil
		}
		if f.tfoConnect {
			return r.fastOpenConnect(f) // pdfastopen.go
		}
		r.cfg.Peer = netip.AddrPortFrom(r.cfg.Peer.Addr(), pdConnectPort)
		if err := r.start(); err != nil {
			return nil, err
		}
		c, cerr := r.p.host.ConnectWith(netip.AddrPortFrom(r.cfg.Host.Addr(), 0), r.cfg.Peer, stack.ConnectOptions{MaxSegment: f.maxSeg, SYNRetries: f.synCnt, TOS: f.tos, NoDontFragment: f.noDF})
		if cerr != nil {
			return fail(pdErrno(cerr)), nil
		}
		r.p.cfg.Host = c.LocalAddr()
		f.conn = c
		r.conn = c
		r.applyOpts(f)
		r.watch(c)
		if f.nonblock {
			return fail("EINPROGRESS"), nil
		}
		return r.connectWait(f), nil
	case "write", "send", "sendto", "writev", "sendmsg":
		if f.conn == nil && (ev.name == "sendto" || ev.name == "sendmsg") {
			if fl, err := r.msgFlags(ev); err == nil && fl&pdMsgFastOpen != 0 {
				return r.fastOpenSend(ev, f) // pdfastopen.go
			}
		}
		if f.conn != nil && (ev.name == "sendto" || ev.name == "sendmsg") {
			if fl, err := r.msgFlags(ev); err == nil && fl&pdMsgFastOpen != 0 && !f.conn.FastOpen().Deferred {
				if st := f.conn.State(); st == stack.StateSynSent || st == stack.StateSynReceived {
					return r.fastOpenSendConnected(f), nil // pdfastopen.go
				}
			}
		}
		if f.conn != nil && f.conn.FastOpen().Deferred {
			if n, err := r.bufLen(ev); err == nil && n == 0 {
				return r.fastOpenEmptyWrite(f), nil // pdfastopen.go
			} else if err == nil && n > 0 && f.nonblock {
				return r.fastOpenNonblockWrite(f, n), nil
			}
		}
		if f.conn != nil && f.conn.FastOpen().Deferred && !f.nonblock {
			return r.fastOpenDeferredWrite(ev, f) // pdfastopen.go
		}
		if f.conn != nil && f.conn.State() == stack.StateSynSent && !f.conn.FastOpen().Deferred {
			return r.writeWhileConnecting(ev, f) // pdfastopen.go
		}
		return r.write(ev, f)
	case "sendfile":
		return r.sendfile(ev, f)
	case "read", "recv", "recvfrom", "readv", "recvmsg":
		return r.read(ev, f)
	case "close":
		delete(r.fds, f.num)
		switch {
		case f.conn != nil:
			if err := f.conn.Close(); err != nil && !errors.Is(err, stack.ErrClosed) {
				return fail(pdErrno(err)), nil
			}
		case f.ln != nil:
			f.ln.Close()
		}
		return ok(0), nil
	case "shutdown":
		how, err := r.intArg(ev, 1)
		if err != nil {
			return nil, err
		}
		if f.conn == nil {
			return fail("ENOTCONN"), nil
		}
		if how == 0 || how == 2 {
			f.shutRD = true
		}
		if how == 1 || how == 2 {
			if err := f.conn.CloseWrite(); err != nil {
				return fail(pdErrno(err)), nil
			}
		}
		return ok(0), nil
	case "ioctl":
		req, err := r.intArg(ev, 1)
		if err != nil {
			return nil, err
		}
		want, err := r.intArg(ev, 2)
		if err != nil {
			return nil, err
		}
		if req != 0x541B && req != 0x5411 {
			return nil, r.unsupported(ev.args[1].line, ev.args[1].col, "ioctl request %#x", req)
		}
		return func() (int64, string, bool) {
			if f.conn == nil {
				return -1, "EINVAL", true
			}
			got := int64(f.conn.Readable()) // SIOCINQ: bytes ready to read
			if req == 0x5411 {
				got = int64(f.conn.Info().SendBuffered) // SIOCOUTQ: unacknowledged and unsent bytes
			}
			if got != want && r.fail == nil {
				r.fail = r.failAt(ev.line, "ioctl returned [%d], want [%d]", got, want)
			}
			return 0, "", true
		}, nil
	case "fcntl":
		cmd, err := r.intArg(ev, 1)
		if err != nil {
			return nil, err
		}
		switch cmd {
		case 3:
			v := int64(2)
			if f.nonblock {
				v |= 0x800
			}
			return ok(v), nil
		case 4:
			fl, err := r.intArg(ev, 2)
			if err != nil {
				return nil, err
			}
			f.nonblock = fl&0x800 != 0
			return ok(0), nil
		}
		return nil, r.unsupported(ev.args[1].line, ev.args[1].col, "fcntl command %d", cmd)
	}
	return nil, r.unsupported(ev.callLine, ev.callCol, "system call %s", ev.name)
}

func (r *pdRunner) isSym(ev *pdEvent, i int, name string) bool {
	return i < len(ev.args) && ev.args[i].kind == pxWord && ev.args[i].s == name
}

func (r *pdRunner) connectWait(f *pdFD) func() (int64, string, bool) {
	return func() (int64, string, bool) {
		c := f.conn
		if err := c.Err(); err != nil {
			return -1, pdErrno(err), true
		}
		if c.State() == stack.StateSynSent || c.State() == stack.StateSynReceived {
			if f.nonblock {
				return -1, "EALREADY", true
			}
			return 0, "", false
		}
		return 0, "", true
	}
}

func (r *pdRunner) applyOpts(f *pdFD) {
	c := f.conn
	if c == nil {
		return
	}
	if f.nodelay {
		c.SetNoDelay(true)
	}
	c.SetTOS(f.tos)
	c.SetDontFragment(!f.noDF)
	if f.keepIdle > 0 || f.keepIntvl > 0 || f.keepCnt > 0 {
		cfg := r.p.host.Config()
		idle, intvl, cnt := cfg.KeepAliveIdle, cfg.KeepAliveInterval, cfg.KeepAliveProbes
		if f.keepIdle > 0 {
			idle = f.keepIdle
		}
		if f.keepIntvl > 0 {
			intvl = f.keepIntvl
		}
		if f.keepCnt > 0 {
			cnt = f.keepCnt
		}
		c.SetKeepAliveParams(idle, intvl, cnt)
	}
	if f.keepalive {
		c.SetKeepAlive(true)
	}
	if f.userTO > 0 {
		c.SetUserTimeout(f.userTO)
	}
	if f.lowat > 0 && c.NotSentLowat() != f.lowat {
		c.SetNotSentLowat(f.lowat)
	}
	if f.cork && !c.Cork() {
		c.SetCork(true)
	}
}

func (r *pdRunner) sockoptName(ev *pdEvent) (level, name int64, sym string, err error) {
	if level, err = r.intArg(ev, 1); err != nil {
		return
	}
	a, err := r.arg(ev, 2)
	if err != nil {
		return
	}
	if a.kind == pxWord {
		sym = a.s
	}
	if name, err = r.intExpr(a); err != nil {
		return
	}
	return
}

func (r *pdRunner) setsockopt(ev *pdEvent, f *pdFD) (func() (int64, string, bool), error) {
	level, name, sym, err := r.sockoptName(ev)
	if err != nil {
		return nil, err
	}
	if fn, ok, err := r.fastOpenSockopt(ev, f, level, name); ok { // pdfastopen.go
		return fn, err
	}
	v, err := r.intArg(ev, 3)
	if err != nil {
		return nil, err
	}
	done := func() (int64, string, bool) { r.applyOpts(f); return 0, "", true }
	unsup := func(why string) error {
		return r.unsupported(ev.args[2].line, ev.args[2].col, "setsockopt %s%s", sym, why)
	}
	switch {
	case level == 1 && name == 2: // SO_REUSEADDR: tcpsim has no bind conflicts to relax
		return done, nil
	case level == 1 && name == 60: // SO_ZEROCOPY: lets MSG_ZEROCOPY take effect (write)
		f.zerocopy = v != 0
		return done, nil
	case level == 1 && name == 9:
		f.keepalive = v != 0
		if f.conn != nil && v == 0 {
			f.conn.SetKeepAlive(false)
		}
		return done, nil
	case level == 1 && name == 7 && f.conn != nil:
		// SO_SNDBUF on a connection: Linux doubles the value it is given
		// (the other half is its bookkeeping overhead), and so do we.
		if err := f.conn.SetSendBuffer(int(min(max(2*v, 536), pdMaxBuf))); err != nil {
			return nil, unsup(fmt.Sprintf(" of %d bytes: %v", v, err))
		}
		return done, nil
	case level == 1 && (name == 7 || name == 8):
		if r.p != nil {
			return nil, unsup(" after the host started (tcpsim sizes buffers per host, before any connection)")
		}
		if v <= 0 || v > pdMaxBuf {
			return nil, unsup(fmt.Sprintf(" of %d bytes (tcpsim takes 1 to %d)", v, pdMaxBuf))
		}
		if name == 7 {
			r.cfg.TCP.SendBuffer = int(v)
		} else {
			r.cfg.TCP.RecvBuffer = int(v)
		}
		return done, nil
	case level == 6 && name == 1:
		f.nodelay = v != 0
		if f.conn != nil {
			f.conn.SetNoDelay(v != 0)
		}
		return done, nil
	case level == 6 && (name == 4 || name == 5):
		d := time.Duration(v) * time.Second
		if name == 4 {
			f.keepIdle = d
		} else {
			f.keepIntvl = d
		}
		return done, nil
	case level == 6 && name == 6:
		f.keepCnt = int(v)
		return done, nil
	case level == 6 && name == 18:
		f.userTO = time.Duration(v) * time.Millisecond
		if f.conn != nil && v == 0 {
			f.conn.SetUserTimeout(0)
		}
		return done, nil
	case level == 0 && name == 10: // IP_MTU_DISCOVER
		// DONT clears DF (Conn.SetDontFragment); WANT, DO and PROBE keep
		// it. tcpsim never fragments and does no path MTU discovery in
		// any mode: its packets fit the interface MTU.
		if v < 0 || v > 3 {
			return nil, unsup(fmt.Sprintf(" mode %d (only DONT, WANT, DO and PROBE)", v))
		}
		f.noDF = v == 0
		if f.conn != nil {
			f.conn.SetDontFragment(!f.noDF)
		}
		return done, nil
	case level == 0 && name == 1: // IP_TOS: the DSCP bits; TCP keeps the ECN bits its own
		if v < 0 || v > 255 {
			return func() (int64, string, bool) { return -1, "EINVAL", true }, nil
		}
		f.tos = uint8(v) &^ 3
		if f.conn != nil {
			f.conn.SetTOS(f.tos)
		}
		return done, nil
	case level == 6 && name == 3: // TCP_CORK
		f.cork = v != 0
		if f.conn != nil {
			f.conn.SetCork(v != 0)
		}
		return done, nil
	case level == 6 && name == 36: // TCP_INQ: recvmsg then carries a TCP_CM_INQ control message
		f.inq = v != 0
		return done, nil
	case level == 6 && name == 25: // TCP_NOTSENT_LOWAT: Linux takes it as a u32
		if v < 0 || v > 0xffffffff {
			return func() (int64, string, bool) { return -1, "EINVAL", true }, nil
		}
		f.lowat = int(v)
		if f.conn != nil {
			f.conn.SetNotSentLowat(int(v))
		}
		return done, nil
	case level == 6 && name == 2: // TCP_MAXSEG
		if f.conn != nil {
			return nil, unsup(" on a connection (Linux keeps it for nothing: the MSS is fixed at the handshake)")
		}
		if v < 0 || v > stack.MaxMaxSegment {
			return func() (int64, string, bool) { return -1, "EINVAL", true }, nil
		}
		if f.ln != nil {
			if err := f.ln.SetMaxSegment(int(v)); err != nil {
				return func() (int64, string, bool) { return -1, "EINVAL", true }, nil
			}
		} else if v != 0 && v < stack.MinMaxSegment {
			return func() (int64, string, bool) { return -1, "EINVAL", true }, nil
		}
		f.maxSeg = int(v)
		return done, nil
	}
	if sym == "" {
		sym = fmt.Sprintf("level %d option %d", level, name)
	}
	return nil, unsup("")
}

func (r *pdRunner) getsockopt(ev *pdEvent, f *pdFD) (func() (int64, string, bool), error) {
	level, name, sym, err := r.sockoptName(ev)
	if err != nil {
		return nil, err
	}
	var got int64
	switch {
	case level == 1 && name == 4: // SO_ERROR
		if f.conn != nil {
			if err := f.conn.Err(); err != nil && f.soErr == nil {
				f.soErr = err
				got = int64(pdErrnos[pdErrno(err)])
			}
		}
	case level == 6 && name == 1:
		if f.nodelay {
			got = 1
		}
	case level == 1 && name == 9:
		if f.keepalive {
			got = 1
		}
	case level == 1 && name == 60:
		if f.zerocopy {
			got = 1
		}
	case level == 0 && name == 1:
		got = int64(f.tos)
	case level == 0 && name == 10:
		got = 1 // IP_PMTUDISC_WANT, Linux's default for TCP
		if f.noDF {
			got = 0
		}
	case level == 6 && name == 18:
		got = int64(f.userTO / time.Millisecond)
	case level == 6 && name == 3:
		if f.cork {
			got = 1
		}
	case level == 6 && name == 36:
		if f.inq {
			got = 1
		}
	case level == 6 && name == 25: // TCP_NOTSENT_LOWAT: the socket's own mark, 0 if it uses the sysctl's
		got = int64(f.lowat)
		if f.conn != nil {
			got = int64(f.conn.NotSentLowat())
		}
	case level == 1 && name == 7 && f.conn != nil: // SO_SNDBUF of a connection
		got = int64(f.conn.SendBuffer())
	case level == 6 && name == 2 && f.conn != nil: // TCP_MAXSEG of a connection: the send MSS
		got = int64(f.conn.Info().SndMSS)
	case level == 6 && name == 2: // TCP_MAXSEG before the handshake: the setting, or Linux's 536
		got = 536
		if f.maxSeg > 0 {
			got = int64(f.maxSeg)
		}
	default:
		return nil, r.unsupported(ev.args[2].line, ev.args[2].col, "getsockopt %s", sym)
	}
	want, err := r.intArg(ev, 3)
	if err != nil {
		return nil, err
	}
	return func() (int64, string, bool) {
		if got != want {
			if r.fail == nil {
				r.fail = r.failAt(ev.line, "getsockopt %s returned [%d], want [%d]", sym, got, want)
			}
		}
		return 0, "", true
	}, nil
}

// bufLen reads the byte count of a write or read: the third argument, or
// the sum of an iovec array for writev/readv.
func (r *pdRunner) bufLen(ev *pdEvent) (int, error) {
	if ev.name == "sendmsg" || ev.name == "recvmsg" {
		m, err := r.msghdr(ev)
		if err != nil {
			return 0, err
		}
		return r.iovLen(ev, m.iov)
	}
	if ev.name == "writev" || ev.name == "readv" {
		a, err := r.arg(ev, 1)
		if err != nil {
			return 0, err
		}
		return r.iovLen(ev, a)
	}
	if a, err := r.arg(ev, 1); err == nil && a.kind == pxString {
		return 0, r.unsupported(a.line, a.col, "a literal buffer in %s", ev.name)
	}
	if a, err := r.arg(ev, 1); err == nil && (a.kind == pxInt || a.kind == pxWord && a.s == "NULL") {
		return -1, nil // an address: tcpsim has no user memory, so every one is bad (EFAULT)
	}
	n, err := r.intArg(ev, 2)
	if err != nil {
		return 0, err
	}
	if n < 0 || n > pdMaxBuf {
		return 0, r.unsupported(ev.args[2].line, ev.args[2].col, "%s of %d bytes (more than %d)", ev.name, n, pdMaxBuf)
	}
	return int(n), nil
}

// pdMsghdr is what a script's struct msghdr says.
type pdMsghdr struct {
	iov     *pdExpr
	inqWant *pdExpr // cmsg_data of a TCP_CM_INQ control message, nil without one
}

// msghdr reads sendmsg's or recvmsg's {msg_name(...)=..., msg_iov(N)=[...],
// msg_flags=0[, msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ,
// cmsg_data=N}]]}.
func (r *pdRunner) msghdr(ev *pdEvent) (*pdMsghdr, error) {
	a, err := r.arg(ev, 1)
	if err != nil {
		return nil, err
	}
	if a.kind != pxStruct {
		return nil, r.unsupported(a.line, a.col, "%s without a msghdr struct", ev.name)
	}
	m := &pdMsghdr{}
	for _, fld := range a.args {
		if fld.kind != pxAssign {
			return nil, r.unsupported(fld.line, fld.col, "msghdr field")
		}
		v := fld.args[1]
		switch fld.s {
		case "msg_name":
			if v.kind != pxEllipsis {
				return nil, r.unsupported(v.line, v.col, "msg_name other than ...")
			}
		case "msg_iov":
			m.iov = v
		case "msg_flags":
			if n, err := r.intExpr(v); err != nil || n != 0 {
				return nil, r.unsupported(v.line, v.col, "msg_flags other than 0")
			}
		case "msg_control":
			if ev.name != "recvmsg" || v.kind != pxArray || len(v.args) != 1 || v.args[0].kind != pxStruct {
				return nil, r.unsupported(v.line, v.col, "msg_control other than one TCP_CM_INQ message of recvmsg")
			}
			var level, typ int64 = -1, -1
			for _, c := range v.args[0].args {
				if c.kind != pxAssign {
					return nil, r.unsupported(c.line, c.col, "cmsg field")
				}
				switch c.s {
				case "cmsg_level":
					level, err = r.intExpr(c.args[1])
				case "cmsg_type":
					typ, err = r.intExpr(c.args[1])
				case "cmsg_data":
					m.inqWant = c.args[1]
				default:
					return nil, r.unsupported(c.line, c.col, "cmsg field %s", c.s)
				}
				if err != nil {
					return nil, err
				}
			}
			if level != 6 || typ != 36 || m.inqWant == nil {
				return nil, r.unsupported(v.line, v.col, "control message other than SOL_TCP TCP_CM_INQ")
			}
		default:
			return nil, r.unsupported(fld.line, fld.col, "msghdr field %s", fld.s)
		}
	}
	if m.iov == nil {
		return nil, r.unsupported(a.line, a.col, "msghdr without msg_iov")
	}
	return m, nil
}

// iovLen sums an iovec array [{..., N}, ...].
func (r *pdRunner) iovLen(ev *pdEvent, a *pdExpr) (int, error) {
	if a.kind != pxArray {
		return 0, r.unsupported(a.line, a.col, "%s without an iovec array", ev.name)
	}
	n := 0
	for _, iov := range a.args {
		if iov.kind != pxStruct || len(iov.args) != 2 {
			return 0, r.unsupported(iov.line, iov.col, "iovec other than {..., N}")
		}
		l, err := r.intExpr(iov.args[1])
		if err != nil {
			return 0, err
		}
		n += int(l)
		if l < 0 || n > pdMaxBuf {
			return 0, r.unsupported(iov.line, iov.col, "iovec of more than %d bytes in all", pdMaxBuf)
		}
	}
	return n, nil
}

const (
	pdMsgDontWait = 0x40
	pdMsgEOR      = 0x80
	pdMsgMore     = 0x8000
	// MSG_ZEROCOPY: on a socket with SO_ZEROCOPY Linux sends the pages
	// themselves and reports completions on the error queue; the segments
	// are the same as a copy's, and tcpsim, which copies, queues no
	// completions (a recvmsg with MSG_ERRQUEUE stays unsupported). Without
	// SO_ZEROCOPY Linux ignores the flag.
	pdMsgZerocopy = 0x4000000
)

// msgFlags reads the flags of send/recv: MSG_DONTWAIT, and on the sending
// side MSG_EOR.
func (r *pdRunner) msgFlags(ev *pdEvent) (int64, error) {
	i := 3
	switch ev.name {
	case "send", "recv", "sendto", "recvfrom":
	case "sendmsg", "recvmsg":
		i = 2
	default:
		return 0, nil
	}
	fl, err := r.intArg(ev, i)
	if err != nil {
		return 0, err
	}
	known := int64(pdMsgDontWait)
	if strings.HasPrefix(ev.name, "send") {
		known |= pdMsgEOR | pdMsgMore | pdMsgFastOpen | pdMsgNoSignal | pdMsgZerocopy // MSG_FASTOPEN: pdfastopen.go
	}
	if fl&^known != 0 || fl&pdMsgEOR != 0 && fl&pdMsgMore != 0 {
		return 0, r.unsupported(ev.args[i].line, ev.args[i].col, "%s flags %#x", ev.name, fl)
	}
	return fl, nil
}

func (r *pdRunner) write(ev *pdEvent, f *pdFD) (func() (int64, string, bool), error) {
	n, err := r.bufLen(ev)
	if err != nil {
		return nil, err
	}
	flags, err := r.msgFlags(ev)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return func() (int64, string, bool) { return -1, "EFAULT", true }, nil
	}
	if f.conn == nil {
		return func() (int64, string, bool) { return -1, "EPIPE", true }, nil
	}
	return r.writeData(f, n, flags), nil
}

// writeData is a write of n bytes (zeros, as packetdrill's payloads) to
// f's connection: it blocks, returns a partial count or EAGAIN as Linux's
// write does.
func (r *pdRunner) writeData(f *pdFD, n int, flags int64) func() (int64, string, bool) {
	dontwait := flags&pdMsgDontWait != 0
	data := make([]byte, n)
	written := 0
	blocked := false
	return func() (int64, string, bool) {
		if blocked && f.conn.Err() == nil && !f.conn.WriteReady() {
			if st := f.conn.State(); st == stack.StateEstablished || st == stack.StateCloseWait {
				// A blocked write sleeps until the socket is writable in
				// poll's sense (Linux's sk_stream_write_space wakes it only
				// then), not whenever a few bytes of space appear.
				return 0, "", false
			}
		}
		for written < n {
			write := f.conn.Write
			switch {
			case flags&pdMsgEOR != 0:
				write = f.conn.WriteEOR // the record ends with the call's last byte
			case flags&pdMsgMore != 0:
				write = f.conn.WriteMore // corked for this call's own sending
			}
			k, err := write(data[written:])
			written += k
			if errors.Is(err, stack.ErrWouldBlock) {
				if f.nonblock || dontwait {
					if written > 0 {
						return int64(written), "", true
					}
					return -1, "EAGAIN", true
				}
				blocked = true
				return 0, "", false
			}
			if err != nil {
				if written > 0 {
					return int64(written), "", true
				}
				return -1, pdErrno(err), true
			}
			if k == 0 {
				return 0, "", false
			}
		}
		return int64(n), "", true
	}
}

// open opens a file the script's shell commands made (dd), read-only.
func (r *pdRunner) open(ev *pdEvent) (func() (int64, string, bool), error) {
	a, err := r.arg(ev, 0)
	if err != nil {
		return nil, err
	}
	if a.kind != pxString {
		return nil, r.unsupported(a.line, a.col, "open of a path other than a string")
	}
	mode, err := r.intArg(ev, 1)
	if err != nil {
		return nil, err
	}
	if mode&3 != 0 {
		return nil, r.unsupported(ev.args[1].line, ev.args[1].col, "open other than O_RDONLY")
	}
	size, ok := r.files[a.s]
	if !ok {
		return func() (int64, string, bool) { return -1, "ENOENT", true }, nil
	}
	f := r.newFD(ev)
	f.file = &pdOpenFile{size: size}
	return func() (int64, string, bool) { return int64(f.num), "", true }, nil
}

// sendfile(out, in, [offset], count) writes count bytes of the file in
// from offset (the file's own offset if NULL, which then advances) to the
// socket out, as a write of as many zero bytes.
func (r *pdRunner) sendfile(ev *pdEvent, out *pdFD) (func() (int64, string, bool), error) {
	inNum, err := r.intArg(ev, 1)
	if err != nil {
		return nil, err
	}
	count, err := r.intArg(ev, 3)
	if err != nil {
		return nil, err
	}
	in := r.fds[int(inNum)]
	switch {
	case in == nil:
		return func() (int64, string, bool) { return -1, "EBADF", true }, nil
	case in.file == nil:
		return func() (int64, string, bool) { return -1, "EINVAL", true }, nil
	case out.conn == nil:
		return func() (int64, string, bool) { return -1, "EPIPE", true }, nil
	case count < 0 || count > pdMaxBuf:
		return nil, r.unsupported(ev.args[3].line, ev.args[3].col, "sendfile count %d (tcpsim takes 0 to %d)", count, pdMaxBuf)
	}
	off := in.file.off
	own := true
	if a, err := r.arg(ev, 2); err == nil && !(a.kind == pxWord && a.s == "NULL") {
		v, err := r.intExpr(a)
		if err != nil {
			return nil, err
		}
		off, own = int(v), false
	}
	n := max(min(int(count), in.file.size-off), 0)
	write := r.writeData(out, n, 0)
	return func() (int64, string, bool) {
		ret, errno, done := write()
		if done && ret > 0 && own {
			in.file.off += int(ret)
		}
		return ret, errno, done
	}, nil
}

func (r *pdRunner) read(ev *pdEvent, f *pdFD) (func() (int64, string, bool), error) {
	n, err := r.bufLen(ev)
	if err != nil {
		return nil, err
	}
	flags, err := r.msgFlags(ev)
	if err != nil {
		return nil, err
	}
	dontwait := flags&pdMsgDontWait != 0
	if n < 0 {
		return func() (int64, string, bool) { return -1, "EFAULT", true }, nil
	}
	if f.conn == nil {
		return func() (int64, string, bool) { return -1, "ENOTCONN", true }, nil
	}
	// recvmsg with a TCP_CM_INQ message: after the read, the readable
	// bytes left (Conn.InQueue, Linux's tcp_inq_hint).
	var inqWant *pdExpr
	if ev.name == "recvmsg" {
		m, err := r.msghdr(ev)
		if err != nil {
			return nil, err
		}
		inqWant = m.inqWant
	}
	checkInq := func() {
		if inqWant == nil || r.fail != nil {
			return
		}
		want, err := r.intExpr(inqWant)
		if err != nil {
			r.fail = err
			return
		}
		if !f.inq {
			r.fail = r.failAt(ev.line, "recvmsg: the script wants a TCP_CM_INQ message, but TCP_INQ is off")
			return
		}
		if got := int64(f.conn.InQueue()); got != want {
			r.fail = r.failAt(ev.line, "recvmsg: TCP_CM_INQ %d, want %d", got, want)
		}
	}
	buf := make([]byte, max(n, 1))
	return func() (int64, string, bool) {
		if f.shutRD && f.conn.Readable() == 0 {
			// After SHUT_RD Linux still queues arriving data and returns
			// it; only an empty queue reads as end of file.
			return 0, "", true
		}
		if n == 0 {
			return 0, "", true
		}
		k, err := f.conn.Read(buf[:n])
		switch {
		case k > 0:
			checkInq()
			return int64(k), "", true
		case errors.Is(err, io.EOF):
			return 0, "", true
		case errors.Is(err, stack.ErrWouldBlock):
			if f.nonblock || dontwait {
				return -1, "EAGAIN", true
			}
			return 0, "", false
		case err != nil:
			return -1, pdErrno(err), true
		}
		return 0, "", false
	}, nil
}

// ---- poll ----

// revents computes poll's events for f as Linux's tcp_poll would.
func (r *pdRunner) revents(f *pdFD) int64 {
	var ev int64
	if f.ln != nil {
		if f.ln.Pending() > 0 {
			ev |= 0x1 | 0x40
		}
		return ev
	}
	c := f.conn
	if c == nil {
		return 0x4 | 0x10 // an unconnected socket: POLLOUT|POLLHUP
	}
	st := c.State()
	finIn := st == stack.StateCloseWait || st == stack.StateLastAck || st == stack.StateClosing || st == stack.StateTimeWait
	if c.Err() != nil {
		return 0x1 | 0x40 | 0x4 | 0x100 | 0x8 | 0x10 | 0x2000
	}
	if c.Readable() > 0 || finIn || f.shutRD {
		ev |= 0x1 | 0x40
	}
	if finIn || f.shutRD {
		ev |= 0x2000
	}
	if st == stack.StateEstablished || st == stack.StateCloseWait || c.FastOpen().Deferred {
		if c.WriteReady() { // Linux's test: free space at least half the queued, and the not-sent mark
			ev |= 0x4 | 0x100
		}
	}
	if (finIn || f.shutRD) && (st == stack.StateLastAck || st == stack.StateClosing || st == stack.StateTimeWait || st == stack.StateClosed) {
		ev |= 0x10
	}
	return ev
}

func (r *pdRunner) poll(ev *pdEvent) (func() (int64, string, bool), error) {
	arr, err := r.arg(ev, 0)
	if err != nil {
		return nil, err
	}
	if arr.kind != pxArray {
		return nil, r.unsupported(arr.line, arr.col, "poll without a pollfd array")
	}
	type entry struct {
		fd            int
		events        int64
		revents       int64
		checkRevents  bool
		line, col     int
		reventsString string
	}
	var ents []entry
	for _, s := range arr.args {
		if s.kind != pxStruct {
			return nil, r.unsupported(s.line, s.col, "pollfd other than {fd=..., events=..., revents=...}")
		}
		e := entry{line: s.line, col: s.col}
		for _, fld := range s.args {
			if fld.kind != pxAssign {
				return nil, r.unsupported(fld.line, fld.col, "pollfd field")
			}
			v, err := r.intExpr(fld.args[1])
			if err != nil {
				return nil, err
			}
			switch fld.s {
			case "fd":
				e.fd = int(v)
			case "events":
				e.events = v
			case "revents":
				e.revents, e.checkRevents = v, true
			default:
				return nil, r.unsupported(fld.line, fld.col, "pollfd field %s", fld.s)
			}
		}
		ents = append(ents, e)
	}
	timeout, err := r.intArg(ev, 2)
	if err != nil {
		return nil, err
	}
	check := func() (int64, bool) {
		n := int64(0)
		got := make([]int64, len(ents))
		for i, e := range ents {
			f := r.fds[e.fd]
			if f == nil {
				got[i] = 0x20
			} else {
				got[i] = r.revents(f) & (e.events | 0x8 | 0x10 | 0x20)
			}
			if got[i] != 0 {
				n++
			}
		}
		if n == 0 {
			return 0, false
		}
		for i, e := range ents {
			if e.checkRevents && got[i] != e.revents && r.fail == nil {
				r.fail = r.failAt(ev.line, "poll: fd %d revents %#x, want %#x", e.fd, got[i], e.revents)
			}
		}
		return n, true
	}
	if timeout > 0 {
		d := time.Duration(timeout) * time.Millisecond
		r.pollTimeout = &d
		r.pollOnTimeout = func() (int64, string) { return 0, "" }
	}
	return func() (int64, string, bool) {
		n, ready := check()
		if ready || timeout == 0 {
			return n, "", true
		}
		return 0, "", false
	}, nil
}

// ---- commands ----

// pdSysctl maps one sysctl. It returns a note when the value asks for a
// mechanism tcpsim does not have (so tcpsim behaves differently).
type pdSysctlKind uint8

const (
	pdApplied pdSysctlKind = iota
	pdSame                 // tcpsim already behaves so
	pdDiffers              // tcpsim lacks what the value asks for
	pdUnknown
)

func (r *pdRunner) sysctl(name, val string) (pdSysctlKind, error) {
	name = strings.TrimPrefix(name, "net.ipv4.")
	tcp := &r.cfg.TCP
	num := func() (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil {
			return 0, fmt.Errorf("sysctl %s wants an integer, found %q", name, val)
		}
		return n, nil
	}
	three := func() ([]int, error) {
		f := strings.Fields(val)
		if len(f) != 3 {
			return nil, fmt.Errorf("sysctl %s wants three integers", name)
		}
		var v []int
		for _, s := range f {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("sysctl %s wants three integers", name)
			}
			v = append(v, n)
		}
		return v, nil
	}
	is := func(want ...string) pdSysctlKind {
		for _, w := range want {
			if strings.TrimSpace(val) == w {
				return pdSame
			}
		}
		return pdDiffers
	}
	switch name {
	case "tcp_rmem":
		v, err := three()
		if err != nil {
			return 0, err
		}
		if v[2] <= 0 || v[2] > pdMaxBuf || v[1] <= 0 || v[1] > pdMaxBuf {
			return 0, fmt.Errorf("sysctl %s: tcpsim takes buffers of 1 to %d bytes", name, pdMaxBuf)
		}
		// Linux derives its window scale from the largest buffer.
		tcp.RecvBuffer = v[2]
		return pdApplied, nil
	case "tcp_wmem":
		v, err := three()
		if err != nil {
			return 0, err
		}
		if v[1] <= 0 || v[1] > pdMaxBuf {
			return 0, fmt.Errorf("sysctl %s: tcpsim takes buffers of 1 to %d bytes", name, pdMaxBuf)
		}
		tcp.SendBuffer = v[1]
		return pdApplied, nil
	case "tcp_syn_retries", "tcp_synack_retries", "tcp_retries2", "tcp_keepalive_probes":
		n, err := num()
		if err != nil {
			return 0, err
		}
		*map[string]*int{"tcp_syn_retries": &tcp.SYNRetries, "tcp_synack_retries": &tcp.SYNACKRetries,
			"tcp_retries2": &tcp.DataRetries, "tcp_keepalive_probes": &tcp.KeepAliveProbes}[name] = n
		return pdApplied, nil
	case "tcp_fin_timeout", "tcp_keepalive_time", "tcp_keepalive_intvl":
		n, err := num()
		if err != nil {
			return 0, err
		}
		*map[string]*time.Duration{"tcp_fin_timeout": &tcp.FinWait2Timeout, "tcp_keepalive_time": &tcp.KeepAliveIdle,
			"tcp_keepalive_intvl": &tcp.KeepAliveInterval}[name] = time.Duration(n) * time.Second
		return pdApplied, nil
	case "tcp_sack", "tcp_window_scaling":
		n, err := num()
		if err != nil {
			return 0, err
		}
		if name == "tcp_sack" {
			tcp.DisableSACK = n == 0
		} else {
			tcp.DisableWindowScale = n == 0
		}
		return pdApplied, nil
	case "tcp_syncookies":
		n, err := num()
		if err != nil {
			return 0, err
		}
		tcp.SYNCookies = map[int]int{0: -1, 1: 0, 2: 1}[n]
		return pdApplied, nil
	case "ip_default_ttl":
		n, err := num()
		if err != nil || n < 1 || n > 255 {
			return 0, fmt.Errorf("sysctl ip_default_ttl wants 1 to 255")
		}
		tcp.TTL = uint8(n)
		return pdApplied, nil
	case "tcp_timestamps":
		n, err := num()
		if err != nil {
			return 0, err
		}
		tcp.DisableTimestamps = n == 0 // RFC 7323 (Linux 1 and 2 both send them)
		return pdApplied, nil
	case "tcp_ecn":
		n, err := num()
		if err != nil || n < 0 || n > 2 {
			return 0, fmt.Errorf("sysctl tcp_ecn wants 0, 1 or 2")
		}
		tcp.ECN = []int{stack.ECNOff, stack.ECNOn, stack.ECNPassive}[n] // ecn.go: the same three settings
		return pdApplied, nil
	case "tcp_fastopen", "tcp_fastopen_key", "tcp_fastopen_blackhole_timeout_sec":
		return r.fastOpenSysctl(name, val) // pdfastopen.go
	case "tcp_reordering":
		return is("3"), nil
	case "tcp_mtu_probing":
		return is("0"), nil // tcpsim does no path MTU probing
	case "tcp_fack":
		return is("0"), nil
	case "tcp_frto":
		n, err := num()
		if err != nil || n < 0 || n > 2 {
			return 0, fmt.Errorf("sysctl tcp_frto wants 0, 1 or 2")
		}
		tcp.FRTO = n != 0 // frto.go: Linux runs the SACK-enhanced variant when SACK is in use either way
		return pdApplied, nil
	case "tcp_dsack", "tcp_early_retrans", "tcp_recovery":
		return is("0"), nil
	case "tcp_slow_start_after_idle":
		switch strings.TrimSpace(val) {
		case "0":
			tcp.NoSlowStartAfterIdle = true
		case "1":
			tcp.NoSlowStartAfterIdle = false
		default:
			return pdDiffers, nil
		}
		return pdApplied, nil
	case "tcp_congestion_control":
		v := strings.TrimSpace(val)
		switch v {
		case "reno", "newreno":
			tcp.CongestionControl = stack.CCNewReno
		case "cubic":
			tcp.CongestionControl = stack.CCCubic
		default:
			return pdUnknown, nil
		}
		return pdApplied, nil
	case "tcp_notsent_lowat":
		v := strings.TrimSpace(val)
		if v == "4294967295" || v == "-1" {
			tcp.NotSentLowat = 0 // Linux's UINT_MAX: no mark
			return pdApplied, nil
		}
		n, err := num()
		if err != nil || n < 0 {
			return 0, fmt.Errorf("sysctl tcp_notsent_lowat wants a byte count")
		}
		tcp.NotSentLowat = n
		return pdApplied, nil
	case "tcp_min_tso_segs":
		// The burst that ends in PSH (stack/push.go) holds this many
		// segments at low rates.
		n, err := num()
		if err != nil || n < 1 || n > 255 {
			return 0, fmt.Errorf("sysctl tcp_min_tso_segs wants 1 to 255")
		}
		tcp.TSOBurst = n
		return pdApplied, nil
	case "tcp_tso_win_divisor", "tcp_pacing_ss_ratio", "tcp_pacing_ca_ratio",
		"tcp_ecn_option":
		// Mechanisms tcpsim has no trace of (TSO, pacing, the
		// accurate-ECN option): the value cannot change what it does.
		return pdSame, nil
	}
	return pdUnknown, nil
}

// pdDefaults are the settings of gtests/net/common/defaults.sh.
var pdDefaults = [][2]string{
	{"net.ipv4.tcp_rmem", "4096 540000 15728640"},
	{"net.ipv4.tcp_wmem", "4096 262144 4194304"},
	{"net.ipv4.tcp_timestamps", "1"},
	{"net.ipv4.tcp_syn_retries", "5"},
	{"net.ipv4.tcp_synack_retries", "5"},
	{"net.ipv4.tcp_frto", "2"},
	{"net.ipv4.tcp_sack", "1"},
	{"net.ipv4.tcp_dsack", "1"},
	{"net.ipv4.tcp_fack", "0"},
	{"net.ipv4.tcp_reordering", "3"},
	{"net.ipv4.tcp_congestion_control", "cubic"},
	{"net.ipv4.tcp_slow_start_after_idle", "0"},
	{"net.ipv4.tcp_early_retrans", "4"},
	{"net.ipv4.tcp_recovery", "1"},
	{"net.ipv4.tcp_tso_win_divisor", "3"},
	{"net.ipv4.tcp_ecn", "0"},
	{"net.ipv4.tcp_ecn_option", "2"},
	{"net.ipv4.tcp_pacing_ss_ratio", "200"},
	{"net.ipv4.tcp_pacing_ca_ratio", "120"},
	{"net.ipv4.tcp_notsent_lowat", "4294967295"},
	{"net.ipv4.tcp_fastopen", "0x70403"},
	{"net.ipv4.tcp_fastopen_key", "a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4"},
	{"net.ipv4.tcp_syncookies", "1"},
}

// pdBase is a command's name without its directory.
func pdBase(cmd string) string { return cmd[strings.LastIndexByte(cmd, '/')+1:] }

// fileCommand runs the file commands scripts use to make a file for
// sendfile: "rm -f PATH..." and "dd bs=N count=M if=/dev/zero of=PATH
// [status=none]", on the runner's own file table (nothing on the machine's
// disk is touched).
func (r *pdRunner) fileCommand(fields []string, lineNo, col int) error {
	if pdBase(fields[0]) == "rm" {
		if len(fields) < 3 || fields[1] != "-f" {
			return r.unsupported(lineNo, col, "shell command %q (only rm -f PATH)", strings.Join(fields, " "))
		}
		for _, p := range fields[2:] {
			delete(r.files, p)
		}
		return nil
	}
	bs, count, of := 512, -1, ""
	for _, a := range fields[1:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return r.unsupported(lineNo, col, "dd operand %q", a)
		}
		var n int
		var err error
		if k == "bs" || k == "count" {
			n, err = strconv.Atoi(v)
			if err != nil || n < 0 {
				return r.failAt(lineNo, "dd %s=%q: want a byte count", k, v)
			}
		}
		switch {
		case k == "bs":
			bs = n
		case k == "count":
			count = n
		case k == "if" && v == "/dev/zero":
		case k == "of":
			of = v
		case k == "status" && v == "none":
		default:
			return r.unsupported(lineNo, col, "dd operand %q (only bs, count, if=/dev/zero, of, status=none)", a)
		}
	}
	if count < 0 || of == "" || bs*count > pdMaxBuf {
		return r.unsupported(lineNo, col, "dd without count and of, or of more than %d bytes", pdMaxBuf)
	}
	r.files[of] = bs * count
	return nil
}

// pdOffloadToggle reports whether an ethtool command line only switches
// offloads (ethtool -K DEV tso|gso|gro|lro on|off ...).
func pdOffloadToggle(fields []string) bool {
	if len(fields) < 5 || (fields[1] != "-K" && fields[1] != "--features" && fields[1] != "--offload") || len(fields)%2 != 1 {
		return false
	}
	for i := 3; i < len(fields); i += 2 {
		switch fields[i] {
		case "tso", "gso", "gro", "lro", "tx-tcp-segmentation", "generic-segmentation-offload", "generic-receive-offload":
		default:
			return false
		}
		if v := fields[i+1]; v != "on" && v != "off" {
			return false
		}
	}
	return true
}

var pdSysctlArg = regexp.MustCompile(`([a-z0-9_.]+)=("[^"]*"|'[^']*'|\S+)`)

func (r *pdRunner) command(ev *pdEvent) error {
	// A backslash at the end of a line continues the command.
	text := strings.ReplaceAll(ev.text, "\\\n", "  ")
	for _, line := range strings.FieldsFunc(text, func(c rune) bool { return c == '\n' || c == ';' }) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue // a shell comment
		}
		lineNo := ev.textLine + strings.Count(text[:strings.Index(text, line)], "\n")
		col := ev.textCol
		if strings.HasSuffix(line, "defaults.sh") && !strings.ContainsAny(line, " \t") {
			for _, d := range pdDefaults {
				k, err := r.sysctl(d[0], d[1])
				if err != nil {
					return r.failAt(lineNo, "%v", err)
				}
				if k == pdDiffers {
					r.res.Notes = append(r.res.Notes, fmt.Sprintf("%s=%s: tcpsim does not model this", d[0], d[1]))
				}
			}
			continue
		}
		fields := strings.Fields(line)
		if strings.HasPrefix(fields[0], "/tmp/sysctl_restore_") && len(fields) == 1 {
			// packetdrill's helper that puts the machine's sysctls back
			// after a script: tcpsim's settings belong to this run's host
			// alone, so there is nothing to restore.
			continue
		}
		if strings.HasSuffix(fields[0], "set_sysctls.py") && len(fields) > 1 {
			// packetdrill's helper: set_sysctls.py /proc/sys/net/ipv4/NAME=VALUE ...
			r.sysctlsSaved = true
			line = "sysctl " + strings.ReplaceAll(strings.Join(fields[1:], " "), "/proc/sys/", "")
			line = strings.ReplaceAll(line, "/", ".")
			fields = strings.Fields(line)
		}
		switch {
		case strings.Contains(line, "/sys/module/tcp_cubic/parameters/"):
			if err := r.cubicParam(line, lineNo, col); err != nil { // pdcubic.go
				return err
			}
			continue
		case len(fields) > 2 && fields[0] == "tc" && fields[1] == "qdisc" && strings.Contains(" "+line+" ", " fq "):
			// fq on the host's own device paces every TCP flow by its
			// departure times (Linux's EDT pacing, TCPConfig.Pacing);
			// fq's own options and its flow scheduling are not modelled.
			if len(fields) != 7 || (fields[2] != "replace" && fields[2] != "add") || fields[3] != "dev" || fields[5] != "root" {
				return r.unsupported(lineNo, col, "tc qdisc fq with options (only \"tc qdisc replace|add dev DEV root fq\")")
			}
			if r.p != nil {
				return r.unsupported(lineNo, col, "tc qdisc fq after the host started (tcpsim reads its settings once, when the host is made)")
			}
			r.cfg.TCP.Pacing = true
			continue
		case len(fields) > 2 && fields[0] == "tc" && fields[1] == "qdisc":
			known, drop := pdLocalQdisc(fields) // pdshell.go
			if !known {
				return r.unsupported(lineNo, col, "shell command %q (tc qdisc: only fq, pfifo limit 0 and deleting the root qdisc)", line)
			}
			r.localQdisc(drop)
			continue
		case len(fields) > 2 && fields[0] == "ip" && fields[1] == "tcp_metrics" && fields[2] == "flush":
			if r.p != nil {
				r.p.host.FlushFastOpenCache() // pdfastopen.go: Linux keeps the cookies in its TCP metrics
			}
			continue
		case pdBase(fields[0]) == "rm" || pdBase(fields[0]) == "dd":
			if err := r.fileCommand(fields, lineNo, col); err != nil {
				return err
			}
			continue
		case fields[0] == "ethtool" && pdOffloadToggle(fields):
			// Segmentation and receive offloads of the host's device:
			// tcpsim's hosts have none to turn off, and Linux's TCP
			// builds GSO packets whatever the device offers (the stack
			// segments them in software when the device cannot), so the
			// segments and their PSH flags on the wire are the same
			// (TSOBurst's bursts).
			continue
		case fields[0] != "sysctl":
			return r.unsupported(lineNo, col, "shell command %q", line)
		}
		if r.p != nil && r.fastOpenLiveSysctl(line) { // pdfastopen.go
			continue
		}
		if r.p != nil {
			return r.unsupported(lineNo, col, "sysctl after the host started (tcpsim reads its settings once, when the host is made)")
		}
		args := pdSysctlArg.FindAllStringSubmatch(line, -1)
		if len(args) == 0 {
			return r.unsupported(lineNo, col, "shell command %q", line)
		}
		for _, a := range args {
			val := strings.Trim(a[2], `"'`)
			k, err := r.sysctl(a[1], val)
			if err != nil {
				return r.failAt(lineNo, "%v", err)
			}
			switch k {
			case pdDiffers:
				return r.unsupported(lineNo, col, "sysctl %s=%s (tcpsim has no such mechanism to set)", a[1], val)
			case pdUnknown:
				return r.unsupported(lineNo, col, "sysctl %s", a[1])
			}
		}
	}
	return nil
}

// ---- %{ }% assertions ----

var (
	pdAssertRe = regexp.MustCompile(`^assert\s+(.+?)\s*(,.*)?$`)
	pdPrintRe  = regexp.MustCompile(`^print\s*\(\s*([a-z_0-9]+)\s*\)$`)
	pdCmpRe    = regexp.MustCompile(`==|!=|<=|>=|<|>`)
)

// code runs a %{ }% block: statements "assert A OP B [OP C ...][, msg]",
// one a line or several separated by ";", a backslash continuing a line.
// A chain of comparisons means what it means in Python: each adjacent
// pair holds.
func (r *pdRunner) code(ev *pdEvent) error {
	lines := strings.Split(ev.text, "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := ev.textLine + i
		line := lines[i]
		for strings.HasSuffix(strings.TrimSpace(line), "\\") && i+1 < len(lines) {
			line = strings.TrimSuffix(strings.TrimSpace(line), "\\") + " " + lines[i+1]
			i++
		}
		if j := strings.Index(line, "#"); j >= 0 {
			line = line[:j]
		}
		for _, stmt := range strings.Split(line, ";") {
			if err := r.assert(strings.TrimSpace(stmt), lineNo, ev.textCol); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *pdRunner) assert(stmt string, lineNo, col int) error {
	if stmt == "" {
		return nil
	}
	if m := pdPrintRe.FindStringSubmatch(stmt); m != nil {
		// print(tcpi_x): packetdrill prints the value on its standard
		// output; here it goes to the result's Printed lines.
		v, err := r.tcpiValue(m[1], lineNo, col)
		if err != nil {
			return err
		}
		r.res.Printed = append(r.res.Printed, fmt.Sprintf("%d: %s = %d", lineNo, strings.TrimSpace(m[1]), v))
		return nil
	}
	m := pdAssertRe.FindStringSubmatch(stmt)
	var ops []string
	var terms []string
	if m != nil {
		ops = pdCmpRe.FindAllString(m[1], -1)
		terms = pdCmpRe.Split(m[1], -1)
	}
	if len(ops) == 0 || m == nil {
		if handled, err := r.pyAssign(stmt, lineNo, col); handled { // pdpython.go: NAME = EXPR
			return err
		}
		return r.unsupported(lineNo, col, "python code %q (only \"assert A OP B\", print(NAME) and NAME = EXPR)", stmt)
	}
	vals := make([]int64, len(terms))
	for k, t := range terms {
		v, err := r.tcpiValue(t, lineNo, col)
		if err != nil {
			return err
		}
		vals[k] = v
	}
	for k, op := range ops {
		a, b := vals[k], vals[k+1]
		ok := map[string]bool{"==": a == b, "!=": a != b, "<=": a <= b, ">=": a >= b, "<": a < b, ">": a > b}[op]
		if !ok && r.assertErr == nil {
			r.assertErr = r.failAt(lineNo, "assertion failed at %s: %s (%s is %d, %s is %d)", fmtTime(r.now), stmt,
				strings.TrimSpace(terms[k]), a, strings.TrimSpace(terms[k+1]), b)
		}
	}
	return nil
}

// pdTcpi maps struct tcp_info fields onto stack.ConnInfo.
var pdTcpi = map[string]func(i *stack.ConnInfo) int64{
	"tcpi_state": func(i *stack.ConnInfo) int64 {
		return map[stack.State]int64{stack.StateEstablished: 1, stack.StateSynSent: 2, stack.StateSynReceived: 3, stack.StateFinWait1: 4,
			stack.StateFinWait2: 5, stack.StateTimeWait: 6, stack.StateClosed: 7, stack.StateCloseWait: 8, stack.StateLastAck: 9, stack.StateClosing: 11}[i.State]
	},
	"tcpi_ca_state": func(i *stack.ConnInfo) int64 { return int64(i.CAState) }, // Linux's numbering (stack/castate.go)
	"tcpi_snd_cwnd": func(i *stack.ConnInfo) int64 { return int64(i.Cwnd) / int64(max(i.SndMSS, 1)) },
	"tcpi_snd_ssthresh": func(i *stack.ConnInfo) int64 {
		if i.Ssthresh >= 1<<30 { // tcpsim's initial "infinite" value
			return 0x7fffffff
		}
		return int64(i.Ssthresh) / int64(max(i.SndMSS, 1))
	},
	"tcpi_unacked": func(i *stack.ConnInfo) int64 {
		m := int64(max(i.SndMSS, 1))
		return (int64(i.BytesInFlight) + m - 1) / m
	},
	"tcpi_rtt":           func(i *stack.ConnInfo) int64 { return i.SRTT.Microseconds() },
	"tcpi_rttvar":        func(i *stack.ConnInfo) int64 { return i.RTTVar.Microseconds() },
	"tcpi_rto":           func(i *stack.ConnInfo) int64 { return i.RTO.Microseconds() },
	"tcpi_backoff":       func(i *stack.ConnInfo) int64 { return int64(i.Backoff) },
	"tcpi_snd_mss":       func(i *stack.ConnInfo) int64 { return int64(i.SndMSS) },
	"tcpi_advmss":        func(i *stack.ConnInfo) int64 { return int64(i.RcvMSS) },
	"tcpi_snd_wscale":    func(i *stack.ConnInfo) int64 { return int64(i.SndWndScale) },
	"tcpi_rcv_wscale":    func(i *stack.ConnInfo) int64 { return int64(i.RcvWndScale) },
	"tcpi_total_retrans": func(i *stack.ConnInfo) int64 { return int64(i.Retransmits) },
	"tcpi_segs_out":      func(i *stack.ConnInfo) int64 { return int64(i.SegsSent) },
	"tcpi_segs_in":       func(i *stack.ConnInfo) int64 { return int64(i.SegsReceived) },
	"tcpi_bytes_acked":   func(i *stack.ConnInfo) int64 { return int64(i.BytesAcked) },
	"tcpi_bytes_received": func(i *stack.ConnInfo) int64 {
		return int64(i.BytesReceived)
	},
	"tcpi_snd_wnd": func(i *stack.ConnInfo) int64 { return int64(i.SndWnd) },
	"tcpi_probes":  func(i *stack.ConnInfo) int64 { return int64(i.Probes) },
	// Linux reports these three in milliseconds (jiffies), the chrono
	// times in microseconds.
	"tcpi_last_data_sent": func(i *stack.ConnInfo) int64 { return i.LastDataSent.Milliseconds() },
	"tcpi_last_data_recv": func(i *stack.ConnInfo) int64 { return i.LastDataRecv.Milliseconds() },
	"tcpi_last_ack_recv":  func(i *stack.ConnInfo) int64 { return i.LastAckRecv.Milliseconds() },
	"tcpi_busy_time":      func(i *stack.ConnInfo) int64 { return i.BusyTime.Microseconds() },
	"tcpi_rwnd_limited":   func(i *stack.ConnInfo) int64 { return i.RwndLimited.Microseconds() },
	"tcpi_sndbuf_limited": func(i *stack.ConnInfo) int64 { return i.SndbufLimited.Microseconds() },
	"tcpi_notsent_bytes":  func(i *stack.ConnInfo) int64 { return int64(i.NotSent) },
	"tcpi_sacked":         func(i *stack.ConnInfo) int64 { return int64(i.Sacked) },
	"tcpi_lost":           func(i *stack.ConnInfo) int64 { return int64(i.Lost) },
	"tcpi_retrans":        func(i *stack.ConnInfo) int64 { return int64(i.Retrans) },
	"tcpi_reordering":     func(i *stack.ConnInfo) int64 { return int64(i.Reordering) },
	"tcpi_reord_seen":     func(i *stack.ConnInfo) int64 { return int64(i.ReorderSeen) },
}

func (r *pdRunner) tcpiValue(s string, line, col int) (int64, error) {
	s = strings.TrimSpace(s)
	if v, ok := r.py[s]; ok {
		return v, nil // a binding of an earlier %{ }% statement
	}
	if n, err := pdParseInt(s); err == nil && pdReInt.MatchString(s) && !pyHasOp(s) {
		return n, nil
	}
	if v, ok := pdSymbols[s]; ok {
		return v, nil
	}
	if v, ok := r.fastOpenTcpi(s); ok { // pdfastopen.go
		return v, nil
	}
	if pyHasOp(s) {
		return r.pyExpr(s, line, col) // pdpython.go: arithmetic
	}
	if f, ok := pdTcpi[s]; ok {
		if r.conn == nil {
			return 0, r.failAt(line, "%s read with no connection", s)
		}
		i := r.conn.Info()
		return f(&i), nil
	}
	if strings.HasPrefix(s, "tcpi_") {
		return 0, r.unsupported(line, col, "%s (stack.ConnInfo has no such field)", s)
	}
	return 0, r.unsupported(line, col, "python expression %q", s)
}

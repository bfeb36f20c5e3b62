package tcptest

import (
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// epoll for packetdrill scripts: an epoll instance is a descriptor holding
// registrations. Level-triggered ones report what poll would; an
// edge-triggered one (EPOLLET) reports an event only after the stack
// signalled it (new data, freed send space, an error) since the last
// epoll_wait that returned it, as Linux's wake-ups do.

const (
	epollIn  = 0x1
	epollOut = 0x4
	epollErr = 0x8
	epollHup = 0x10
	epollET  = 1 << 31
)

type pdEpoll struct {
	regs []*pdEpollReg
}

type pdEpollReg struct {
	fd     int
	events int64
	data   int64 // fd=, u32=, u64= or ptr=
	woken  bool  // edge-triggered: the stack signalled since the last report
}

func init() {
	for k, v := range map[string]int64{"EPOLLIN": epollIn, "EPOLLOUT": epollOut, "EPOLLERR": epollErr,
		"EPOLLHUP": epollHup, "EPOLLRDHUP": 0x2000, "EPOLLPRI": 0x2, "EPOLLET": epollET,
		"EPOLL_CTL_ADD": 1, "EPOLL_CTL_DEL": 2, "EPOLL_CTL_MOD": 3} {
		pdSymbols[k] = v
	}
}

// signal records a wake-up by the stack for edge-triggered registrations:
// as in Linux, the next wait reports every event true at that time.
func (r *pdRunner) signal(c *stack.Conn, ev stack.Event) {
	for _, f := range r.fds {
		if f.epoll == nil {
			continue
		}
		for _, reg := range f.epoll.regs {
			if t := r.fds[reg.fd]; t != nil && t.conn == c {
				reg.woken = true
			}
		}
	}
}

func (r *pdRunner) epollCall(ev *pdEvent) (func() (int64, string, bool), error) {
	fail := func(errno string) (func() (int64, string, bool), error) {
		return func() (int64, string, bool) { return -1, errno, true }, nil
	}
	switch ev.name {
	case "epoll_create", "epoll_create1":
		f := r.newFD(ev)
		f.epoll = &pdEpoll{}
		return func() (int64, string, bool) { return int64(f.num), "", true }, nil
	}
	epfd, err := r.intArg(ev, 0)
	if err != nil {
		return nil, err
	}
	ep := r.fds[int(epfd)]
	if ep == nil {
		return fail("EBADF")
	}
	if ep.epoll == nil {
		return fail("EINVAL")
	}
	switch ev.name {
	case "epoll_ctl":
		op, err := r.intArg(ev, 1)
		if err != nil {
			return nil, err
		}
		fd, err := r.intArg(ev, 2)
		if err != nil {
			return nil, err
		}
		if r.fds[int(fd)] == nil {
			return fail("EBADF")
		}
		var reg *pdEpollReg
		idx := -1
		for i, g := range ep.epoll.regs {
			if g.fd == int(fd) {
				reg, idx = g, i
			}
		}
		switch op {
		case 2:
			if reg == nil {
				return fail("ENOENT")
			}
			ep.epoll.regs = append(ep.epoll.regs[:idx], ep.epoll.regs[idx+1:]...)
			return func() (int64, string, bool) { return 0, "", true }, nil
		case 1, 3:
			if op == 1 && reg != nil {
				return fail("EEXIST")
			}
			if op == 3 && reg == nil {
				return fail("ENOENT")
			}
			events, data, err := r.epollEvent(ev, 3)
			if err != nil {
				return nil, err
			}
			if reg == nil {
				reg = &pdEpollReg{fd: int(fd)}
				ep.epoll.regs = append(ep.epoll.regs, reg)
			}
			reg.events, reg.data = events, data
			// Linux looks at the descriptor at once: what is ready now is
			// reported by the next wait, edge-triggered or not.
			reg.woken = true
			return func() (int64, string, bool) { return 0, "", true }, nil
		}
		return nil, r.unsupported(ev.args[1].line, ev.args[1].col, "epoll_ctl operation %d", op)
	case "epoll_wait", "epoll_pwait":
		a, err := r.arg(ev, 1)
		if err != nil {
			return nil, err
		}
		wantEvents, wantData, err := r.epollEventExpr(a)
		if err != nil {
			return nil, err
		}
		maxev, err := r.intArg(ev, 2)
		if err != nil {
			return nil, err
		}
		timeout, err := r.intArg(ev, 3)
		if err != nil {
			return nil, err
		}
		if maxev != 1 && (maxev < 1 || len(ep.epoll.regs) > 1) {
			// With one descriptor registered at most one event comes back,
			// whatever room the call leaves.
			return nil, r.unsupported(ev.args[2].line, ev.args[2].col, "epoll_wait with maxevents other than 1 on more than one descriptor")
		}
		check := func() (int64, bool) {
			for _, reg := range ep.epoll.regs {
				f := r.fds[reg.fd]
				if f == nil {
					continue
				}
				got := r.revents(f) & (reg.events | epollErr | epollHup)
				if got == 0 || (reg.events&epollET != 0 && !reg.woken) {
					continue
				}
				reg.woken = false
				if (got != wantEvents || reg.data != wantData) && r.fail == nil {
					r.fail = r.failAt(ev.line, "epoll_wait returned {events=%#x, data=%d}, want {events=%#x, data=%d}", got, reg.data, wantEvents, wantData)
				}
				return 1, true
			}
			return 0, false
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
	return nil, r.unsupported(ev.callLine, ev.callCol, "system call %s", ev.name)
}

func (r *pdRunner) epollEvent(ev *pdEvent, i int) (int64, int64, error) {
	a, err := r.arg(ev, i)
	if err != nil {
		return 0, 0, err
	}
	return r.epollEventExpr(a)
}

// epollEventExpr reads {events=..., fd=N} (or u32=, u64=, ptr=).
func (r *pdRunner) epollEventExpr(a *pdExpr) (events, data int64, err error) {
	if a.kind != pxStruct {
		return 0, 0, r.unsupported(a.line, a.col, "epoll_event other than {events=..., fd=...}")
	}
	for _, f := range a.args {
		if f.kind != pxAssign {
			return 0, 0, r.unsupported(f.line, f.col, "epoll_event field")
		}
		v, err := r.intExpr(f.args[1])
		if err != nil {
			return 0, 0, err
		}
		switch f.s {
		case "events":
			events = v
		case "fd", "u32", "u64", "ptr":
			data = v
		default:
			return 0, 0, r.unsupported(f.line, f.col, "epoll_event field %s", f.s)
		}
	}
	return events, data, nil
}

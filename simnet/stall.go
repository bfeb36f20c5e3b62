package simnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// The stall check. A test whose goroutines all wait on the network, with no
// packet in flight and no TCP timer pending, can never go on: inside a
// synctest bubble it would end in the runtime's "deadlock" panic and pages
// of stacks, outside one in the test binary's timeout. The watch goroutine
// looks, every StallAfter/10 of (fake or real) time while calls are
// waiting, at whether the world has anything scheduled and whether any call
// completed; after StallAfter of nothing, it fails the test with one line
// per blocked call, in the network's terms, and closes the network so the
// calls return net.ErrClosed.
//
// Calls that wait normally are left out of the trigger (but named in the
// report): Accept, and the reads of the kit's HTTP clients and servers on
// idle keep-alive connections, unless a request is in progress.

// candidate reports whether some waiting call can only end by the network
// moving. n.mu held.
func (n *Net) candidate() bool {
	if n.rts > 0 {
		return true
	}
	for o := range n.ops {
		if o.l != nil {
			continue
		}
		if o.c != nil && (o.c.role != "" || o.c.hasDeadline(o.what)) {
			continue
		}
		return true
	}
	return false
}

func (n *Net) watch() {
	defer n.watchWG.Done()
	tick := n.opts.StallAfter / 10
	if tick <= 0 {
		tick = 1
	}
	var lastMoves uint64
	var since time.Time
	stuck := false
	for {
		n.mu.Lock()
		cand := n.candidate()
		moves := n.moves
		n.mu.Unlock()
		if !cand {
			stuck = false
			select {
			case <-n.busy:
				continue
			case <-n.quit:
				return
			}
		}
		tm := time.NewTimer(tick)
		select {
		case <-tm.C:
		case <-n.quit:
			tm.Stop()
			return
		}
		idle := false
		if n.loop.Call(func() { _, pending := n.w.Next(); idle = !pending }) != nil {
			return
		}
		n.mu.Lock()
		cand = n.candidate()
		now := n.moves
		n.mu.Unlock()
		if !cand || !idle || now != moves || now != lastMoves {
			stuck, lastMoves = false, now
			continue
		}
		if !stuck {
			stuck, since = true, time.Now()
			continue
		}
		if time.Since(since)+tick >= n.opts.StallAfter {
			rep := n.stallReport(time.Since(since) + tick)
			n.mu.Lock()
			n.stalled = errors.New(rep)
			n.mu.Unlock()
			if n.t != nil {
				n.t.Error(rep)
			}
			n.breakStall()
			return
		}
	}
}

// breakStall closes every connection and listener, so that the blocked
// calls return net.ErrClosed and the test can end.
func (n *Net) breakStall() {
	n.mu.Lock()
	var conns []*Conn
	var lns []*Listener
	for _, h := range n.order {
		if h.inc == nil {
			continue
		}
		for c := range h.inc.conns {
			conns = append(conns, c)
		}
		for l := range h.inc.listeners {
			lns = append(lns, l)
		}
	}
	n.mu.Unlock()
	for _, l := range lns {
		l.inner.Close()
	}
	for _, c := range conns {
		c.inner.Close()
	}
}

// Blocked describes the calls waiting on the network now, one per line, as
// the stall report does ("" when none waits).
func (n *Net) Blocked() string {
	if n.usable() != nil {
		return ""
	}
	return strings.Join(n.describe(), "\n")
}

func (n *Net) stallReport(d time.Duration) string {
	lines := n.describe()
	var b strings.Builder
	fmt.Fprintf(&b, "simnet: the test is stuck: for %v every call on the simulated network has waited with nothing moving (no packet in flight, no TCP timer pending). %d blocked:\n", d.Round(time.Second), len(lines))
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("simnet closes the network now, so these calls return net.ErrClosed. (Set Options.StallAfter if the test really waits this long.)")
	return b.String()
}

type connView struct {
	ok       bool
	state    stack.State
	unread   int
	unsent   int
	finSent  bool
	nobody   bool // no connection of that 4-tuple on the peer
	peerName string
}

// describe returns one line per call in progress.
func (n *Net) describe() []string {
	n.mu.Lock()
	ops := make([]*op, 0, len(n.ops))
	for o := range n.ops {
		ops = append(ops, o)
	}
	byAddr := make(map[netip.Addr]*Host)
	stacks := make(map[netip.Addr]*stack.Host)
	for _, h := range n.order {
		byAddr[h.addr] = h
		if h.inc != nil && !h.inc.down {
			stacks[h.addr] = h.inc.st
		}
	}
	n.mu.Unlock()
	sort.Slice(ops, func(i, j int) bool {
		if !ops[i].since.Equal(ops[j].since) {
			return ops[i].since.Before(ops[j].since)
		}
		return ops[i].host < ops[j].host
	})
	name := func(ap netip.AddrPort) string {
		if h := byAddr[ap.Addr()]; h != nil {
			return h.name + " " + ap.String()
		}
		return ap.String()
	}
	type pair struct{ me, peer connView }
	views := make([]pair, len(ops))
	n.loop.Call(func() {
		for i, o := range ops {
			if o.c == nil || o.c.sc == nil {
				continue
			}
			sc := o.c.sc.Stack()
			views[i].me = view(sc)
			st := stacks[sc.RemoteAddr().Addr()]
			views[i].peer.nobody = true
			if st == nil {
				continue
			}
			for _, pc := range st.Conns() {
				if pc.LocalAddr() == sc.RemoteAddr() && pc.RemoteAddr() == sc.LocalAddr() {
					views[i].peer = view(pc)
				}
			}
		}
	})
	now := time.Now()
	var lines []string
	for i, o := range ops {
		waited := now.Sub(o.since).Round(time.Millisecond)
		switch {
		case o.l != nil:
			lines = append(lines, fmt.Sprintf("%s: Accept on %v for %v: no connection is arriving (nobody dials it, or the dialer is cut off)", o.host, o.l.Addr(), waited))
		case o.c == nil:
			lines = append(lines, fmt.Sprintf("%s: %s for %v", o.host, o.what, waited))
		default:
			c := o.c
			la, _ := netip.ParseAddrPort(c.LocalAddr().String())
			ra, _ := netip.ParseAddrPort(c.RemoteAddr().String())
			peer := "the peer"
			if h := byAddr[ra.Addr()]; h != nil {
				peer = h.name
			}
			me, pv := views[i].me, views[i].peer
			role := ""
			if c.role != "" {
				role = " (" + c.role + ")"
			}
			head := fmt.Sprintf("%s: %s%s on %s → %s [%v, %d bytes unread, %d unsent] for %v", o.host, o.what, role, name(la), name(ra), me.state, me.unread, me.unsent, waited)
			var why string
			switch {
			case c.role != "" && o.what == "Read" && !pv.nobody:
				why = "net/http's own read on this connection (the response, a next request, or a hang-up); it waits for the calls below"
			case pv.nobody:
				why = fmt.Sprintf("%s has no such connection (it crashed, reset it, or closed it long ago)", peer)
			case o.what == "Write":
				why = fmt.Sprintf("waits for room in the send buffer; %s's end is %v with %d bytes it has not read: is anyone reading there?", peer, pv.state, pv.unread)
			case pv.finSent:
				why = fmt.Sprintf("waits for data; %s has closed its side (%v)", peer, pv.state)
			default:
				why = fmt.Sprintf("waits for data or a FIN from %s, whose end is %v with %d bytes unread and %d unsent, not closed: does %s wait too, or did it forget to reply or Close?", peer, pv.state, pv.unread, pv.unsent, peer)
			}
			lines = append(lines, head+": "+why)
		}
	}
	return lines
}

func view(sc *stack.Conn) connView {
	in := sc.Info()
	st := sc.State()
	fin := false
	switch st {
	case stack.StateFinWait1, stack.StateFinWait2, stack.StateClosing, stack.StateTimeWait, stack.StateLastAck, stack.StateClosed:
		fin = true
	}
	return connView{ok: true, state: st, unread: in.RecvBuffered, unsent: in.SendBuffered, finSent: fin}
}

var _ = net.ErrClosed

package sim

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// Ping is a host's ICMP echo (RFC 792) as a blocking call: the request
// goes out through the stack (stack.Host.SendEcho), the peer's stack
// answers it, and the reply wakes the task that waits for it. Replies are
// matched to requests by source address, identifier and sequence number,
// so that several tasks may ping at once.

// PingReply is the answer to one echo request.
type PingReply struct {
	// From is the address that answered; Seq the sequence number.
	From netip.Addr
	Seq  uint16
	// Len is the bytes of data the reply carried (the request's, echoed).
	Len int
	// TTL is the reply's IPv4 time to live as it arrived.
	TTL uint8
	// RTT is the virtual time from sending the request to the reply's
	// arrival.
	RTT time.Duration
}

// echoKey is what matches a reply to its request.
type echoKey struct {
	from    netip.Addr
	id, seq uint16
}

type echoWait struct {
	q      *WaitQueue
	done   bool
	at     time.Duration // the reply's arrival, on the world's clock
	ttl    uint8
	length int
}

// echoTable is one host's requests waiting for a reply.
type echoTable struct {
	w       *World
	waiting map[echoKey]*echoWait
}

func (t *echoTable) reply(r stack.EchoReply) {
	e, ok := t.waiting[echoKey{r.Src, r.ID, r.Seq}]
	if !ok || e.done {
		return // late, duplicated, or nobody's
	}
	e.done, e.at, e.ttl, e.length = true, t.w.Now(), r.TTL, len(r.Data)
	e.q.WakeAll()
}

// echoes returns the host's table, installing its reply handler on first
// use.
func (n *Net) echoes() *echoTable {
	if n.w.echoes == nil {
		n.w.echoes = make(map[*stack.Host]*echoTable)
	}
	t := n.w.echoes[n.h]
	if t == nil {
		t = &echoTable{w: n.w, waiting: make(map[echoKey]*echoWait)}
		n.w.echoes[n.h] = t
		n.h.OnEchoReply(t.reply)
	}
	return t
}

// Ping sends one ICMP echo request to dst with identifier id, sequence
// number seq and data, and waits for its reply up to timeout of virtual
// time. A reply after the timeout, or a second copy of one, is ignored.
// Without a reply it fails with an error for which errors.Is(err,
// os.ErrDeadlineExceeded) holds; a request that cannot be sent (no route,
// larger than the interface's MTU) fails at once. The virtual driver only:
// call it from a task. The first Ping on a host installs the host's echo
// reply handler (stack.Host.OnEchoReply) in place of any other.
func (n *Net) Ping(dst netip.Addr, id, seq uint16, data []byte, timeout time.Duration) (PingReply, error) {
	fail := func(err error) (PingReply, error) {
		var addr net.Addr
		if dst.IsValid() {
			addr = &net.IPAddr{IP: dst.AsSlice()}
		}
		return PingReply{}, &net.OpError{Op: "ping", Net: "ip4:icmp", Addr: addr, Err: err}
	}
	if err := n.usable(); err != nil {
		return fail(err)
	}
	if n.loop != nil {
		return fail(fmt.Errorf("%w: Ping runs on the virtual driver (NewTaskNet), not a Loop", ErrInvalid))
	}
	t := n.task()
	if t == nil {
		return fail(ErrNotInTask)
	}
	if timeout <= 0 {
		return fail(fmt.Errorf("%w: ping timeout %v: must be positive", ErrInvalid, timeout))
	}
	tbl := n.echoes()
	k := echoKey{dst, id, seq}
	if _, busy := tbl.waiting[k]; busy {
		return fail(fmt.Errorf("%w: an echo request to %v with id %d and seq %d is already waiting", ErrInvalid, dst, id, seq))
	}
	e := &echoWait{q: NewWaitQueue("ping")}
	tbl.waiting[k] = e
	defer delete(tbl.waiting, k)
	start := t.Now()
	if err := n.h.SendEcho(dst, id, seq, data); err != nil {
		return fail(err)
	}
	deadline := start + timeout
	for !e.done {
		if !t.Wait(e.q, deadline) && !e.done {
			return fail(os.ErrDeadlineExceeded)
		}
	}
	return PingReply{From: dst, Seq: seq, Len: e.length, TTL: e.ttl, RTT: e.at - start}, nil
}

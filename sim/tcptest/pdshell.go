package tcptest

// Queue disciplines on the host's own device, from the tc commands scripts
// run to make the sender's local queue refuse packets. Linux's TCP sees such
// a drop (NET_XMIT_DROP) where a loss on the path is invisible to it;
// stack/localdrop.go models the reaction. Two forms are understood:
//
//	tc qdisc replace|add dev DEV root pfifo limit 0   every packet is dropped
//	tc qdisc del|delete dev DEV root [2>/dev/null]    back to the default queue
//
// A pfifo of limit 0 holds nothing, so the host's every packet, its pure
// ACKs and retransmissions too, is dropped before the script sees it;
// deleting the root qdisc restores the default, which on a packetdrill tun
// device never fills. Any other tc qdisc command stays unsupported (fq has
// its own case in command).

// localQdisc reports whether fields are one of the two forms above, and
// whether the local queue then drops everything.
func pdLocalQdisc(fields []string) (known, drop bool) {
	if len(fields) < 6 || fields[0] != "tc" || fields[1] != "qdisc" || fields[3] != "dev" || fields[5] != "root" {
		return false, false
	}
	rest := fields[6:]
	switch fields[2] {
	case "replace", "add":
		return len(rest) == 3 && rest[0] == "pfifo" && rest[1] == "limit" && rest[2] == "0", true
	case "del", "delete":
		return len(rest) == 0 || len(rest) == 1 && rest[0] == "2>/dev/null", false
	}
	return false, false
}

// localQdisc applies a local-queue command: to the host now, or, before it
// exists, when start makes it.
func (r *pdRunner) localQdisc(drop bool) {
	r.localDrop = drop
	if r.p != nil {
		r.p.SetLocalDrop(drop)
	}
}

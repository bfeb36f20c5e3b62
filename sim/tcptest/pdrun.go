package tcptest

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/stack"
)

// This file runs packetdrill scripts (pdparse.go) on a Peer, with
// packetdrill's rules: relative times count from when the previous event
// finished, an outbound packet may leave within the tolerance (4 ms, or
// 12.5 % of the time since the previous event if more), blocking calls
// marked "...end" run beside the events that follow, and an outbound
// packet of N bytes may be several segments that add up to N.

// Packetdrill's defaults (its config.c and gtests/net/common/defaults.sh).
var (
	PDHost    = netip.MustParseAddr("192.168.0.2") // packetdrill picks a random 192.168.x.y; fixed here
	PDGateway = netip.MustParseAddr("192.168.0.1")
	PDRemote  = netip.MustParseAddr("192.0.2.1")
)

const (
	pdBindPort    = 8080  // --bind_port
	pdConnectPort = 8080  // --connect_port
	pdRemotePort  = 40000 // the port of the remote end of a passive open
)

// PDResult describes a finished packetdrill run.
type PDResult struct {
	// Notes lists the settings of defaults.sh that tcpsim does not model
	// (the script ran without them), one per line.
	Notes []string
	// Printed holds the values the script's %{ print(tcpi_x) }% statements
	// printed, each "LINE: tcpi_x = VALUE".
	Printed []string
	Peer    *Peer
}

// RunPacketdrillFile parses and runs a packetdrill script.
func RunPacketdrillFile(path string) (*PDResult, error) {
	s, err := ParsePacketdrillFile(path)
	if err != nil {
		return nil, err
	}
	return RunPacketdrill(s)
}

type pdFD struct {
	num       int
	ln        *stack.Listener
	conn      *stack.Conn
	nonblock  bool
	shutRD    bool
	nodelay   bool
	keepalive bool
	keepIdle  time.Duration
	keepIntvl time.Duration
	keepCnt   int
	userTO    time.Duration
	maxSeg    int   // TCP_MAXSEG before connect or on a listener
	lowat     int   // TCP_NOTSENT_LOWAT
	cork      bool  // TCP_CORK
	inq       bool  // TCP_INQ: recvmsg reports the readable bytes left
	zerocopy  bool  // SO_ZEROCOPY
	tos       uint8 // IP_TOS (its DSCP bits)
	noDF      bool  // IP_MTU_DISCOVER IP_PMTUDISC_DONT
	soErr     error // reported once by SO_ERROR
	// TCP Fast Open (pdfastopen.go).
	tfoQlen    int    // TCP_FASTOPEN
	tfoKey     []byte // TCP_FASTOPEN_KEY
	tfoConnect bool   // TCP_FASTOPEN_CONNECT
	synCnt     int    // TCP_SYNCNT
	epoll      *pdEpoll
	file       *pdOpenFile // a file open()ed from the runner's file table
}

// pdOpenFile is an open file: its size and the read offset.
type pdOpenFile struct{ size, off int }

type pdPending struct {
	ev          *pdEvent
	fdDesc      string
	attempt     func() (ret int64, errno string, done bool)
	start, end  time.Duration // start; expected end for "..." calls
	deadline    time.Duration // poll timeout
	hasDeadline bool
	onDeadline  func() (int64, string)
}

type pdRunner struct {
	s   *PDScript
	cfg PeerConfig
	p   *Peer
	res *PDResult

	tol    time.Duration
	tolPct float64
	tsTick time.Duration
	strict bool

	fds  map[int]*pdFD
	conn *stack.Conn
	// files are the files the script's shell commands made (dd from
	// /dev/zero), by path, with their sizes: every byte is zero, as
	// packetdrill's payloads are.
	files map[string]int

	now       time.Duration
	lastSched time.Duration
	hasLast   bool
	offset    time.Duration // the base of the current event's relative times

	pending       *pdPending
	pollTimeout   *time.Duration // set by prepare for a poll with a timeout
	pollOnTimeout func() (int64, string)
	inPoke        bool
	fail          error            // first failure found inside a callback
	assertErr     error            // first failed %{ }% assertion, reported at the end
	py            map[string]int64 // names the script's %{ }% code bound (pdpython.go)
	sysctlsSaved  bool             // set_sysctls.py ran: its restore script is a no-op here
	localDrop     bool             // a tc command made the host's own queue drop everything (pdshell.go)
	remoteISN     uint32           // seq of the script's last inbound SYN: the base of its later numbers

	tsMap                    map[uint32]uint32
	tsFound                  bool
	firstScript, firstActual uint32
}

func (r *pdRunner) unsupported(line, col int, format string, args ...any) error {
	return &UnsupportedError{File: r.s.Name, Line: line, Col: col, Construct: fmt.Sprintf(format, args...)}
}

func (r *pdRunner) failAt(line int, format string, args ...any) error {
	e := &RunError{File: r.s.Name, Line: line, Err: fmt.Errorf(format, args...)}
	if r.p != nil {
		e.Trace = r.p.TraceString(12)
	}
	return e
}

// RunPacketdrill runs s against a new host. Failures are *RunError (with
// the line), constructs tcpsim does not model *UnsupportedError.
func RunPacketdrill(s *PDScript) (*PDResult, error) {
	r := &pdRunner{
		s:      s,
		res:    &PDResult{},
		tol:    4 * time.Millisecond,
		tolPct: 12.5,
		fds:    map[int]*pdFD{},
		files:  map[string]int{},
		tsMap:  map[uint32]uint32{},
		cfg: PeerConfig{
			Host: netip.AddrPortFrom(PDHost, pdBindPort),
			Peer: netip.AddrPortFrom(PDRemote, pdRemotePort),
			MTU:  1500,
		},
	}
	// The corpus is written for Linux: start from the linux profile, then
	// apply defaults.sh and the script's own sysctls on top.
	r.cfg.TCP, _ = stack.Profile(stack.ProfileLinux)
	// The scripts assert Linux's own CUBIC windows, which the profile's
	// RFC 9438 CUBIC with HyStart++ does not reproduce (stack/cubic_linux.go).
	r.cfg.TCP.LinuxCubic = true
	// Linux takes an RTT sample from every ACK (stack/rttlinux.go); the
	// scripts see that SRTT in the pacing rate fq enforces.
	r.cfg.TCP.LinuxRTTSamples = true
	for _, o := range s.Options {
		if err := r.option(o); err != nil {
			return r.res, err
		}
	}
	if len(s.Events) > 0 && (s.Events[0].tm.kind != pdAbs && s.Events[0].tm.kind != pdRel || s.Events[0].tm.t != 0) {
		if s.Events[0].kind != pdCommand {
			return r.res, r.failAt(s.Events[0].line, "first event should be at time 0")
		}
	}
	for _, ev := range s.Events {
		if err := r.event(ev); err != nil {
			return r.res, err
		}
		if r.fail != nil {
			return r.res, r.fail
		}
	}
	if r.pending != nil {
		return r.res, r.failAt(r.pending.ev.line, "the script ended while the blocking %s call was still in progress", r.pending.ev.name)
	}
	return r.res, r.assertErr
}

func (r *pdRunner) option(o PDOption) error {
	us := func() (time.Duration, error) {
		n, err := strconv.ParseInt(o.Value, 10, 64)
		if err != nil || n <= 0 {
			return 0, &ParseError{File: r.s.Name, Line: o.Line, Col: o.Col, Msg: fmt.Sprintf("--%s wants a positive integer", o.Name)}
		}
		return time.Duration(n) * time.Microsecond, nil
	}
	var err error
	switch o.Name {
	case "tolerance_usecs":
		r.tol, err = us()
	case "tolerance_percent":
		r.tolPct, err = strconv.ParseFloat(o.Value, 64)
	case "tcp_ts_tick_usecs":
		r.tsTick, err = us()
	case "strict_segments":
		r.strict = true
	case "ip_version":
		if o.Value != "ipv4" {
			return r.unsupported(o.Line, o.Col, "--ip_version=%s (tcpsim is IPv4 only)", o.Value)
		}
	case "local_ip", "remote_ip":
		a, perr := netip.ParseAddr(o.Value)
		if perr != nil || !a.Is4() {
			return r.unsupported(o.Line, o.Col, "--%s=%s (tcpsim is IPv4 only)", o.Name, o.Value)
		}
		if o.Name == "local_ip" {
			r.cfg.Host = netip.AddrPortFrom(a, r.cfg.Host.Port())
		} else {
			r.cfg.Peer = netip.AddrPortFrom(a, r.cfg.Peer.Port())
		}
	case "mtu":
		n, perr := strconv.Atoi(o.Value)
		if perr != nil || n < 68 || n > 65535 {
			return &ParseError{File: r.s.Name, Line: o.Line, Col: o.Col, Msg: "--mtu wants 68 to 65535"}
		}
		r.cfg.MTU = n
	default:
		return r.unsupported(o.Line, o.Col, "option --%s", o.Name)
	}
	if err != nil {
		return &ParseError{File: r.s.Name, Line: o.Line, Col: o.Col, Msg: fmt.Sprintf("bad --%s: %v", o.Name, err)}
	}
	return nil
}

// start creates the host, with the settings gathered so far, at the
// current time.
func (r *pdRunner) start() error {
	if r.p != nil {
		return nil
	}
	p, err := NewPeer(r.cfg)
	if err != nil {
		return err
	}
	if !r.cfg.Peer.Addr().IsValid() || !netip.PrefixFrom(r.cfg.Host.Addr(), 24).Masked().Contains(r.cfg.Peer.Addr()) {
		if err := p.host.AddRoute(netip.MustParsePrefix("0.0.0.0/0"), PDGateway, p.ifIndex); err != nil {
			return err
		}
	}
	r.p = p
	p.SetLocalDrop(r.localDrop) // pdshell.go
	return p.AdvanceTo(r.now)
}

// tolerance is packetdrill's: the larger of --tolerance_usecs and
// --tolerance_percent of the time since the previous event.
func (r *pdRunner) tolerance(sched time.Duration) time.Duration {
	t := r.tol
	if r.hasLast {
		if d := time.Duration(float64(sched-r.lastSched) * r.tolPct / 100); d > t {
			t = d
		}
	}
	return t
}

func (r *pdRunner) event(ev *pdEvent) error {
	var sched, end time.Duration
	switch ev.tm.kind {
	case pdAbs, pdAbsRange:
		sched, end = ev.tm.t, ev.tm.end
	case pdRel, pdRelRange:
		sched, end = r.now+ev.tm.t, r.now+ev.tm.end
	case pdAny:
		sched = r.now
	}
	r.offset = sched - ev.tm.t // what a relative time counts from
	defer func() { r.lastSched, r.hasLast = sched, true }()
	if ev.kind == pdPacket && !ev.pkt.inbound {
		return r.outbound(ev, sched, end)
	}
	// Everything else happens at its time: check that we are not already
	// past it (a late outbound packet or a long blocking call), then move
	// the clock there.
	if ev.tm.kind != pdAny && r.now > sched+r.tolerance(sched) {
		return r.failAt(ev.line, "timing error: expected %s at %s but the previous event ended at %s", pdEventName(ev), fmtTime(sched), fmtTime(r.now))
	}
	at := max(r.now, sched)
	if ev.kind == pdSyscall && r.pending != nil {
		// packetdrill waits for the blocking call to finish first.
		if err := r.advance(at); err != nil {
			return err
		}
		if err := r.waitPending(); err != nil {
			return err
		}
		at = max(at, r.now)
	}
	if err := r.advance(at); err != nil {
		return err
	}
	if r.fail != nil {
		return r.fail
	}
	switch ev.kind {
	case pdPacket:
		return r.inbound(ev)
	case pdSyscall:
		return r.syscall(ev, at)
	case pdCommand:
		return r.command(ev)
	case pdCodeEv:
		return r.code(ev)
	}
	return nil
}

func pdEventName(ev *pdEvent) string {
	switch ev.kind {
	case pdPacket:
		if ev.pkt.inbound {
			return "inbound packet"
		}
		return "outbound packet"
	case pdSyscall:
		return ev.name + " call"
	case pdCommand:
		return "command"
	}
	return "code"
}

// advance moves the clock to t, completing a poll whose timeout falls on
// the way.
func (r *pdRunner) advance(t time.Duration) error {
	if r.p == nil {
		r.now = max(r.now, t)
		return nil
	}
	if pd := r.pending; pd != nil && pd.hasDeadline && pd.deadline <= t {
		if err := r.p.AdvanceTo(max(r.p.now, pd.deadline)); err != nil {
			return err
		}
		if r.pending == pd {
			ret, errno := pd.onDeadline()
			r.finish(pd, ret, errno, pd.deadline)
		}
	}
	if err := r.p.AdvanceTo(max(r.p.now, t)); err != nil {
		return err
	}
	r.now = r.p.now
	return nil
}

// waitPending runs the host's timers until the pending call completes.
func (r *pdRunner) waitPending() error {
	for r.pending != nil && r.fail == nil {
		pd := r.pending
		t, ok := r.p.nextWake()
		if pd.hasDeadline && (!ok || pd.deadline <= t) {
			if err := r.advance(pd.deadline); err != nil {
				return err
			}
			continue
		}
		if !ok {
			return r.failAt(pd.ev.line, "the %s call blocks for ever: nothing left in the script or the host's timers can complete it", pd.ev.name)
		}
		if _, err := r.p.step(t); err != nil {
			return err
		}
		r.poke()
	}
	r.now = max(r.now, r.p.now)
	return r.fail
}

// poke retries the pending blocking call (from a host notification).
func (r *pdRunner) poke() {
	pd := r.pending
	if pd == nil || r.inPoke || r.p == nil {
		return
	}
	r.inPoke = true
	defer func() { r.inPoke = false }()
	if ret, errno, done := pd.attempt(); done {
		r.finish(pd, ret, errno, r.p.now)
	}
}

// finish checks a completed blocking call's result and end time.
func (r *pdRunner) finish(pd *pdPending, ret int64, errno string, at time.Duration) {
	r.pending = nil
	if err := r.checkResult(pd.ev, ret, errno); err != nil && r.fail == nil {
		r.fail = err
		return
	}
	if pd.ev.hasEnd && pd.ev.tm.kind != pdAny {
		tol := r.tol
		if d := time.Duration(float64(pd.end-pd.start) * r.tolPct / 100); d > tol {
			tol = d
		}
		if (at < pd.end-tol || at > pd.end+tol) && r.fail == nil {
			r.fail = r.failAt(pd.ev.line, "timing error: expected the %s call to return at %s but it returned at %s; tolerance %s",
				pd.ev.name, fmtTime(pd.end), fmtTime(at), fmtDelta(tol))
		}
	}
}

func (r *pdRunner) watch(c *stack.Conn) {
	c.SetNotify(func(ev stack.Event) {
		r.signal(c, ev)
		r.poke()
	})
}

// ---- packets ----

func pdECN(s string) (uint8, bool) {
	switch s {
	case "noecn":
		return 0, true
	case "ect1":
		return 1, true
	case "ect0":
		return 2, true
	case "ce":
		return 3, true
	}
	return 0, false
}

func (r *pdRunner) inbound(ev *pdEvent) error {
	pk := ev.pkt
	if err := r.start(); err != nil {
		return err
	}
	// packetdrill numbers the peer's sequence space from the seq of its
	// last SYN (the script's remote ISN): a SYN's own seq is absolute.
	seq := pk.seq
	if pk.flags&segment.FlagSYN != 0 {
		r.remoteISN = pk.seq
	} else {
		seq += r.remoteISN
	}
	seg := &SegSpec{Flags: pk.flags, Seq: seq, Len: pk.len, HasAck: pk.flags&segment.FlagACK != 0, Ack: pk.ack,
		HasWin: true, Win: pk.win, HasOptions: pk.hasOpts}
	if pk.optsAny {
		return r.unsupported(pk.optsLine, pk.optsColumn, "<...> in an inbound packet")
	}
	o := &seg.Options
	for _, op := range pk.opts {
		switch op.kind {
		case segment.OptMSS:
			o.HasMSS, o.MSS = true, uint16(op.val)
		case segment.OptWindowScale:
			o.HasWindowScale, o.WindowScale = true, uint8(op.val)
		case segment.OptSACKPermitted:
			o.SACKPermitted = true
		case segment.OptSACK:
			for _, b := range op.sack {
				o.AddSACK(b)
			}
		case segment.OptFastOpen, segment.OptExperimental:
			r.fastOpenInbound(o, op) // pdfastopen.go
		case segment.OptTimestamps:
			o.HasTimestamps, o.TSVal, o.TSEcr = true, op.val, op.ecr
			if pk.flags&segment.FlagACK != 0 {
				live, ok := r.tsMap[op.ecr]
				if !ok {
					return r.failAt(ev.line, "unable to infer live TS ecr for script TS ecr %d: no matching outbound TS val", op.ecr)
				}
				o.TSEcr = live
			}
		}
	}
	pkt, err := r.p.Build(seg)
	if err != nil {
		return r.failAt(ev.line, "%v", err)
	}
	if pk.ecn != "" {
		e, ok := pdECN(pk.ecn)
		if !ok {
			return r.unsupported(pk.ecnLine, pk.ecnCol, "IP information [%s]", pk.ecn)
		}
		pkt.IP.ECN = e
	}
	if err := r.p.InjectPacket(pkt); err != nil {
		return r.failAt(ev.line, "%v", err)
	}
	r.poke()
	return r.fail
}

// rawOptions returns the option kinds of a sent packet in wire order.
func rawOptions(raw []byte) []byte {
	if len(raw) < 20 {
		return nil
	}
	ihl := int(raw[0]&0x0f) * 4
	if len(raw) < ihl+20 {
		return nil
	}
	tcp := raw[ihl:]
	doff := int(tcp[12]>>4) * 4
	if doff < 20 || doff > len(tcp) {
		return nil
	}
	opts := tcp[20:doff]
	var kinds []byte
	for i := 0; i < len(opts); {
		k := opts[i]
		kinds = append(kinds, k)
		if k == segment.OptEOL {
			break
		}
		if k == segment.OptNOP {
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 {
			break
		}
		i += int(opts[i+1])
	}
	return kinds
}

// nextSent waits for the host's next packet until to.
func (r *pdRunner) nextSent(to time.Duration) (*Sent, error) {
	p := r.p
	for len(p.queue) == 0 {
		t, ok := p.nextWake()
		if pd := r.pending; pd != nil && pd.hasDeadline && pd.deadline <= to && (!ok || pd.deadline <= t) {
			if err := r.advance(pd.deadline); err != nil {
				return nil, err
			}
			continue
		}
		did, err := p.step(to)
		if err != nil {
			return nil, err
		}
		if r.fail != nil {
			return nil, r.fail
		}
		if !did {
			break
		}
	}
	if len(p.queue) == 0 {
		if p.now < to {
			p.now = to
		}
		return nil, nil
	}
	s := p.queue[0]
	p.queue = p.queue[1:]
	if s.Time > p.now {
		p.now = s.Time
	}
	if r.otherSocket(&s) {
		return r.nextSent(to) // pdfastopen.go: not the socket under test
	}
	return &s, nil
}

func (r *pdRunner) outbound(ev *pdEvent, sched, end time.Duration) error {
	pk := ev.pkt
	if r.p == nil {
		return r.failAt(ev.line, "expected %s, but the host does not exist yet (no socket call before)", pdFormat(pk))
	}
	if _, ok := pdECN(pk.ecn); pk.ecn != "" && !ok {
		return r.unsupported(pk.ecnLine, pk.ecnCol, "IP information [%s]", pk.ecn)
	}
	from, to := sched-r.tolerance(sched), sched+r.tolerance(sched)
	switch ev.tm.kind {
	case pdAbsRange, pdRelRange:
		from, to = sched-r.tol, end+r.tol
	case pdAny:
		from, to = r.now, r.now+time.Hour
	}
	var segs []*Sent
	total := 0
	for {
		s, err := r.nextSent(to)
		if err != nil {
			return err
		}
		if s == nil {
			if len(segs) == 0 {
				return r.failAt(ev.line, "expected at %s~%s: %s\nbut the host sent nothing by %s", fmtTime(max(from, 0)), fmtTime(to), pdFormat(pk), fmtTime(to))
			}
			return r.failAt(ev.line, "expected %s, but the host sent only %d of its %d payload bytes by %s", pdFormat(pk), total, pk.len, fmtTime(to))
		}
		if s.Err != nil {
			return r.failAt(ev.line, "expected %s, but at %s the host sent a malformed packet: %v", pdFormat(pk), fmtTime(s.Time), s.Err)
		}
		if n := len(segs); n > 0 {
			if err := r.checkFragment(segs[n-1], s, total, pk.len); err != nil {
				return r.failAt(ev.line, "expected %s, aggregated from several segments, but at %s: %v", pdFormat(pk), fmtTime(s.Time), err)
			}
		}
		segs = append(segs, s)
		total += len(s.Packet.Payload)
		if total >= pk.len || r.strict {
			break
		}
	}
	last := segs[len(segs)-1]
	got := r.p.describe(last)
	if len(segs) > 1 {
		got = fmt.Sprintf("%d segments, the last: %s", len(segs), got)
	}
	if err := r.checkOutbound(pk, segs, total); err != nil {
		return r.failAt(ev.line, "expected at %s: %s\nbut the host sent at %s: %s\n%v", fmtTime(sched), pdFormat(pk), fmtTime(last.Time), got, err)
	}
	if ev.tm.kind != pdAny && (last.Time < from || last.Time > to) {
		return r.failAt(ev.line, "timing error: expected %s at %s~%s but the host sent it at %s (%s)",
			pdFormat(pk), fmtTime(max(from, 0)), fmtTime(to), fmtTime(last.Time), offBy(last.Time, from, to))
	}
	r.now = max(r.now, last.Time)
	return nil
}

func (r *pdRunner) checkFragment(prev, cur *Sent, sofar, want int) error {
	a, b := &prev.Packet.TCP, &cur.Packet.TCP
	const loose = segment.FlagFIN | segment.FlagPSH | segment.FlagCWR
	switch {
	case a.Flags&^loose != b.Flags&^loose:
		return fmt.Errorf("flags %v after %v", b.Flags, a.Flags)
	case a.Seq.Add(uint32(len(prev.Packet.Payload))) != b.Seq:
		return fmt.Errorf("sequence number %d does not follow the previous segment", b.Seq.Sub(r.p.hostISN))
	case a.Ack != b.Ack:
		return fmt.Errorf("ack changed within the aggregate")
	case a.Window != b.Window:
		return fmt.Errorf("window changed within the aggregate")
	case len(cur.Packet.Payload) < want-sofar && len(cur.Packet.Payload) != len(prev.Packet.Payload):
		return fmt.Errorf("segment of %d bytes after one of %d", len(cur.Packet.Payload), len(prev.Packet.Payload))
	}
	return nil
}

func (r *pdRunner) checkOutbound(pk *pdPacketSpec, segs []*Sent, total int) error {
	first, last := &segs[0].Packet, &segs[len(segs)-1].Packet
	flags := last.TCP.Flags&^segment.FlagCWR | first.TCP.Flags&segment.FlagCWR
	if flags != pk.flags {
		return fmt.Errorf("flags: want %v, got %v", pk.flags, flags)
	}
	// packetdrill learns the host's ISN from its SYN: the number a script
	// gives a SYN of the host is not checked, and later ones count from
	// the real ISN (so scripts mostly write 0).
	if got := first.TCP.Seq.Sub(r.p.hostISN); got != pk.seq && flags&segment.FlagSYN == 0 {
		return fmt.Errorf("sequence number: want %d, got %d", pk.seq, got)
	}
	if total != pk.len {
		return fmt.Errorf("payload: want %d bytes, got %d", pk.len, total)
	}
	if flags&segment.FlagACK != 0 {
		got := last.TCP.Ack.Sub(r.p.PeerISN())
		if flags&segment.FlagSYN == 0 {
			got -= r.remoteISN // relative to the script's remote ISN (see inbound)
		}
		if got != pk.ack {
			return fmt.Errorf("ack: want %d, got %d", pk.ack, got)
		}
	}
	if pk.hasWin && last.TCP.Window != pk.win {
		return fmt.Errorf("window: want %d, got %d", pk.win, last.TCP.Window)
	}
	if pk.ecn != "" {
		want, ok := pdECN(pk.ecn)
		if !ok {
			return fmt.Errorf("IP information [%s] is not supported", pk.ecn)
		}
		if got := last.IP.ECN; got != want {
			return fmt.Errorf("ECN field: want %d, got %d", want, got)
		}
	}
	o := &last.TCP.Options
	if o.HasTimestamps {
		for _, op := range pk.opts {
			if op.kind == segment.OptTimestamps {
				r.tsMap[op.val] = o.TSVal
				if !r.tsFound {
					r.tsFound, r.firstScript, r.firstActual = true, op.val, o.TSVal
				}
				if r.tsTick > 0 {
					mapped := r.firstScript + (o.TSVal - r.firstActual)
					diff := time.Duration(abs32(int32(mapped-op.val))) * r.tsTick
					if diff > r.tolerance(0) && diff > r.tol {
						return fmt.Errorf("TS val: want %d, got %d (in script units)", op.val, mapped)
					}
				}
			}
		}
	}
	if pk.optsAny {
		return nil
	}
	kinds := rawOptions(segs[len(segs)-1].Raw)
	var want []byte
	for _, op := range pk.opts {
		want = append(want, op.kind)
	}
	if string(kinds) != string(want) {
		return fmt.Errorf("TCP options: want %s, got %s", pdKinds(want), pdKinds(kinds))
	}
	for _, op := range pk.opts {
		switch op.kind {
		case segment.OptFastOpen, segment.OptExperimental:
			if err := r.fastOpenCheck(o, op); err != nil { // pdfastopen.go
				return err
			}
		case segment.OptMSS:
			if uint32(o.MSS) != op.val {
				return fmt.Errorf("mss: want %d, got %d", op.val, o.MSS)
			}
		case segment.OptWindowScale:
			if uint32(o.WindowScale) != op.val {
				return fmt.Errorf("wscale: want %d, got %d", op.val, o.WindowScale)
			}
		case segment.OptSACK:
			got := o.SACKBlocks()
			ok := len(got) == len(op.sack)
			for i := 0; ok && i < len(got); i++ {
				ok = got[i].Left.Sub(r.p.PeerISN())-r.remoteISN == uint32(op.sack[i].Left) && got[i].Right.Sub(r.p.PeerISN())-r.remoteISN == uint32(op.sack[i].Right)
			}
			if !ok {
				var b strings.Builder
				for _, g := range got {
					fmt.Fprintf(&b, " %d:%d", g.Left.Sub(r.p.PeerISN()), g.Right.Sub(r.p.PeerISN()))
				}
				return fmt.Errorf("SACK blocks: want %v, got%s", pdSACK(op.sack), b.String())
			}
		}
	}
	return nil
}

func abs32(x int32) int64 {
	if x < 0 {
		return -int64(x)
	}
	return int64(x)
}

func pdKinds(k []byte) string {
	names := map[byte]string{0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 8: "TS", 34: "FO", 254: "FOEXP"}
	if len(k) == 0 {
		return "none"
	}
	var s []string
	for _, c := range k {
		n, ok := names[c]
		if !ok {
			n = "kind " + strconv.Itoa(int(c))
		}
		s = append(s, n)
	}
	return "<" + strings.Join(s, ",") + ">"
}

func pdSACK(b []segment.SACKBlock) string {
	var s []string
	for _, x := range b {
		s = append(s, fmt.Sprintf("%d:%d", uint32(x.Left), uint32(x.Right)))
	}
	return strings.Join(s, " ")
}

// pdFormat writes a script packet back in packetdrill's syntax.
func pdFormat(pk *pdPacketSpec) string {
	var b strings.Builder
	if pk.inbound {
		b.WriteString("< ")
	} else {
		b.WriteString("> ")
	}
	f := pk.flags.String()
	f = strings.Trim(f, "[]")
	if f == "none" || f == "" {
		f = "-"
	}
	fmt.Fprintf(&b, "%s %d:%d(%d)", f, pk.seq, pk.seq+uint32(pk.len), pk.len)
	if pk.flags&segment.FlagACK != 0 {
		fmt.Fprintf(&b, " ack %d", pk.ack)
	}
	if pk.hasWin {
		fmt.Fprintf(&b, " win %d", pk.win)
	}
	if pk.optsAny {
		b.WriteString(" <...>")
	} else if len(pk.opts) > 0 {
		var s []string
		for _, o := range pk.opts {
			switch o.kind {
			case segment.OptMSS:
				s = append(s, fmt.Sprintf("mss %d", o.val))
			case segment.OptWindowScale:
				s = append(s, fmt.Sprintf("wscale %d", o.val))
			case segment.OptTimestamps:
				s = append(s, fmt.Sprintf("TS val %d ecr %d", o.val, o.ecr))
			case segment.OptSACK:
				s = append(s, "sack "+pdSACK(o.sack))
			default:
				s = append(s, pdKinds([]byte{o.kind})[1:len(pdKinds([]byte{o.kind}))-1])
			}
		}
		b.WriteString(" <" + strings.Join(s, ",") + ">")
	}
	return b.String()
}

// ---- results ----

var pdErrnos = map[string]syscall.Errno{
	"EAGAIN": syscall.EAGAIN, "EWOULDBLOCK": syscall.EAGAIN, "ECONNRESET": syscall.ECONNRESET,
	"ECONNREFUSED": syscall.ECONNREFUSED, "ETIMEDOUT": syscall.ETIMEDOUT, "EPIPE": syscall.EPIPE,
	"EBADF": syscall.EBADF, "EINPROGRESS": syscall.EINPROGRESS, "ENOTCONN": syscall.ENOTCONN,
	"EINVAL": syscall.EINVAL, "ENOENT": syscall.ENOENT, "EEXIST": syscall.EEXIST, "EISCONN": syscall.EISCONN, "EALREADY": syscall.EALREADY,
	"EADDRINUSE": syscall.EADDRINUSE, "ENOPROTOOPT": syscall.ENOPROTOOPT, "EFAULT": syscall.EFAULT,
	"ENOTSOCK": syscall.ENOTSOCK, "EOPNOTSUPP": syscall.EOPNOTSUPP,
}

// pdErrno names err as an errno.
func pdErrno(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, stack.ErrWouldBlock):
		return "EAGAIN"
	case errors.Is(err, stack.ErrShutdown):
		return "EPIPE"
	case errors.Is(err, stack.ErrClosed):
		return "EBADF"
	}
	for name, e := range pdErrnos {
		if errors.Is(err, e) && name != "EWOULDBLOCK" {
			return name
		}
	}
	return err.Error()
}

func (r *pdRunner) checkResult(ev *pdEvent, ret int64, errno string) error {
	want, err := r.intExpr(ev.ret)
	if err != nil {
		return err
	}
	switch {
	case ret != want && ret == -1:
		return r.failAt(ev.line, "%s returned -1 %s, want %d", ev.name, errno, want)
	case ret != want:
		return r.failAt(ev.line, "%s returned %d, want %d %s", ev.name, ret, want, ev.errno)
	case ret == -1 && ev.errno != "" && errno != ev.errno && !(ev.errno == "EWOULDBLOCK" && errno == "EAGAIN"):
		return r.failAt(ev.line, "%s returned -1 %s, want -1 %s", ev.name, errno, ev.errno)
	}
	return nil
}

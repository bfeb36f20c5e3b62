package tcptest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/stack"
)

// RunError is a failed script line: the file and line, what went wrong,
// and the end of the Peer's transcript.
type RunError struct {
	File  string
	Line  int
	Err   error
	Trace string
}

func (e *RunError) Error() string {
	s := fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	if e.Trace != "" {
		s += "\ntranscript (relative seq/ack, last lines):\n" + e.Trace
	}
	return s
}

func (e *RunError) Unwrap() error { return e.Err }

// RunScriptFile parses and runs the script at path.
// A file in packetdrill's own syntax (IsPacketdrill) runs with
// RunPacketdrill.
func RunScriptFile(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if IsPacketdrill(src) {
		s, err := ParsePacketdrill(path, src)
		if err != nil {
			return err
		}
		_, err = RunPacketdrill(s)
		return err
	}
	s, err := ParseScript(path, src)
	if err != nil {
		return err
	}
	_, err = RunScript(s)
	return err
}

// RunScripts runs every file matching pattern (a filepath.Glob pattern such
// as "testdata/*.pkt") as a subtest of t named after the file, and fails t
// if the pattern matches nothing.
func RunScripts(t *testing.T, pattern string) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no script matches %s", pattern)
	}
	sort.Strings(files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)), func(t *testing.T) {
			if err := RunScriptFile(f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// runner executes one Script on a Peer.
type runner struct {
	s    *Script
	p    *Peer
	ln   *stack.Listener
	conn *stack.Conn

	hostOut []byte // what the application wrote, from relative seq 1
	peerOut []byte // what the peer injected, from relative seq 1 (0 where unknown)
	readOff int    // how much of peerOut the application has read
}

// RunScript runs s against a new host and returns the Peer (for further
// inspection) and the first failure as a *RunError.
func RunScript(s *Script) (*Peer, error) {
	cfg := PeerConfig{Host: s.Host, Peer: s.Peer, MTU: s.MTU, PeerISN: s.PeerISN, Tolerance: s.Tolerance}
	for _, c := range s.Config {
		if err := applyConfig(&cfg, c); err != nil {
			return nil, &RunError{File: s.Name, Line: c.Line, Err: err}
		}
	}
	p, err := NewPeer(cfg)
	if err != nil {
		return nil, &RunError{File: s.Name, Line: 1, Err: err}
	}
	r := &runner{s: s, p: p}
	var last time.Duration
	for i := range s.Events {
		ev := &s.Events[i]
		at := ev.Time.At
		if ev.Time.Rel {
			at += last
		}
		next, err := r.run(ev, at)
		if err != nil {
			return p, &RunError{File: s.Name, Line: ev.Line, Err: err, Trace: p.TraceString(12)}
		}
		last = next
	}
	if err := p.ExpectQuiet(); err != nil {
		line := 0
		if n := len(s.Events); n > 0 {
			line = s.Events[n-1].Line
		}
		return p, &RunError{File: s.Name, Line: line, Err: fmt.Errorf("after the last line: %w", err), Trace: p.TraceString(12)}
	}
	return p, nil
}

// run executes one event at time at and returns the time the next relative
// line counts from.
func (r *runner) run(ev *Event, at time.Duration) (time.Duration, error) {
	p := r.p
	if ev.Kind != Expect {
		if at < p.now {
			return 0, fmt.Errorf("time %s is before the current time %s", fmtTime(at), fmtTime(p.now))
		}
	}
	switch ev.Kind {
	case Nothing:
		return at, p.ExpectNothingUntil(at)
	case Expect:
		from, to := at-p.cfg.Tolerance, at+p.cfg.Tolerance
		if ev.Time.Range {
			from = at
			to = ev.Time.UpTo
			if ev.Time.UpRel {
				to += at
			}
		}
		s, err := p.ExpectWithin(from, to, r.matcher(ev.Seg))
		if err != nil {
			return 0, err
		}
		return s.Time, nil
	}
	if err := p.AdvanceTo(at); err != nil {
		return 0, err
	}
	if err := p.ExpectQuiet(); err != nil {
		return 0, err
	}
	switch ev.Kind {
	case Inject:
		pkt, err := p.Inject(ev.Seg)
		if err != nil {
			return 0, err
		}
		r.recordPeerData(ev.Seg, pkt.Payload)
	case Call:
		if err := r.call(ev.Call); err != nil {
			return 0, err
		}
	}
	return at, nil
}

// recordPeerData keeps the injected payload so that reads can be checked.
func (r *runner) recordPeerData(seg *SegSpec, payload []byte) {
	if len(payload) == 0 {
		return
	}
	first := int(seg.Seq)
	if seg.Flags&segment.FlagSYN != 0 {
		first++
	}
	off := first - 1
	if off < 0 || off > 1<<26 {
		return
	}
	if end := off + len(payload); end > len(r.peerOut) {
		r.peerOut = append(r.peerOut, make([]byte, end-len(r.peerOut))...)
	}
	copy(r.peerOut[off:], payload)
}

// matcher turns an expected segment into a Matcher, packetdrill style: an
// omitted option list means no options; payload bytes are checked against
// what the script wrote; the IPv4 header must be 20 bytes with the host's
// TTL.
func (r *runner) matcher(seg *SegSpec) *Matcher {
	// Every segment of the host travels in an IPv4 packet with a 20-byte
	// header and the configured TTL.
	ttl := r.p.host.Config().TTL
	opts := []MatchOption{Flags(seg.Flags), PayloadLen(seg.Len), From(r.s.Host), To(r.s.Peer),
		IPHeaderLen(20), TTL(ttl)}
	if !seg.SeqAny {
		opts = append(opts, RelSeq(seg.Seq))
	}
	if seg.HasAck && !seg.AckAny {
		opts = append(opts, RelAck(seg.Ack))
	}
	if seg.HasWin && !seg.WinAny {
		opts = append(opts, Window(seg.Win))
	}
	o := &seg.Options
	if !seg.AnyOptions {
		opts = append(opts, ExactOptions())
	}
	if o.HasMSS {
		opts = append(opts, MSS(o.MSS))
	}
	if o.HasWindowScale {
		opts = append(opts, WindowScale(o.WindowScale))
	}
	if o.SACKPermitted {
		opts = append(opts, SACKPermitted(true))
	}
	if o.HasTimestamps {
		opts = append(opts, HasTimestamps())
		if !seg.TSValAny {
			opts = append(opts, TSVal(o.TSVal))
		}
		if !seg.TSEcrAny {
			opts = append(opts, TSEcr(o.TSEcr))
		}
	}
	if o.NumSACK > 0 {
		opts = append(opts, RelSACKBlocks(o.SACKBlocks()...))
	}
	switch {
	case seg.Payload != nil:
		opts = append(opts, Payload(seg.Payload))
	case seg.Len > 0 && !seg.SeqAny:
		first := int(seg.Seq)
		if seg.Flags&segment.FlagSYN != 0 {
			first++
		}
		if off := first - 1; off >= 0 && off+seg.Len <= len(r.hostOut) {
			opts = append(opts, Payload(r.hostOut[off:off+seg.Len]))
		}
	}
	return Match(opts...)
}

// call performs a socket call line and checks its result.
func (r *runner) call(c *CallSpec) error {
	h := r.p.host
	r.p.Note("%s", callString(c))
	switch c.Op {
	case "listen":
		ln, err := h.ListenAddr(r.s.Host, 128)
		if err != nil {
			return checkErr(c, err)
		}
		r.ln = ln
		return checkErr(c, nil)
	case "accept":
		if r.ln == nil {
			return errors.New("accept without a listen line before it")
		}
		conn, err := r.ln.Accept()
		if err == nil {
			r.conn = conn
		}
		return checkErr(c, err)
	case "connect":
		conn, err := h.ConnectFrom(r.s.Host, r.s.Peer)
		if err == nil {
			r.conn = conn
		}
		return checkErr(c, err)
	case "nodelay":
		if r.conn == nil {
			return errors.New("nodelay without a connection (no connect or accept before it)")
		}
		r.conn.SetNoDelay(true)
		return nil
	case "close":
		if r.conn == nil {
			if r.ln == nil {
				return errors.New("close without a connection or listener")
			}
			return checkErr(c, r.ln.Close())
		}
		return checkErr(c, r.conn.Close())
	}
	if r.conn == nil {
		return fmt.Errorf("%s without a connection (no connect or accept before it)", c.Op)
	}
	switch c.Op {
	case "shutdown":
		return checkErr(c, r.conn.CloseWrite())
	case "abort":
		return checkErr(c, r.conn.Abort())
	case "state":
		if got := r.conn.State().String(); got != string(c.Data) {
			return fmt.Errorf("state is %s, want %s", got, c.Data)
		}
		return nil
	case "write":
		data := c.Data
		if data == nil {
			data = Pattern(uint32(len(r.hostOut)+1), c.N)
		}
		n, err := r.conn.Write(data)
		r.hostOut = append(r.hostOut, data[:n]...)
		if err != nil {
			return checkErr(c, err)
		}
		want := c.N
		if c.Result != "" {
			w, convErr := strconv.Atoi(c.Result)
			if convErr != nil {
				return fmt.Errorf("write returned %d, want %s", n, c.Result)
			}
			want = w
		}
		if n != want {
			return fmt.Errorf("write took %d bytes, want %d", n, want)
		}
		return nil
	case "read":
		buf := make([]byte, c.N)
		n, err := r.conn.Read(buf)
		if err != nil {
			return checkErr(c, err)
		}
		got := buf[:n]
		switch {
		case strings.HasPrefix(c.Result, `"`):
			want, _ := strconv.Unquote(c.Result)
			if string(got) != want {
				return fmt.Errorf("read returned %q, want %q", got, want)
			}
		case c.Result == "":
			if n != c.N {
				return fmt.Errorf("read returned %d bytes, want %d", n, c.N)
			}
		default:
			w, convErr := strconv.Atoi(c.Result)
			if convErr != nil {
				return fmt.Errorf("read returned %d bytes, want %s", n, c.Result)
			}
			if n != w {
				return fmt.Errorf("read returned %d bytes, want %d", n, w)
			}
		}
		if end := r.readOff + n; end <= len(r.peerOut) && !strings.HasPrefix(c.Result, `"`) {
			if want := r.peerOut[r.readOff:end]; string(want) != string(got) {
				return fmt.Errorf("read returned %q, but the peer sent %q at that offset", got, want)
			}
		}
		r.readOff += n
		return nil
	}
	return fmt.Errorf("unknown call %q", c.Op)
}

func callString(c *CallSpec) string {
	s := c.Op
	switch {
	case c.Op == "write" && c.Data != nil:
		s += " " + strconv.Quote(string(c.Data))
	case c.Op == "state":
		s += " " + string(c.Data)
	case c.Op == "shutdown":
		s += " write"
	case c.N > 0:
		s += " " + strconv.Itoa(c.N)
	}
	if c.Result != "" {
		s += " = " + c.Result
	}
	return s
}

// errName names err as a script result.
func errName(err error) string {
	switch {
	case err == nil:
		return "success"
	case errors.Is(err, stack.ErrWouldBlock):
		return "EAGAIN"
	case errors.Is(err, io.EOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNRESET):
		return "ECONNRESET"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "ECONNREFUSED"
	case errors.Is(err, syscall.ETIMEDOUT):
		return "ETIMEDOUT"
	case errors.Is(err, stack.ErrShutdown), errors.Is(err, syscall.EPIPE):
		return "EPIPE"
	case errors.Is(err, stack.ErrClosed):
		return "EBADF"
	}
	return err.Error()
}

// checkErr compares a call's error with the script's expected result: an
// error name, or success when the result is empty or a count.
func checkErr(c *CallSpec, err error) error {
	want := c.Result
	if want == "" || want[0] == '"' || (want[0] >= '0' && want[0] <= '9') {
		want = "success"
	}
	if got := errName(err); got != want {
		if err != nil {
			return fmt.Errorf("%s returned %s (%v), want %s", c.Op, got, err, want)
		}
		return fmt.Errorf("%s succeeded, want %s", c.Op, want)
	}
	return nil
}

// applyConfig applies one "set config NAME VALUE" line.
func applyConfig(cfg *PeerConfig, c ConfigSetting) error {
	tcp := &cfg.TCP
	dur := func(p *time.Duration) error {
		if c.Value == "off" {
			*p = -1
			return nil
		}
		d, ok := parseSeconds(c.Value)
		if !ok {
			return fmt.Errorf("config %s wants seconds such as 0.2 (or off), found %q", c.Name, c.Value)
		}
		*p = d
		return nil
	}
	num := func(p *int) error {
		n, err := strconv.Atoi(c.Value)
		if err != nil || n < 0 {
			return fmt.Errorf("config %s wants a non-negative integer, found %q", c.Name, c.Value)
		}
		*p = n
		return nil
	}
	flag := func(p *bool) error {
		switch c.Value {
		case "on":
			*p = true
		case "off":
			*p = false
		default:
			return fmt.Errorf("config %s wants on or off, found %q", c.Name, c.Value)
		}
		return nil
	}
	switch c.Name {
	case "msl":
		return dur(&tcp.MSL)
	case "rto_initial":
		return dur(&tcp.RTOInitial)
	case "rto_min":
		return dur(&tcp.RTOMin)
	case "rto_max":
		return dur(&tcp.RTOMax)
	case "delayed_ack":
		return dur(&tcp.DelayedAck)
	case "connect_timeout":
		return dur(&tcp.ConnectTimeout)
	case "fin_wait2_timeout":
		return dur(&tcp.FinWait2Timeout)
	case "syn_retries":
		return num(&tcp.SYNRetries)
	case "synack_retries":
		return num(&tcp.SYNACKRetries)
	case "data_retries":
		return num(&tcp.DataRetries)
	case "send_buffer":
		return num(&tcp.SendBuffer)
	case "recv_buffer":
		return num(&tcp.RecvBuffer)
	case "initial_window":
		return num(&tcp.InitialWindow)
	case "nodelay":
		return flag(&tcp.NoDelay)
	case "window_scale":
		var on bool
		if err := flag(&on); err != nil {
			return err
		}
		tcp.DisableWindowScale = !on
		return nil
	case "sack":
		var on bool
		if err := flag(&on); err != nil {
			return err
		}
		tcp.DisableSACK = !on
		return nil
	case "timestamps":
		var on bool
		if err := flag(&on); err != nil {
			return err
		}
		tcp.DisableTimestamps = !on
		return nil
	case "undo":
		return flag(&tcp.Undo)
	case "frto":
		return flag(&tcp.FRTO)
	case "ttl":
		n, err := strconv.ParseUint(c.Value, 10, 8)
		if err != nil {
			return fmt.Errorf("config ttl wants an integer from 0 to 255, found %q", c.Value)
		}
		tcp.TTL = uint8(n)
		return nil
	case "seed":
		n, err := strconv.ParseUint(c.Value, 10, 64)
		if err != nil {
			return fmt.Errorf("config seed wants an unsigned integer, found %q", c.Value)
		}
		cfg.Seed = n
		return nil
	}
	return fmt.Errorf("unknown config %q (want msl, rto_initial, rto_min, rto_max, delayed_ack, connect_timeout, "+
		"fin_wait2_timeout, syn_retries, synack_retries, data_retries, send_buffer, recv_buffer, initial_window, "+
		"nodelay, window_scale, sack, timestamps, undo, frto, ttl or seed)", c.Name)
}

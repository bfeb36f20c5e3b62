package tcptest

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Script is a parsed test script: settings, then timed events. See
// docs/testing.md for the format; ParseScript reads it.
type Script struct {
	// Name is the file name given to ParseScript; errors carry it.
	Name string
	// Host is the address and port of the host under test, Peer those of
	// the scripted remote endpoint. Defaults: 192.0.2.1:8080, 192.0.2.2:40000.
	Host, Peer netip.AddrPort
	// MTU of the host's interface. Default 1500.
	MTU int
	// PeerISN is the peer's initial sequence number: the absolute value
	// of relative seq 0 in "<" lines. Default 2000000000.
	PeerISN uint32
	// Window is the window of injected segments that name none. Default
	// 65535.
	Window uint16
	// Tolerance is how far from its scripted time an expected segment may
	// leave the host. Default 0: exact.
	Tolerance time.Duration
	// Config holds "set config NAME VALUE" lines in order, for the runner to
	// apply to the host's configuration.
	Config []ConfigSetting
	// Events are the timed lines, in file order.
	Events []Event
}

// ConfigSetting is one "set config NAME VALUE" line.
type ConfigSetting struct {
	Name, Value string
	Line        int
}

// Defaults for Script fields.
var (
	DefaultHost    = netip.MustParseAddrPort("192.0.2.1:8080")
	DefaultPeer    = netip.MustParseAddrPort("192.0.2.2:40000")
	DefaultPeerISN = uint32(2000000000)
)

// EventKind says what a script line does.
type EventKind uint8

// The kinds of events.
const (
	Inject  EventKind = iota + 1 // "<": the peer sends a segment to the host
	Expect                       // ">": the host must send a matching segment
	Nothing                      // "> nothing": the host must send nothing before this time
	Call                         // a socket call on the host
)

// Event is one timed script line.
type Event struct {
	Line, Col int // position of the line's first token
	Time      Time
	Kind      EventKind
	Seg       *SegSpec  // Inject and Expect
	Call      *CallSpec // Call
}

// Time is a script line's time: absolute ("0.100") or relative to the
// previous line ("+0.1"), optionally a range ("0.1~0.2", "+1~+1.5") within
// which an expected segment may arrive.
type Time struct {
	Rel     bool
	At      time.Duration
	Range   bool // an upper bound follows
	UpRel   bool // the upper bound counts from At
	UpTo    time.Duration
	ColTime int
}

// SegSpec describes a segment of an Inject or Expect line. Sequence and
// acknowledgement numbers are relative: to the sender's ISN (Seq) and to the
// receiver's ISN (Ack, SACK blocks).
type SegSpec struct {
	Flags  segment.Flags
	Seq    uint32
	SeqAny bool // "*:*(len)": any sequence number (Expect only)
	Len    int

	HasAck bool   // "ack N" or "ack *" given
	AckAny bool   // "ack *": any value (Expect only)
	Ack    uint32 // relative

	HasWin bool
	WinAny bool
	Win    uint16

	// HasOptions is set when an option list "<…>" was given. AnyOptions
	// ("...") lets options not listed be present (Expect only).
	HasOptions bool
	AnyOptions bool
	Options    segment.Options // SACK edges relative to the receiver's ISN
	TSValAny   bool            // "TS val *"
	TSEcrAny   bool            // "TS ecr *": in an Inject line, echo the host's last TSval

	// Payload is the quoted payload, or nil for the default pattern.
	Payload []byte
}

// CallSpec is a socket call line.
type CallSpec struct {
	Op   string // listen, accept, connect, write, read, close, shutdown, abort, nodelay, state
	N    int    // byte count of write N / read N
	Data []byte // bytes of write "text"; the state name of "state NAME"
	// Result is the expected outcome after "=": a count, a string, EOF, or
	// an error name (EAGAIN, ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE,
	// EBADF). Empty when none was given.
	Result string
	ResCol int
}

// ParseError is a syntax error in a script: it names the file, the 1-based
// line and column, and what was wrong.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// ParseScriptFile reads and parses the script at path.
func ParseScriptFile(path string) (*Script, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseScript(path, src)
}

// ParseScript parses src; name is used in errors. It returns the first
// error as a *ParseError.
func ParseScript(name string, src []byte) (*Script, error) {
	s := &Script{
		Name: name, Host: DefaultHost, Peer: DefaultPeer, MTU: 1500,
		PeerISN: DefaultPeerISN, Window: 65535,
	}
	p := &parser{s: s}
	for i, line := range strings.Split(string(src), "\n") {
		p.line = i + 1
		toks, err := tokenize(strings.TrimSuffix(line, "\r"))
		if err != nil {
			return nil, p.errAt(err.col, "%s", err.msg)
		}
		if len(toks) == 0 {
			continue
		}
		p.toks, p.pos = toks, 0
		if err := p.parseLine(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// token is one lexical item of a line. Column is 1-based.
type token struct {
	text string
	col  int
	str  bool // a quoted string, text already unquoted
}

type lexError struct {
	col int
	msg string
}

// tokenize splits a line into words, quoted strings and the punctuation
// < > , = ; "#" or "//" outside a string starts a comment.
func tokenize(line string) ([]token, *lexError) {
	var toks []token
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '#' || strings.HasPrefix(line[i:], "//"):
			return toks, nil
		case c == '<' || c == '>' || c == ',' || c == '=':
			toks = append(toks, token{text: line[i : i+1], col: i + 1})
			i++
		case c == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' {
					j++
				}
			}
			if j >= len(line) {
				return nil, &lexError{i + 1, "unterminated string"}
			}
			s, err := strconv.Unquote(line[i : j+1])
			if err != nil {
				return nil, &lexError{i + 1, "bad string " + line[i:j+1] + ": " + err.Error()}
			}
			toks = append(toks, token{text: s, col: i + 1, str: true})
			i = j + 1
		case c < ' ' || c > '~':
			return nil, &lexError{i + 1, fmt.Sprintf("unexpected character %q", c)}
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t<>,=\"#", rune(line[j])) &&
				!strings.HasPrefix(line[j:], "//") && line[j] >= ' ' && line[j] <= '~' {
				j++
			}
			toks = append(toks, token{text: line[i:j], col: i + 1})
			i = j
		}
	}
	return toks, nil
}

type parser struct {
	s    *Script
	line int
	toks []token
	pos  int
}

func (p *parser) errAt(col int, format string, args ...any) *ParseError {
	return &ParseError{File: p.s.Name, Line: p.line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// endCol is the column just past the last token, for "expected X" at the
// end of a line.
func (p *parser) endCol() int {
	t := p.toks[len(p.toks)-1]
	if t.str {
		return t.col + len(strconv.Quote(t.text))
	}
	return t.col + len(t.text)
}

func (p *parser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

// next returns the next token or an error naming what was expected.
func (p *parser) next(what string) (token, error) {
	if p.pos >= len(p.toks) {
		return token{}, p.errAt(p.endCol(), "expected %s, found end of line", what)
	}
	t := p.toks[p.pos]
	p.pos++
	return t, nil
}

// word is next for a bare word (not a string).
func (p *parser) word(what string) (token, error) {
	t, err := p.next(what)
	if err == nil && t.str {
		return t, p.errAt(t.col, "expected %s, found string %q", what, t.text)
	}
	return t, err
}

func (p *parser) expectEnd() error {
	if t, ok := p.peek(); ok {
		return p.errAt(t.col, "unexpected %q at end of line", t.text)
	}
	return nil
}

func (p *parser) parseLine() error {
	first := p.toks[0]
	if !first.str && first.text == "set" {
		if len(p.s.Events) > 0 {
			return p.errAt(first.col, "\"set\" must come before the first timed line")
		}
		p.pos = 1
		return p.parseSet()
	}
	ev := Event{Line: p.line, Col: first.col}
	t, err := p.parseTime()
	if err != nil {
		return err
	}
	ev.Time = t
	act, err := p.word("an action (<, >, or a socket call)")
	if err != nil {
		return err
	}
	switch act.text {
	case "<", ">":
		inject := act.text == "<"
		if nt, ok := p.peek(); !inject && ok && !nt.str && nt.text == "nothing" {
			p.pos++
			ev.Kind = Nothing
			if t.Range {
				return p.errAt(t.ColTime, "\"> nothing\" takes a single time, not a range")
			}
			break
		}
		seg, err := p.parseSeg(inject)
		if err != nil {
			return err
		}
		ev.Seg = seg
		ev.Kind = Expect
		if inject {
			ev.Kind = Inject
			if t.Range {
				return p.errAt(t.ColTime, "an injected segment takes a single time, not a range")
			}
		}
	default:
		p.pos--
		c, err := p.parseCall()
		if err != nil {
			return err
		}
		if t.Range {
			return p.errAt(t.ColTime, "a socket call takes a single time, not a range")
		}
		ev.Kind, ev.Call = Call, c
	}
	if err := p.expectEnd(); err != nil {
		return err
	}
	p.s.Events = append(p.s.Events, ev)
	return nil
}

func (p *parser) parseSet() error {
	key, err := p.word("a setting name (host, peer, mtu, isn, win, tolerance, config)")
	if err != nil {
		return err
	}
	val, err := p.word("a value for " + key.text)
	if err != nil {
		return err
	}
	switch key.text {
	case "host", "peer":
		ap, err := netip.ParseAddrPort(val.text)
		if err != nil || !ap.Addr().Is4() {
			return p.errAt(val.col, "%s wants an IPv4 address:port such as 192.0.2.1:8080, found %q", key.text, val.text)
		}
		if key.text == "host" {
			p.s.Host = ap
		} else {
			p.s.Peer = ap
		}
	case "mtu":
		n, err := strconv.Atoi(val.text)
		if err != nil || n < 68 || n > 65535 {
			return p.errAt(val.col, "mtu wants an integer from 68 to 65535, found %q", val.text)
		}
		p.s.MTU = n
	case "isn":
		n, err := strconv.ParseUint(val.text, 10, 32)
		if err != nil {
			return p.errAt(val.col, "isn wants an integer from 0 to 4294967295, found %q", val.text)
		}
		p.s.PeerISN = uint32(n)
	case "win":
		n, err := strconv.ParseUint(val.text, 10, 16)
		if err != nil {
			return p.errAt(val.col, "win wants an integer from 0 to 65535, found %q", val.text)
		}
		p.s.Window = uint16(n)
	case "tolerance":
		d, ok := parseSeconds(val.text)
		if !ok {
			return p.errAt(val.col, "tolerance wants seconds such as 0.004, found %q", val.text)
		}
		p.s.Tolerance = d
	case "config":
		v, err := p.next("a value for config " + val.text)
		if err != nil {
			return err
		}
		c := ConfigSetting{Name: val.text, Value: v.text, Line: p.line}
		// Check name and value now, so that a typo is a parse error with
		// its column; the runner applies the setting to the real config.
		if err := applyConfig(&PeerConfig{}, c); err != nil {
			col := v.col
			if strings.HasPrefix(err.Error(), "unknown config") {
				col = val.col
			}
			return p.errAt(col, "%v", err)
		}
		p.s.Config = append(p.s.Config, c)
	default:
		return p.errAt(key.col, "unknown setting %q (want host, peer, mtu, isn, win, tolerance or config)", key.text)
	}
	return p.expectEnd()
}

// parseSeconds reads a non-negative decimal number of seconds with at most
// nine fractional digits, exactly (no floating point).
func parseSeconds(s string) (time.Duration, bool) {
	intPart, frac, _ := strings.Cut(s, ".")
	if (intPart == "" && frac == "") || len(frac) > 9 || len(intPart) > 9 {
		return 0, false
	}
	var d time.Duration
	for _, c := range intPart {
		if c < '0' || c > '9' {
			return 0, false
		}
		d = d*10 + time.Duration(c-'0')
	}
	d *= time.Second
	scale := time.Duration(100 * time.Millisecond)
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, false
		}
		d += time.Duration(c-'0') * scale
		scale /= 10
	}
	return d, true
}

func (p *parser) parseTime() (Time, error) {
	t, err := p.word("a time")
	if err != nil {
		return Time{}, err
	}
	tm := Time{ColTime: t.col}
	lo, hi, isRange := strings.Cut(t.text, "~")
	parse := func(s string, col int) (bool, time.Duration, error) {
		rel := strings.HasPrefix(s, "+")
		d, ok := parseSeconds(strings.TrimPrefix(s, "+"))
		if !ok {
			return false, 0, p.errAt(col, "bad time %q: want seconds such as 0.100 (absolute) or +0.1 (after the previous line)", s)
		}
		return rel, d, nil
	}
	if tm.Rel, tm.At, err = parse(lo, t.col); err != nil {
		return tm, err
	}
	if isRange {
		tm.Range = true
		col := t.col + len(lo) + 1
		if tm.UpRel, tm.UpTo, err = parse(hi, col); err != nil {
			return tm, err
		}
		if !tm.UpRel && !tm.Rel && tm.UpTo < tm.At {
			return tm, p.errAt(col, "time range ends (%s) before it starts (%s)", hi, lo)
		}
	}
	return tm, nil
}

// parseFlags reads tcpdump's flag letters: F S R P . U E W.
func parseFlags(s string) (segment.Flags, bool) {
	var f segment.Flags
	for i := 0; i < len(s); i++ {
		var b segment.Flags
		switch s[i] {
		case 'F':
			b = segment.FlagFIN
		case 'S':
			b = segment.FlagSYN
		case 'R':
			b = segment.FlagRST
		case 'P':
			b = segment.FlagPSH
		case '.':
			b = segment.FlagACK
		case 'U':
			b = segment.FlagURG
		case 'E':
			b = segment.FlagECE
		case 'W':
			b = segment.FlagCWR
		default:
			return 0, false
		}
		if f&b != 0 {
			return 0, false
		}
		f |= b
	}
	return f, s != ""
}

func (p *parser) parseSeg(inject bool) (*SegSpec, error) {
	seg := &SegSpec{}
	ft, err := p.word("flags such as S, S., ., P., F., R")
	if err != nil {
		return nil, err
	}
	f, ok := parseFlags(ft.text)
	if !ok {
		return nil, p.errAt(ft.col, "bad flags %q: want letters from F S R P . U E W, each at most once", ft.text)
	}
	seg.Flags = f
	st, err := p.word("seq:end(len)")
	if err != nil {
		return nil, err
	}
	if err := p.parseSeqSpec(st, seg, inject); err != nil {
		return nil, err
	}
	for {
		t, ok := p.peek()
		if !ok || t.str || (t.text != "ack" && t.text != "win") {
			break
		}
		p.pos++
		v, err := p.word("a number after " + t.text)
		if err != nil {
			return nil, err
		}
		any := v.text == "*"
		if any && inject {
			return nil, p.errAt(v.col, "\"%s *\" only makes sense in an expected (>) segment", t.text)
		}
		switch t.text {
		case "ack":
			if seg.HasAck {
				return nil, p.errAt(t.col, "ack given twice")
			}
			n, err := strconv.ParseUint(v.text, 10, 32)
			if err != nil && !any {
				return nil, p.errAt(v.col, "ack wants an integer from 0 to 4294967295, found %q", v.text)
			}
			seg.HasAck, seg.AckAny, seg.Ack = true, any, uint32(n)
		case "win":
			if seg.HasWin {
				return nil, p.errAt(t.col, "win given twice")
			}
			n, err := strconv.ParseUint(v.text, 10, 16)
			if err != nil && !any {
				return nil, p.errAt(v.col, "win wants an integer from 0 to 65535, found %q", v.text)
			}
			seg.HasWin, seg.WinAny, seg.Win = true, any, uint16(n)
		}
	}
	if inject && seg.Flags&segment.FlagACK != 0 && !seg.HasAck {
		return nil, p.errAt(ft.col, "an injected segment with the ACK flag needs \"ack N\"")
	}
	if t, ok := p.peek(); ok && !t.str && t.text == "<" {
		p.pos++
		if err := p.parseOptions(seg, inject); err != nil {
			return nil, err
		}
	}
	if t, ok := p.peek(); ok && t.str {
		p.pos++
		if len(t.text) != seg.Len {
			return nil, p.errAt(t.col, "payload is %d bytes but the segment says (%d)", len(t.text), seg.Len)
		}
		seg.Payload = []byte(t.text)
	}
	return seg, nil
}

// parseSeqSpec reads "start:end(len)", or "*:*(len)" for any sequence
// number in an expected segment.
func (p *parser) parseSeqSpec(t token, seg *SegSpec, inject bool) error {
	bad := func() error {
		return p.errAt(t.col, "bad sequence range %q: want start:end(len) such as 1:101(100)", t.text)
	}
	a, rest, ok := strings.Cut(t.text, ":")
	if !ok {
		return bad()
	}
	b, rest, ok := strings.Cut(rest, "(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return bad()
	}
	if a == "*" || b == "*" {
		n, err := strconv.ParseUint(strings.TrimSuffix(rest, ")"), 10, 16)
		switch {
		case a != "*" || b != "*" || err != nil:
			return bad()
		case inject:
			return p.errAt(t.col, "\"*:*\" only makes sense in an expected (>) segment")
		}
		seg.SeqAny, seg.Len = true, int(n)
		return nil
	}
	start, err1 := strconv.ParseUint(a, 10, 32)
	end, err2 := strconv.ParseUint(b, 10, 32)
	n, err3 := strconv.ParseUint(strings.TrimSuffix(rest, ")"), 10, 16)
	if err1 != nil || err2 != nil || err3 != nil {
		return bad()
	}
	if uint32(start)+uint32(n) != uint32(end) {
		return p.errAt(t.col, "sequence range %q: %d + %d is not %d", t.text, start, n, end)
	}
	seg.Seq, seg.Len = uint32(start), int(n)
	return nil
}

// parseOptions reads the list after "<" up to and including ">".
func (p *parser) parseOptions(seg *SegSpec, inject bool) error {
	seg.HasOptions = true
	o := &seg.Options
	if t, ok := p.peek(); ok && t.text == ">" && !t.str {
		p.pos++
		return nil
	}
	for {
		name, err := p.word("an option (mss, wscale, sackOK, TS, sack, nop, eol, ...)")
		if err != nil {
			return err
		}
		num := func(what string, bits int) (uint64, bool, error) {
			v, err := p.word(what)
			if err != nil {
				return 0, false, err
			}
			if v.text == "*" {
				if inject && name.text != "TS" {
					return 0, false, p.errAt(v.col, "\"*\" only makes sense in an expected (>) segment")
				}
				return 0, true, nil
			}
			n, err := strconv.ParseUint(v.text, 10, bits)
			if err != nil {
				return 0, false, p.errAt(v.col, "%s wants an integer of %d bits, found %q", name.text, bits, v.text)
			}
			return n, false, nil
		}
		switch name.text {
		case "mss":
			n, any, err := num("an MSS value", 16)
			if err != nil {
				return err
			}
			if any {
				return p.errAt(name.col, "mss wants a value, not *")
			}
			o.HasMSS, o.MSS = true, uint16(n)
		case "wscale":
			n, any, err := num("a shift count", 8)
			if err != nil {
				return err
			}
			if any {
				return p.errAt(name.col, "wscale wants a value, not *")
			}
			o.HasWindowScale, o.WindowScale = true, uint8(n)
		case "sackOK":
			o.SACKPermitted = true
		case "nop", "eol":
			// Accepted for packetdrill compatibility; the encoder lays options
			// out itself (the layout Linux uses).
		case "TS":
			for _, part := range []string{"val", "ecr"} {
				k, err := p.word("\"" + part + "\"")
				if err != nil {
					return err
				}
				if k.text != part {
					return p.errAt(k.col, "TS wants \"val N ecr N\", found %q", k.text)
				}
				n, any, err := num("a timestamp", 32)
				if err != nil {
					return err
				}
				if part == "val" {
					if any && inject {
						return p.errAt(k.col, "an injected segment needs a TS val, not *")
					}
					o.TSVal, seg.TSValAny = uint32(n), any
				} else {
					o.TSEcr, seg.TSEcrAny = uint32(n), any
				}
			}
			o.HasTimestamps = true
		case "sack":
			for {
				t, ok := p.peek()
				if !ok || t.str || !strings.Contains(t.text, ":") {
					break
				}
				p.pos++
				a, b, _ := strings.Cut(t.text, ":")
				l, err1 := strconv.ParseUint(a, 10, 32)
				r, err2 := strconv.ParseUint(b, 10, 32)
				if err1 != nil || err2 != nil {
					return p.errAt(t.col, "bad SACK block %q: want left:right such as 1001:2001", t.text)
				}
				if !o.AddSACK(segment.SACKBlock{Left: segment.Seq(l), Right: segment.Seq(r)}) {
					return p.errAt(t.col, "more than %d SACK blocks", segment.MaxSACKBlocks)
				}
			}
			if o.NumSACK == 0 {
				return p.errAt(name.col, "sack wants at least one block left:right")
			}
		case "...":
			if inject {
				return p.errAt(name.col, "\"...\" only makes sense in an expected (>) segment")
			}
			seg.AnyOptions = true
		default:
			return p.errAt(name.col, "unknown option %q (want mss, wscale, sackOK, TS, sack, nop, eol or ...)", name.text)
		}
		sep, err := p.word("\",\" or \">\"")
		if err != nil {
			return err
		}
		switch sep.text {
		case ">":
			return nil
		case ",":
			if seg.AnyOptions {
				return p.errAt(sep.col, "\"...\" must be the last option")
			}
		default:
			return p.errAt(sep.col, "expected \",\" or \">\" in the option list, found %q", sep.text)
		}
	}
}

// The socket calls, and whether each takes an argument.
var callArgs = map[string]bool{
	"listen": false, "accept": false, "connect": false, "close": false, "abort": false,
	"shutdown": true, "write": true, "read": true, "state": true, "nodelay": false,
}

// stateNames are the connection states a "state" line may name, spelt as
// stack.State.String spells them.
var stateNames = []string{
	"CLOSED", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
	"CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
}

func (p *parser) parseCall() (*CallSpec, error) {
	op, err := p.word("an action")
	if err != nil {
		return nil, err
	}
	takesArg, ok := callArgs[op.text]
	if !ok {
		return nil, p.errAt(op.col, "unknown action %q (want <, >, listen, accept, connect, write, read, shutdown, close, abort, nodelay or state)", op.text)
	}
	c := &CallSpec{Op: op.text}
	if takesArg {
		a, err := p.next("an argument for " + op.text)
		if err != nil {
			return nil, err
		}
		switch {
		case op.text == "state":
			if a.str || !slices.Contains(stateNames, a.text) {
				return nil, p.errAt(a.col, "state wants one of %s, found %q", strings.Join(stateNames, " "), a.text)
			}
			c.Data = []byte(a.text)
		case op.text == "shutdown":
			if a.str || a.text != "write" {
				return nil, p.errAt(a.col, "shutdown takes \"write\" (close the sending side), found %q", a.text)
			}
		case a.str && op.text == "write":
			if a.text == "" {
				return nil, p.errAt(a.col, "write of an empty string")
			}
			c.Data, c.N = []byte(a.text), len(a.text)
		case a.str:
			return nil, p.errAt(a.col, "read wants a byte count, found a string (put the expected text after =)")
		default:
			n, err := strconv.Atoi(a.text)
			if err != nil || n <= 0 || n > 1<<30 {
				return nil, p.errAt(a.col, "%s wants a byte count from 1 to 1073741824, found %q", op.text, a.text)
			}
			c.N = n
		}
	}
	if t, ok := p.peek(); ok && !t.str && t.text == "=" {
		p.pos++
		r, err := p.next("an expected result after =")
		if err != nil {
			return nil, err
		}
		c.ResCol = r.col
		if r.str {
			if op.text != "read" {
				return nil, p.errAt(r.col, "only read can return a string")
			}
			c.Result = strconv.Quote(r.text)
		} else {
			if _, err := strconv.Atoi(r.text); err == nil {
				if op.text != "read" && op.text != "write" {
					return nil, p.errAt(r.col, "%s returns no count; want an error name such as EAGAIN", op.text)
				}
			} else if !validResult(r.text) {
				return nil, p.errAt(r.col, "unknown result %q (want a count, a string, EOF, EAGAIN, ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE or EBADF)", r.text)
			}
			c.Result = r.text
		}
	}
	return c, nil
}

func validResult(s string) bool {
	switch s {
	case "EOF", "EAGAIN", "ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EBADF":
		return true
	}
	return false
}

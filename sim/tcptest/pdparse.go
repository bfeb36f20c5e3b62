package tcptest

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// PDScript is a script in packetdrill's own syntax, parsed by
// ParsePacketdrill and run by RunPacketdrill.
type PDScript struct {
	Name string
	// Options are the --name=value lines at the top, in order.
	Options []PDOption
	Events  []*pdEvent
}

// PDOption is one --name[=value] line.
type PDOption struct {
	Name, Value string
	Line, Col   int
}

// UnsupportedError says that a script uses a construct tcpsim does not
// model: it names the file, line, column and the construct.
type UnsupportedError struct {
	File      string
	Line, Col int
	Construct string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s:%d:%d: unsupported: %s", e.File, e.Line, e.Col, e.Construct)
}

type pdTimeKind uint8

const (
	pdAbs pdTimeKind = iota
	pdRel
	pdAny
	pdAbsRange
	pdRelRange
)

type pdTime struct {
	kind   pdTimeKind
	t, end time.Duration
}

type pdEventKind uint8

const (
	pdPacket pdEventKind = iota + 1
	pdSyscall
	pdCommand
	pdCodeEv
)

type pdEvent struct {
	line, col int
	tm        pdTime
	kind      pdEventKind

	pkt *pdPacketSpec

	// pdSyscall
	name      string
	nameCol   int
	args      []*pdExpr
	ret       *pdExpr
	errno     string
	hasEnd    bool
	endT      time.Duration
	text      string // pdCommand, pdCodeEv
	textLine  int
	textCol   int
	callLine  int
	callCol   int
	retCol    int
	errnoLine int
}

// pdOptKind is a TCP option as written in a script, in order (nop and eol
// included: packetdrill checks the host's layout byte by byte).
type pdOpt struct {
	kind      byte // segment option kinds: 0 eol, 1 nop, 2 mss, 3 wscale, 4 sackOK, 5 sack, 8 TS
	val       uint32
	ecr       uint32
	sack      []segment.SACKBlock
	cookie    []byte // FO and FOEXP (pdfastopen.go)
	cookieSym bool   // the cookie is TFO_COOKIE
	line      int
	colum     int
}

type pdPacketSpec struct {
	inbound    bool
	flags      segment.Flags
	seq        uint32
	len        int
	hasAck     bool
	ack        uint32
	hasWin     bool
	win        uint16
	optsAny    bool // <...>
	hasOpts    bool
	opts       []pdOpt
	line, col  int
	flagsCol   int
	ecn        string
	ecnLine    int
	ecnCol     int
	optsLine   int
	optsColumn int
}

type pdExprKind uint8

const (
	pxEllipsis pdExprKind = iota + 1
	pxInt
	pxWord
	pxString
	pxArray  // [a, b]
	pxStruct // {a, b} or {name=v, ...}
	pxCall   // name(args)
	pxAssign // name = v
	pxOr     // a | b
)

type pdExpr struct {
	kind      pdExprKind
	i         int64
	s         string // word, string, name
	args      []*pdExpr
	line, col int
}

// ParsePacketdrillFile reads and parses a packetdrill script.
func ParsePacketdrillFile(path string) (*PDScript, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePacketdrill(path, src)
}

// ParsePacketdrill parses src, a script in packetdrill's syntax; name is
// used in errors. Errors are *ParseError (bad syntax) or *UnsupportedError
// (a construct tcpsim does not model, such as UDP or IPv6 packets).
func ParsePacketdrill(name string, src []byte) (*PDScript, error) {
	toks, err := pdLex(name, string(src))
	if err != nil {
		return nil, err
	}
	p := &pdParser{name: name, toks: toks}
	s := &PDScript{Name: name}
	for p.peek().kind == pdOption {
		t := p.next()
		n, v, _ := strings.Cut(t.text, "=")
		s.Options = append(s.Options, PDOption{Name: n, Value: v, Line: t.line, Col: t.col})
	}
	for p.peek().kind != pdEOF {
		ev, err := p.event()
		if err != nil {
			return nil, err
		}
		s.Events = append(s.Events, ev)
	}
	return s, nil
}

type pdParser struct {
	name string
	toks []pdToken
	pos  int
}

func (p *pdParser) peek() pdToken { return p.toks[p.pos] }
func (p *pdParser) peekN(n int) pdToken {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *pdParser) next() pdToken {
	t := p.toks[p.pos]
	if t.kind != pdEOF {
		p.pos++
	}
	return t
}

func (p *pdParser) errAt(t pdToken, format string, args ...any) error {
	return &ParseError{File: p.name, Line: t.line, Col: t.col, Msg: fmt.Sprintf(format, args...)}
}

func (p *pdParser) unsupported(t pdToken, format string, args ...any) error {
	return &UnsupportedError{File: p.name, Line: t.line, Col: t.col, Construct: fmt.Sprintf(format, args...)}
}

func (p *pdParser) isPunct(t pdToken, s string) bool { return t.kind == pdPunct && t.text == s }

func (p *pdParser) expectPunct(s, what string) (pdToken, error) {
	t := p.next()
	if !p.isPunct(t, s) {
		return t, p.errAt(t, "expected %q %s, found %s", s, what, t)
	}
	return t, nil
}

// number reads a time in seconds: an integer or a decimal.
func (p *pdParser) number(what string) (time.Duration, error) {
	t := p.next()
	switch t.kind {
	case pdInt:
		if t.ival < 0 || t.ival > 1e6 || strings.HasPrefix(t.text, "0x") {
			return 0, p.errAt(t, "bad %s %q", what, t.text)
		}
		return time.Duration(t.ival) * time.Second, nil
	case pdFloat:
		d, ok := parseSeconds(t.text)
		if !ok {
			return 0, p.errAt(t, "bad %s %q: want seconds with at most 9 decimals", what, t.text)
		}
		return d, nil
	}
	return 0, p.errAt(t, "expected %s (seconds), found %s", what, t)
}

func (p *pdParser) eventTime() (pdTime, error) {
	t := p.peek()
	var tm pdTime
	var err error
	switch {
	case p.isPunct(t, "*"):
		p.next()
		tm.kind = pdAny
		return tm, nil
	case p.isPunct(t, "+"):
		p.next()
		tm.kind = pdRel
		if tm.t, err = p.number("relative time"); err != nil {
			return tm, err
		}
		if p.isPunct(p.peek(), "~") {
			p.next()
			if _, err := p.expectPunct("+", "(a relative range is +a~+b)"); err != nil {
				return tm, err
			}
			tm.kind = pdRelRange
			if tm.end, err = p.number("range end"); err != nil {
				return tm, err
			}
		}
		return tm, nil
	case t.kind == pdInt || t.kind == pdFloat:
		tm.kind = pdAbs
		if tm.t, err = p.number("time"); err != nil {
			return tm, err
		}
		if p.isPunct(p.peek(), "~") {
			p.next()
			tm.kind = pdAbsRange
			if tm.end, err = p.number("range end"); err != nil {
				return tm, err
			}
			if tm.end < tm.t {
				return tm, p.errAt(t, "time range ends before it starts")
			}
		}
		return tm, nil
	}
	return tm, p.errAt(t, "expected an event time (0.100, +0.1, * or a range), found %s", t)
}

func (p *pdParser) event() (*pdEvent, error) {
	first := p.peek()
	ev := &pdEvent{line: first.line, col: first.col}
	// A command or code block may stand without a time (the init and
	// cleanup commands); it then runs at the current time.
	if first.kind == pdBackq || first.kind == pdCode {
		ev.tm.kind = pdRel
	} else {
		tm, err := p.eventTime()
		if err != nil {
			return nil, err
		}
		ev.tm = tm
	}
	t := p.peek()
	switch {
	case t.kind == pdBackq:
		p.next()
		ev.kind, ev.text, ev.textLine, ev.textCol = pdCommand, t.text, t.line, t.col
		return ev, nil
	case t.kind == pdCode:
		p.next()
		ev.kind, ev.text, ev.textLine, ev.textCol = pdCodeEv, t.text, t.line, t.col
		return ev, nil
	case p.isPunct(t, "<") || p.isPunct(t, ">"):
		pkt, err := p.packet()
		if err != nil {
			return nil, err
		}
		ev.kind, ev.pkt = pdPacket, pkt
		return ev, nil
	case t.kind == pdEllipsis || t.kind == pdWord:
		return ev, p.syscall(ev)
	}
	return nil, p.errAt(t, "expected a packet (< or >), a system call, a `command` or %%{ code }%% after the time, found %s", t)
}

func (p *pdParser) syscall(ev *pdEvent) error {
	if p.peek().kind == pdEllipsis {
		p.next()
		d, err := p.number("end time of the blocking call")
		if err != nil {
			return err
		}
		ev.hasEnd, ev.endT = true, d
	}
	nt := p.next()
	if nt.kind != pdWord {
		return p.errAt(nt, "expected a system call name, found %s", nt)
	}
	ev.kind, ev.name, ev.callLine, ev.callCol = pdSyscall, nt.text, nt.line, nt.col
	if _, err := p.expectPunct("(", "after the system call name"); err != nil {
		return err
	}
	args, err := p.exprList(")")
	if err != nil {
		return err
	}
	ev.args = args
	eq, err := p.expectPunct("=", "and the expected result after the call")
	if err != nil {
		return err
	}
	_ = eq
	rt := p.peek()
	ev.retCol = rt.col
	if ev.ret, err = p.expr(); err != nil {
		return err
	}
	// An errno name, then an optional note in parentheses. The errno must
	// be on the same line as the result: a word on the next line is the
	// next event (packetdrill's grammar needs no separator, but every
	// errno in the corpus follows its result).
	if et := p.peek(); et.kind == pdWord && et.line == rt.line && strings.HasPrefix(et.text, "E") {
		p.next()
		ev.errno = et.text
	}
	if lp := p.peek(); p.isPunct(lp, "(") && lp.line == rt.line {
		for {
			t := p.next()
			if t.kind == pdEOF {
				return p.errAt(lp, "unterminated note after the result")
			}
			if p.isPunct(t, ")") {
				break
			}
		}
	}
	return nil
}

// exprList reads expressions separated by commas up to the closing punct.
func (p *pdParser) exprList(closing string) ([]*pdExpr, error) {
	var list []*pdExpr
	if p.isPunct(p.peek(), closing) {
		p.next()
		return list, nil
	}
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
		t := p.next()
		if p.isPunct(t, closing) {
			return list, nil
		}
		if !p.isPunct(t, ",") {
			return nil, p.errAt(t, "expected \",\" or %q in the list, found %s", closing, t)
		}
	}
}

func (p *pdParser) expr() (*pdExpr, error) {
	e, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.isPunct(p.peek(), "|") {
		t := p.next()
		r, err := p.primary()
		if err != nil {
			return nil, err
		}
		if e.kind != pxOr {
			e = &pdExpr{kind: pxOr, args: []*pdExpr{e}, line: t.line, col: t.col}
		}
		e.args = append(e.args, r)
	}
	return e, nil
}

func (p *pdParser) primary() (*pdExpr, error) {
	t := p.next()
	e := &pdExpr{line: t.line, col: t.col}
	switch {
	case t.kind == pdEllipsis:
		e.kind = pxEllipsis
	case t.kind == pdInt:
		e.kind, e.i = pxInt, t.ival
	case t.kind == pdString:
		e.kind, e.s = pxString, t.text
		if p.peek().kind == pdEllipsis {
			p.next()
		}
	case p.isPunct(t, "["):
		args, err := p.exprList("]")
		if err != nil {
			return nil, err
		}
		e.kind, e.args = pxArray, args
	case p.isPunct(t, "{"):
		args, err := p.exprList("}")
		if err != nil {
			return nil, err
		}
		e.kind, e.args = pxStruct, args
	case t.kind == pdWord:
		e.kind, e.s = pxWord, t.text
		if p.isPunct(p.peek(), "(") {
			p.next()
			args, err := p.exprList(")")
			if err != nil {
				return nil, err
			}
			e.kind, e.args = pxCall, args
		}
		if p.isPunct(p.peek(), "=") {
			p.next()
			v, err := p.expr()
			if err != nil {
				return nil, err
			}
			e = &pdExpr{kind: pxAssign, s: t.text, args: []*pdExpr{e, v}, line: t.line, col: t.col}
		}
	default:
		return nil, p.errAt(t, "expected an expression, found %s", t)
	}
	return e, nil
}

func (p *pdParser) packet() (*pdPacketSpec, error) {
	dir := p.next()
	pk := &pdPacketSpec{inbound: dir.text == "<", line: dir.line, col: dir.col}
	// IP information: [ect0], (ce), [tos 0x..] and the like.
	if t := p.peek(); p.isPunct(t, "[") || p.isPunct(t, "(") {
		closing := "]"
		if t.text == "(" {
			closing = ")"
		}
		p.next()
		var words []string
		for {
			w := p.next()
			if w.kind == pdEOF {
				return nil, p.errAt(t, "unterminated IP information")
			}
			if p.isPunct(w, closing) {
				break
			}
			words = append(words, w.text)
		}
		pk.ecn, pk.ecnLine, pk.ecnCol = strings.Join(words, " "), t.line, t.col
	}
	ft := p.peek()
	pk.flagsCol = ft.col
	if ft.kind == pdWord {
		switch strings.ToLower(ft.text) {
		case "udp", "icmp", "ipv4", "ipv6", "gre", "mpls", "psp":
			return nil, p.unsupported(ft, "%s packet (only TCP over IPv4)", ft.text)
		}
	}
	if ft.kind == pdInt && p.isPunct(p.peekN(1), ">") {
		return nil, p.unsupported(ft, "port numbers in a packet line")
	}
	// Flags: a word, ".", a word then ".", or "-" for none.
	var letters string
	switch {
	case ft.kind == pdWord:
		p.next()
		letters = ft.text
		if t := p.peek(); p.isPunct(t, ".") && t.line == ft.line && t.col == ft.col+len(ft.text) {
			p.next()
			letters += "."
		}
	case p.isPunct(ft, "."):
		p.next()
		letters = "."
	case p.isPunct(ft, "-"):
		p.next()
	default:
		return nil, p.errAt(ft, "expected TCP flags such as S, S., ., P., F., R or -, found %s", ft)
	}
	if letters != "" {
		if strings.Contains(letters, "A") {
			return nil, p.unsupported(ft, "flag A (the AE bit of accurate ECN)")
		}
		f, ok := parseFlags(letters)
		if !ok {
			return nil, p.errAt(ft, "bad flags %q: want letters from F S R P . U E W, each at most once", letters)
		}
		pk.flags = f
	}
	// seq: start:end(len)
	st := p.next()
	if st.kind != pdInt {
		return nil, p.errAt(st, "expected start:end(len) such as 1:101(100), found %s", st)
	}
	if _, err := p.expectPunct(":", "in start:end(len)"); err != nil {
		return nil, err
	}
	et := p.next()
	if _, err := p.expectPunct("(", "in start:end(len)"); err != nil {
		return nil, err
	}
	lt := p.next()
	if _, err := p.expectPunct(")", "in start:end(len)"); err != nil {
		return nil, err
	}
	if et.kind != pdInt || lt.kind != pdInt || st.ival < 0 || st.ival > 1<<32-1 || lt.ival < 0 || lt.ival > 65535 || et.ival < 0 || et.ival > 1<<32-1 {
		return nil, p.errAt(st, "bad sequence range: want start:end(len) with 32-bit start and end")
	}
	if uint32(st.ival)+uint32(lt.ival) != uint32(et.ival) {
		return nil, p.errAt(st, "sequence range %d:%d(%d): start + len is not end", st.ival, et.ival, lt.ival)
	}
	pk.seq, pk.len = uint32(st.ival), int(lt.ival)
	for {
		t := p.peek()
		if t.kind != pdWord || (t.text != "ack" && t.text != "win" && t.text != "urg") {
			break
		}
		p.next()
		v := p.next()
		if v.kind != pdInt || v.ival < 0 {
			return nil, p.errAt(v, "%s wants a non-negative integer, found %s", t.text, v)
		}
		switch t.text {
		case "ack":
			if v.ival > 1<<32-1 {
				return nil, p.errAt(v, "ack wants a 32-bit number")
			}
			pk.hasAck, pk.ack = true, uint32(v.ival)
		case "win":
			if v.ival > 65535 {
				return nil, p.errAt(v, "win wants a 16-bit number")
			}
			pk.hasWin, pk.win = true, uint16(v.ival)
		case "urg":
			return nil, p.unsupported(t, "urgent pointer (urg)")
		}
	}
	if pk.inbound && !pk.hasWin {
		return nil, p.errAt(dir, "an inbound packet must give its window (win N)")
	}
	if t := p.peek(); p.isPunct(t, "<") {
		p.next()
		pk.hasOpts, pk.optsLine, pk.optsColumn = true, t.line, t.col
		if p.peek().kind == pdEllipsis {
			p.next()
			pk.optsAny = true
			if _, err := p.expectPunct(">", "after <..."); err != nil {
				return nil, err
			}
			return pk, nil
		}
		if err := p.options(pk); err != nil {
			return nil, err
		}
	}
	return pk, nil
}

func (p *pdParser) options(pk *pdPacketSpec) error {
	if p.isPunct(p.peek(), ">") {
		p.next()
		return nil
	}
	for {
		nt := p.next()
		if nt.kind != pdWord {
			return p.errAt(nt, "expected a TCP option (mss, wscale, sackOK, sack, TS, nop, eol), found %s", nt)
		}
		o := pdOpt{line: nt.line, colum: nt.col}
		intArg := func(max int64) (uint32, error) {
			v := p.next()
			if v.kind != pdInt || v.ival < 0 || v.ival > max {
				return 0, p.errAt(v, "%s wants an integer from 0 to %d, found %s", nt.text, max, v)
			}
			return uint32(v.ival), nil
		}
		var err error
		switch nt.text {
		case "nop":
			o.kind = segment.OptNOP
		case "eol":
			o.kind = segment.OptEOL
		case "mss":
			o.kind = segment.OptMSS
			o.val, err = intArg(65535)
		case "wscale":
			o.kind = segment.OptWindowScale
			o.val, err = intArg(255)
		case "sackOK":
			o.kind = segment.OptSACKPermitted
		case "sack":
			o.kind = segment.OptSACK
			for p.peek().kind == pdInt && p.isPunct(p.peekN(1), ":") {
				l := p.next()
				p.next()
				r := p.next()
				if r.kind != pdInt || l.ival < 0 || r.ival < 0 || l.ival > 1<<32-1 || r.ival > 1<<32-1 {
					return p.errAt(l, "bad SACK block: want left:right")
				}
				o.sack = append(o.sack, segment.SACKBlock{Left: segment.Seq(l.ival), Right: segment.Seq(r.ival)})
			}
			if len(o.sack) == 0 {
				return p.errAt(nt, "sack wants at least one block left:right")
			}
			if len(o.sack) > segment.MaxSACKBlocks {
				return p.unsupported(nt, "more than %d SACK blocks in one option", segment.MaxSACKBlocks)
			}
		case "TS":
			o.kind = segment.OptTimestamps
			for i, part := range []string{"val", "ecr"} {
				k := p.next()
				if k.kind != pdWord || k.text != part {
					return p.errAt(k, "TS wants \"val N ecr N\", found %s", k)
				}
				v, err := intArg(1<<32 - 1)
				if err != nil {
					return err
				}
				if i == 0 {
					o.val = v
				} else {
					o.ecr = v
				}
			}
		case "FO", "FOEXP":
			err = p.fastOpenOption(nt, &o) // pdfastopen.go
		case "md5":
			return p.unsupported(nt, "TCP MD5 signature option")
		case "ECN":
			return p.unsupported(nt, "accurate ECN option")
		default:
			return p.errAt(nt, "unknown TCP option %q", nt.text)
		}
		if err != nil {
			return err
		}
		pk.opts = append(pk.opts, o)
		sep := p.next()
		if p.isPunct(sep, ">") {
			return nil
		}
		if !p.isPunct(sep, ",") {
			return p.errAt(sep, "expected \",\" or \">\" in the option list, found %s", sep)
		}
	}
}

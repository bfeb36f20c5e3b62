package tcptest

import (
	"regexp"
	"strconv"
	"strings"
)

// The small part of Python that packetdrill scripts use in %{ }% blocks
// beyond assert and print: bindings of names to integers,
//
//	%{ TCP_INFINITE_SSTHRESH = 0x7fffffff }%
//	%{ cwnd = 58; assert tcpi_snd_cwnd == cwnd }%
//	%{ cwnd += 1 }%
//
// and integer arithmetic in expressions: + - * // % on numbers, constants,
// earlier bindings and tcpi_* fields, with parentheses and unary minus.
// packetdrill runs every block of a script in one Python interpreter, so a
// binding lasts until the end of the script. Anything else (true division,
// floats, calls, strings) is reported as unsupported at the block's
// position.

var pdAssignRe = regexp.MustCompile(`^([A-Za-z_][A-Za-z_0-9]*)\s*(\+=|-=|\*=|//=|%=|=)\s*(.*)$`)

// pyAssign runs stmt if it is a binding; handled is false if it is not one.
func (r *pdRunner) pyAssign(stmt string, line, col int) (handled bool, err error) {
	m := pdAssignRe.FindStringSubmatch(stmt)
	if m == nil || m[2] == "=" && strings.HasPrefix(m[3], "=") {
		return false, nil // not a binding (a == b is an expression statement)
	}
	name, op, rhs := m[1], m[2], m[3]
	if strings.HasPrefix(name, "tcpi_") || pdPyKeywords[name] {
		return true, r.unsupported(line, col, "python assignment to %s", name)
	}
	v, err := r.tcpiValue(rhs, line, col)
	if err != nil {
		return true, err
	}
	if op != "=" {
		old, ok := r.py[name]
		if !ok {
			return true, r.failAt(line, "python: %s %s %s before %s was bound (NameError)", name, op, strings.TrimSpace(rhs), name)
		}
		if v, err = r.pyArith(old, op[:len(op)-1], v, line); err != nil {
			return true, err
		}
	}
	if r.py == nil {
		r.py = map[string]int64{}
	}
	r.py[name] = v
	return true, nil
}

var pdPyKeywords = map[string]bool{"assert": true, "print": true, "if": true, "for": true, "while": true, "def": true,
	"import": true, "from": true, "lambda": true, "del": true, "global": true, "return": true, "True": true, "False": true, "None": true}

// pyArith applies a binary operator with Python's integer semantics
// (floor division and a modulo with the divisor's sign).
func (r *pdRunner) pyArith(a int64, op string, b int64, line int) (int64, error) {
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "//", "%":
		if b == 0 {
			return 0, r.failAt(line, "python: integer division or modulo by zero (ZeroDivisionError)")
		}
		q, m := a/b, a%b
		if m != 0 && (m < 0) != (b < 0) {
			q, m = q-1, m+b
		}
		if op == "//" {
			return q, nil
		}
		return m, nil
	}
	return 0, r.failAt(line, "python: operator %s", op)
}

// pyHasOp reports whether s is more than a single name or number: an
// expression for pyExpr.
func pyHasOp(s string) bool { return strings.ContainsAny(strings.TrimSpace(s), "+-*/%() \t") }

type pyTok struct {
	s   string
	num bool
}

func pyLex(s string) ([]pyTok, bool) {
	var toks []pyTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			toks = append(toks, pyTok{s: "//"})
			i += 2
		case strings.IndexByte("+-*%()", c) >= 0:
			toks = append(toks, pyTok{s: s[i : i+1]})
			i++
		case c >= '0' && c <= '9' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			toks = append(toks, pyTok{s: s[i:j], num: c >= '0' && c <= '9'})
			i = j
		default:
			return nil, false // '/', '.', quotes, brackets, ...: not integer arithmetic
		}
	}
	return toks, true
}

// pyExpr evaluates an integer expression.
func (r *pdRunner) pyExpr(s string, line, col int) (int64, error) {
	toks, ok := pyLex(s)
	if !ok || len(toks) == 0 {
		return 0, r.unsupported(line, col, "python expression %q", strings.TrimSpace(s))
	}
	p := &pyParser{r: r, toks: toks, line: line, col: col, src: strings.TrimSpace(s)}
	v, err := p.sum(0)
	if err != nil {
		return 0, err
	}
	if p.i != len(p.toks) {
		return 0, p.bad()
	}
	return v, nil
}

type pyParser struct {
	r         *pdRunner
	toks      []pyTok
	i         int
	line, col int
	src       string
}

func (p *pyParser) bad() error {
	return p.r.unsupported(p.line, p.col, "python expression %q", p.src)
}

func (p *pyParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i].s
	}
	return ""
}

// sum, product and unary are the grammar's three levels; depth bounds the
// nesting, so that no script can exhaust the stack.
func (p *pyParser) sum(depth int) (int64, error) {
	v, err := p.product(depth)
	for err == nil && (p.peek() == "+" || p.peek() == "-") {
		op := p.toks[p.i].s
		p.i++
		var w int64
		if w, err = p.product(depth); err == nil {
			v, err = p.r.pyArith(v, op, w, p.line)
		}
	}
	return v, err
}

func (p *pyParser) product(depth int) (int64, error) {
	v, err := p.unary(depth)
	for err == nil && (p.peek() == "*" || p.peek() == "//" || p.peek() == "%") {
		op := p.toks[p.i].s
		p.i++
		var w int64
		if w, err = p.unary(depth); err == nil {
			v, err = p.r.pyArith(v, op, w, p.line)
		}
	}
	return v, err
}

func (p *pyParser) unary(depth int) (int64, error) {
	if depth > 64 || p.i >= len(p.toks) {
		return 0, p.bad()
	}
	t := p.toks[p.i]
	p.i++
	switch {
	case t.s == "-" || t.s == "+":
		v, err := p.unary(depth + 1)
		if t.s == "-" {
			v = -v
		}
		return v, err
	case t.s == "(":
		v, err := p.sum(depth + 1)
		if err != nil {
			return 0, err
		}
		if p.peek() != ")" {
			return 0, p.bad()
		}
		p.i++
		return v, nil
	case t.num:
		s := strings.ReplaceAll(t.s, "_", "")
		v, err := strconv.ParseInt(s, 0, 64)
		if err != nil || len(s) > 1 && s[0] == '0' && s[1] >= '0' && s[1] <= '9' { // Python 3 has no 017
			return 0, p.bad()
		}
		return v, nil
	case strings.IndexByte("*/%)", t.s[0]) >= 0:
		return 0, p.bad()
	}
	if p.peek() == "(" {
		return 0, p.r.unsupported(p.line, p.col, "python call %s(...) in %q", t.s, p.src)
	}
	return p.r.tcpiValue(t.s, p.line, p.col)
}

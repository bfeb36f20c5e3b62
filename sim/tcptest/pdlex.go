package tcptest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// This file is the lexer of packetdrill's own script language (see
// docs/testing.md, "packetdrill scripts as they are"). Unlike tcpsim's own
// format, packetdrill's grammar is free-form: newlines are white space,
// commands in backquotes and code in %{ }% may span lines, and comments are
// // or /* */.

// pdTokKind is the kind of a packetdrill token.
type pdTokKind uint8

const (
	pdEOF      pdTokKind = iota
	pdInt                // 123, -1, 0x1f
	pdFloat              // 1.5, .1
	pdWord               // names, flags such as S or F
	pdString             // "..." (unquoted text)
	pdBackq              // `...` (the command)
	pdCode               // %{ ... }% (the code)
	pdOption             // --name=value (text without the dashes)
	pdEllipsis           // ...
	pdPunct              // any other single character
)

type pdToken struct {
	kind      pdTokKind
	text      string
	ival      int64
	line, col int
}

func (t pdToken) String() string {
	switch t.kind {
	case pdEOF:
		return "end of file"
	case pdString:
		return fmt.Sprintf("string %q", t.text)
	case pdBackq:
		return "a `command`"
	case pdCode:
		return "%{ code }%"
	}
	return fmt.Sprintf("%q", t.text)
}

var (
	pdReFloat = regexp.MustCompile(`^-?[0-9]*\.[0-9]+`)
	pdReInt   = regexp.MustCompile(`^-?[0-9]+`)
	pdReHex   = regexp.MustCompile(`^0x[0-9a-fA-F]+`)
	pdReWord  = regexp.MustCompile(`^[a-zA-Z0-9_]+`)
)

// pdLex splits a packetdrill script into tokens.
func pdLex(name string, src string) ([]pdToken, error) {
	var toks []pdToken
	line, col := 1, 1
	i := 0
	advance := func(n int) {
		for k := 0; k < n && i < len(src); k++ {
			if src[i] == '\n' {
				line++
				col = 1
			} else {
				col++
			}
			i++
		}
	}
	errAt := func(l, c int, format string, args ...any) error {
		return &ParseError{File: name, Line: l, Col: c, Msg: fmt.Sprintf(format, args...)}
	}
	for i < len(src) {
		c := src[i]
		rest := src[i:]
		l0, c0 := line, col
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			advance(1)
		case strings.HasPrefix(rest, "//"):
			j := strings.IndexByte(rest, '\n')
			if j < 0 {
				j = len(rest)
			}
			advance(j)
		case strings.HasPrefix(rest, "/*"):
			j := strings.Index(rest[2:], "*/")
			if j < 0 {
				return nil, errAt(l0, c0, "unterminated /* comment")
			}
			advance(j + 4)
		case strings.HasPrefix(rest, "%{"):
			j := strings.Index(rest[2:], "}%")
			if j < 0 {
				return nil, errAt(l0, c0, "unterminated %%{ code block (no }%%)")
			}
			toks = append(toks, pdToken{kind: pdCode, text: rest[2 : 2+j], line: l0, col: c0})
			advance(j + 4)
		case c == '`' || c == '"':
			j := 1
			for j < len(rest) && rest[j] != c {
				if rest[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(rest) {
				return nil, errAt(l0, c0, "unterminated %c", c)
			}
			k, text := pdString, pdUnescape(rest[1:j])
			if c == '`' {
				k, text = pdBackq, rest[1:j] // a shell command: its backslashes are the shell's
			}
			toks = append(toks, pdToken{kind: k, text: text, line: l0, col: c0})
			advance(j + 1)
		case strings.HasPrefix(rest, "..."):
			toks = append(toks, pdToken{kind: pdEllipsis, text: "...", line: l0, col: c0})
			advance(3)
		case strings.HasPrefix(rest, "--") && len(rest) > 2 && (pdReWord.MatchString(rest[2:])):
			j := strings.IndexAny(rest, " \t\r\n")
			if j < 0 {
				j = len(rest)
			}
			toks = append(toks, pdToken{kind: pdOption, text: rest[2:j], line: l0, col: c0})
			advance(j)
		default:
			// Numbers and words: the longest match wins, and on a tie the
			// earlier rule (float, integer, hex, word), as in flex.
			best, kind := 0, pdPunct
			for _, r := range []struct {
				re *regexp.Regexp
				k  pdTokKind
			}{{pdReFloat, pdFloat}, {pdReInt, pdInt}, {pdReHex, pdInt}, {pdReWord, pdWord}} {
				if m := r.re.FindString(rest); len(m) > best {
					best, kind = len(m), r.k
				}
			}
			if best == 0 {
				if c < ' ' || c > '~' {
					return nil, errAt(l0, c0, "unexpected character %q", c)
				}
				toks = append(toks, pdToken{kind: pdPunct, text: rest[:1], line: l0, col: c0})
				advance(1)
				continue
			}
			t := pdToken{kind: kind, text: rest[:best], line: l0, col: c0}
			if kind == pdInt {
				var err error
				t.ival, err = pdParseInt(t.text)
				if err != nil {
					return nil, errAt(l0, c0, "bad integer %q", t.text)
				}
			}
			toks = append(toks, t)
			advance(best)
		}
	}
	toks = append(toks, pdToken{kind: pdEOF, line: line, col: col})
	return toks, nil
}

func pdUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'x':
				// \xHH, as in C (TCP_FASTOPEN_KEY's bytes)
				if v, err := strconv.ParseUint(s[i+1:min(i+3, len(s))], 16, 8); err == nil && i+3 <= len(s) {
					b.WriteByte(byte(v))
					i += 2
				} else {
					b.WriteByte('x')
				}
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func pdParseInt(s string) (int64, error) {
	var n int64
	var err error
	if strings.HasPrefix(s, "0x") {
		var u uint64
		_, err = fmt.Sscanf(s[2:], "%x", &u)
		n = int64(u)
	} else {
		_, err = fmt.Sscanf(s, "%d", &n)
	}
	return n, err
}

// pdDialectRe finds a line that only packetdrill's syntax has: a time then
// a system call with parentheses, a `command`, %{ code }%, or a --option.
var pdDialectRe = regexp.MustCompile("(?m)^\\s*([-+*0-9.~]+(\\.\\.\\.[-+0-9.]+)?\\s+[a-z_0-9]+\\(|.*`|.*%\\{|--[a-z_]+)")

// IsPacketdrill reports whether src is written in packetdrill's own syntax
// rather than tcpsim's script format: whether any line holds a system call
// written as a function call, a backquoted command, a %{ }% block or a
// --option.
func IsPacketdrill(src []byte) bool {
	for _, line := range strings.Split(string(src), "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if pdDialectRe.MatchString(line) {
			return true
		}
	}
	return false
}

package tcptest

import (
	"strings"
	"testing"
)

// TestPacketdrillPython checks the %{ }% bindings and integer arithmetic
// (pdpython.go) and tcp_cubic's hystart_detect parameter (pdcubic.go):
// what they compute, and that what they do not cover is reported as
// unsupported or as a failure at the right line, never a panic. After
// pdHandshake cwnd is 10 segments.
func TestPacketdrillPython(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"bind", pdHandshake + "+0 %{ cwnd = 10; assert tcpi_snd_cwnd == cwnd, tcpi_snd_cwnd }%\n", ""},
		{"bind-across-blocks", pdHandshake + "+0 %{ c = 4 }%\n+0 %{ c += 6 }%\n+0 %{ assert tcpi_snd_cwnd == c }%\n", ""},
		{"bind-fails", pdHandshake + "+0 %{ c = 9; assert tcpi_snd_cwnd == c, tcpi_snd_cwnd }%\n",
			"x.pkt:9: assertion failed at 0.100000: assert tcpi_snd_cwnd == c, tcpi_snd_cwnd (tcpi_snd_cwnd is 10, c is 9)"},
		{"bind-tcpi", pdHandshake + "+0 %{ w = tcpi_snd_cwnd * 2 }%\n+0 %{ assert w == 20 }%\n", ""},
		{"rebind-constant", pdHandshake + "+0 %{ TCP_INFINITE_SSTHRESH = 0x7fffffff }%\n+0 %{ assert tcpi_snd_ssthresh == TCP_INFINITE_SSTHRESH }%\n", ""},
		{"arith", pdHandshake + "+0 %{ assert tcpi_snd_cwnd == 2 * 4 + 2 == (30 - 10) // 2 == -(-10) == 23 % 13 }%\n", ""},
		{"arith-floor", pdHandshake + "+0 %{ a = -7 // 2; b = -7 % 2; c = 7 % -2 }%\n+0 %{ assert a == -4 and b == 1 }%\n", "unsupported"},
		{"arith-floor-values", pdHandshake + "+0 %{ a = -7 // 2; b = -7 % 2; c = 7 % -2 }%\n+0 %{ assert a == -4 }%\n+0 %{ assert b == 1 }%\n+0 %{ assert c == -1 }%\n", ""},
		{"arith-number-first", pdHandshake + "+0 %{ assert 5 + 5 == tcpi_snd_cwnd }%\n", ""},
		{"aug-unbound", pdHandshake + "+0 %{ x += 1 }%\n", "x.pkt:9: python: x += 1 before x was bound (NameError)"},
		{"true-division", pdHandshake + "+0 %{ x = 1 / 2 }%\n", "x.pkt:9:4: unsupported: python expression \"1 / 2\""},
		{"call", pdHandshake + "+0 %{ x = max(1, 2) }%\n", "x.pkt:9:4: unsupported: python expression"},
		{"call-one-arg", pdHandshake + "+0 %{ x = abs(1) }%\n", "x.pkt:9:4: unsupported: python call abs(...)"},
		{"unknown-name", pdHandshake + "+0 %{ x = y }%\n", "x.pkt:9:4: unsupported: python expression \"y\""},
		{"assign-tcpi", pdHandshake + "+0 %{ tcpi_snd_cwnd = 3 }%\n", "x.pkt:9:4: unsupported: python assignment to tcpi_snd_cwnd"},
		{"div-zero", pdHandshake + "+0 %{ x = 1 // (2 - 2) }%\n", "x.pkt:9: python: integer division or modulo by zero (ZeroDivisionError)"},
		{"deep", pdHandshake + "+0 %{ x = " + strings.Repeat("(", 500) + "1" + strings.Repeat(")", 500) + " }%\n", "x.pkt:9:4: unsupported: python expression"},
		{"unbalanced", pdHandshake + "+0 %{ x = (1 + 2 }%\n", "x.pkt:9:4: unsupported: python expression"},
		{"dangling", pdHandshake + "+0 %{ x = 1 + }%\n", "x.pkt:9:4: unsupported: python expression"},
		{"octal", pdHandshake + "+0 %{ x = 1 + 017 }%\n", "x.pkt:9:4: unsupported: python expression"},
		{"bare-compare", pdHandshake + "+0 %{ x == 3 }%\n", "x.pkt:9:4: unsupported: python code \"x == 3\""},
		{"hystart-detect", "`echo 2 > /sys/module/tcp_cubic/parameters/hystart_detect`\n" + pdHandshake, ""},
		{"hystart-detect-off", "`echo 0 > /sys/module/tcp_cubic/parameters/hystart_detect`\n" + pdHandshake, ""},
		{"hystart-detect-range", "`echo 7 > /sys/module/tcp_cubic/parameters/hystart_detect`\n" + pdHandshake, "x.pkt:1: hystart_detect 7: want 0 to 3"},
		{"cubic-other-param", "`echo 1 > /sys/module/tcp_cubic/parameters/beta`\n" + pdHandshake, "x.pkt:1:1: unsupported: tcp_cubic parameter beta"},
		{"cubic-param-form", "`cat /sys/module/tcp_cubic/parameters/hystart_detect`\n" + pdHandshake, "x.pkt:1:1: unsupported: shell command"},
		{"hystart-detect-late", pdHandshake + "+0 `echo 2 > /sys/module/tcp_cubic/parameters/hystart_detect`\n", "unsupported: tcp_cubic parameter after the host started"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkPDOutcome(t, tc.src, tc.want) })
	}
}

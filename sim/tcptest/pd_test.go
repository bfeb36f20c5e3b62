package tcptest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPacketdrillOwn runs tcpsim's own scripts written in packetdrill's
// syntax.
func TestPacketdrillOwn(t *testing.T) { RunScripts(t, "testdata/pd/*.pkt") }

// TestDialect checks that every script of tcpsim's own format is told
// apart from every script in packetdrill's.
func TestDialect(t *testing.T) {
	for pattern, want := range map[string]bool{"testdata/*.pkt": false, "testdata/pd/*.pkt": true} {
		files, _ := filepath.Glob(pattern)
		if len(files) == 0 {
			t.Fatalf("no file matches %s", pattern)
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if got := IsPacketdrill(src); got != want {
				t.Errorf("%s: IsPacketdrill = %v, want %v", f, got, want)
			}
		}
	}
}

const pdHandshake = "`../common/defaults.sh`\n" +
	"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n" +
	"+0 bind(3, ..., ...) = 0\n" +
	"+0 listen(3, 1) = 0\n" +
	"+0 < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>\n" +
	"+0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>\n" +
	"+.1 < . 1:1(0) ack 1 win 257\n" +
	"+0 accept(3, ..., ...) = 4\n" // line 8

// TestPacketdrillErrors checks the outcome of small scripts: timing within
// and outside packetdrill's tolerance, blocking-call end times, and that
// unsupported constructs and syntax errors name file:line:col.
func TestPacketdrillErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string // want "" for success
	}{
		{"ok", pdHandshake + "+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n", ""},
		// The host sends at 0.1; 0.104 is within the 4 ms tolerance,
		// 0.105 is not (12.5 % of the 5 ms since the last event is less).
		{"tolerance-in", pdHandshake + "+0 write(4, ..., 100) = 100\n0.104 > P. 1:101(100) ack 1\n", ""},
		{"tolerance-out", pdHandshake + "+0 write(4, ..., 100) = 100\n0.105 > P. 1:101(100) ack 1\n",
			"x.pkt:10: timing error: expected > P. 1:101(100) ack 1 at 0.101000~0.109000 but the host sent it at 0.100000 (0.001 s early)"},
		// The retransmission leaves at 0.4 (RTO 300 ms after the 100 ms
		// handshake sample). 12.5 % of the 0.33 s since the previous event
		// is 41 ms: 0.43 is within, 0.45 is not.
		{"tolerance-percent", pdHandshake + "+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n0.43 > P. 1:101(100) ack 1\n", ""},
		{"tolerance-percent-out", pdHandshake + "+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n0.45 > P. 1:101(100) ack 1\n",
			"expected > P. 1:101(100) ack 1 at 0.406250~0.493750 but the host sent it at 0.400000"},
		{"range", pdHandshake + "+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n0.35~0.45 > P. 1:101(100) ack 1\n", ""},
		{"any", pdHandshake + "+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n* > P. 1:101(100) ack 1\n", ""},
		{"wrong-flags", pdHandshake + "+0 write(4, ..., 100) = 100\n+0 > . 1:101(100) ack 1\n", "flags: want [.], got [P.]"},
		{"blocking-end-early", "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n" +
			"+0...0.5 accept(3, ..., ...) = 4\n+0 < S 0:0(0) win 32792 <mss 1000>\n+0 > S. 0:0(0) ack 1 <...>\n+.1 < . 1:1(0) ack 1 win 257\n",
			"x.pkt:4: timing error: expected the accept call to return at 0.500000 but it returned at 0.100000"},
		{"result", pdHandshake + "+0 read(4, ..., 10) = 10\n", "x.pkt:9: the read call blocks for ever"},
		{"errno", pdHandshake + "+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, ..., 10) = -1 ECONNRESET\n", "read returned -1 EAGAIN, want -1 ECONNRESET"},
		{"assert", pdHandshake + "+0 %{ assert tcpi_snd_cwnd == 9, tcpi_snd_cwnd }%\n", "x.pkt:9: assertion failed at 0.100000: assert tcpi_snd_cwnd == 9, tcpi_snd_cwnd (tcpi_snd_cwnd is 10"},
		{"udp", pdHandshake + "+0 < udp (100)\n", "x.pkt:9:6: unsupported: udp packet (only TCP over IPv4)"},
		{"sysctl", "`sysctl -q net.ipv4.tcp_mtu_probing=2`\n" + pdHandshake, "x.pkt:1:1: unsupported: sysctl net.ipv4.tcp_mtu_probing=2 (tcpsim has no such mechanism to set)"},
		{"sysctl-unknown", "`sysctl -q net.ipv4.tcp_foo=2`\n" + pdHandshake, "x.pkt:1:1: unsupported: sysctl net.ipv4.tcp_foo"},
		{"tcpi", pdHandshake + "  +0 %{ assert tcpi_min_rtt == 3 }%\n", "x.pkt:9:6: unsupported: tcpi_min_rtt"},
		{"syscall", pdHandshake + "+0 splice(4, ..., 5, ..., 100, 0) = 0\n", "x.pkt:9:4: unsupported: system call splice"},
		{"siocinq", pdHandshake + "+0 < P. 1:101(100) ack 1 win 257\n+0 ioctl(4, SIOCINQ, [100]) = 0\n+0 ioctl(4, SIOCINQ, [99]) = 0\n", "x.pkt:11: ioctl returned [100], want [99]"},
		{"epoll-edge-once", pdHandshake + "+0 epoll_create(1) = 5\n+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLOUT|EPOLLET, fd=4}) = 0\n" +
			"+0 epoll_wait(5, {events=EPOLLOUT, fd=4}, 1, 0) = 1\n+0 epoll_wait(5, {events=EPOLLOUT, fd=4}, 1, 0) = 1\n", "x.pkt:12: epoll_wait returned 0, want 1"},
		{"epoll-level", pdHandshake + "+0 epoll_create(1) = 5\n+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLOUT, fd=4}) = 0\n" +
			"+0 epoll_wait(5, {events=EPOLLOUT, fd=4}, 1, 0) = 1\n+0 epoll_wait(5, {events=EPOLLOUT, fd=4}, 1, 0) = 1\n", ""},
		{"sockopt", pdHandshake + "+0 setsockopt(4, SOL_TCP, TCP_CONGESTION, [1], 4) = 0\n", "x.pkt:9:27: unsupported: setsockopt TCP_CONGESTION"},
		{"option", "--ip_version=ipv6\n" + pdHandshake, "x.pkt:1:1: unsupported: --ip_version=ipv6"},
		{"bad-flags", pdHandshake + "+0 > SX 0:0(0)\n", "x.pkt:9:6: bad flags \"SX\""},
		{"no-win", pdHandshake + "+0 < . 1:1(0) ack 1\n", "x.pkt:9:4: an inbound packet must give its window"},
		{"ts-ecr", pdHandshake + "+0 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 5 ecr 7>\n", "unable to infer live TS ecr for script TS ecr 7"},
		{"shell-comment", "`# a comment\nsysctl -q net.ipv4.tcp_foo=2`\n" + pdHandshake, "x.pkt:2:1: unsupported: sysctl net.ipv4.tcp_foo"},
		{"ethtool-offloads", "`ethtool -K tun0 tso off gso off`\n" + pdHandshake + "+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n", ""},
		{"ethtool-other", "`ethtool -G tun0 rx 64`\n" + pdHandshake, "x.pkt:1:1: unsupported: shell command \"ethtool -G tun0 rx 64\""},
		{"sendfile", "`/bin/rm -f /tmp/f\n/bin/dd bs=1 count=5 if=/dev/zero of=/tmp/f status=none`\n" + pdHandshake +
			"+0 open(\"/tmp/f\", O_RDONLY) = 5\n+0 sendfile(4, 5, [0], 10) = 5\n+0 > P. 1:6(5) ack 1\n", ""},
		{"sendfile-own-offset", "`dd bs=100 count=3 if=/dev/zero of=/tmp/f`\n" + pdHandshake +
			"+0 open(\"/tmp/f\", O_RDONLY) = 5\n+0 sendfile(4, 5, NULL, 200) = 200\n+0 > P. 1:201(200) ack 1\n" +
			"+.01 < . 1:1(0) ack 201 win 257\n+0 sendfile(4, 5, NULL, 200) = 100\n+0 > P. 201:301(100) ack 1\n+0 sendfile(4, 5, NULL, 200) = 0\n", ""},
		{"open-removed", "`dd bs=1 count=5 if=/dev/zero of=/tmp/f\nrm -f /tmp/f`\n" + pdHandshake + "+0 open(\"/tmp/f\", O_RDONLY) = 5\n",
			"open returned -1 ENOENT, want 5"},
		{"dd-random", "`dd bs=1 count=5 if=/dev/urandom of=/tmp/f`\n" + pdHandshake, "x.pkt:1:1: unsupported: dd operand \"if=/dev/urandom\""},
		{"zerocopy", pdHandshake + "+0 setsockopt(4, SOL_SOCKET, SO_ZEROCOPY, [1], 4) = 0\n+0 getsockopt(4, SOL_SOCKET, SO_ZEROCOPY, [1], [4]) = 0\n" +
			"+0 send(4, ..., 100, MSG_ZEROCOPY) = 100\n+0 > P. 1:101(100) ack 1\n", ""},
		{"zerocopy-errqueue", pdHandshake + "+0 setsockopt(4, SOL_SOCKET, SO_ZEROCOPY, [1], 4) = 0\n" +
			"+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 0}], msg_flags=0}, MSG_ERRQUEUE) = -1 EAGAIN\n", "unsupported"},
		{"fq", "`tc qdisc replace dev tun0 root fq`\n" + pdHandshake + "+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n", ""},
		{"fq-options", "`tc qdisc replace dev tun0 root fq maxrate 1mbit`\n" + pdHandshake, "x.pkt:1:1: unsupported: tc qdisc fq with options"},
		{"pfifo-limit-0", pdHandshake + "+0 `tc qdisc replace dev tun0 root pfifo limit 0`\n+0 write(4, ..., 100) = 100\n" +
			"+0 `tc qdisc del dev tun0 root`\n+.3 > P. 1:101(100) ack 1\n", ""},
		{"pfifo-limit-0-nothing-out", pdHandshake + "+0 `tc qdisc add dev tun0 root pfifo limit 0`\n+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n",
			"x.pkt:11: expected at 0.096000~0.104000: > P. 1:101(100) ack 1\nbut the host sent nothing"},
		{"pfifo-limit-0-before-start", "`tc qdisc replace dev tun0 root pfifo limit 0`\n" + pdHandshake, "x.pkt:7: expected at 0.000000~0.004000: > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>\nbut the host sent nothing"},
		{"pfifo-limit", "`tc qdisc replace dev tun0 root pfifo limit 10`\n" + pdHandshake,
			"x.pkt:1:1: unsupported: shell command \"tc qdisc replace dev tun0 root pfifo limit 10\" (tc qdisc: only fq, pfifo limit 0 and deleting the root qdisc)"},
		{"netem", pdHandshake + "+0 `tc qdisc add dev tun0 root netem delay 10ms`\n", "x.pkt:9:4: unsupported: shell command \"tc qdisc add dev tun0 root netem delay 10ms\""},
		{"qdisc-delete-other", pdHandshake + "+0 `tc qdisc delete dev tun0 root handle 1:`\n", "x.pkt:9:4: unsupported: shell command"},
		{"ip-tos-df", pdHandshake + "+0 setsockopt(4, SOL_IP, IP_TOS, [0x28], 4) = 0\n+0 getsockopt(4, SOL_IP, IP_TOS, [0x28], [4]) = 0\n" +
			"+0 setsockopt(4, SOL_IP, IP_MTU_DISCOVER, [IP_PMTUDISC_DONT], 4) = 0\n+0 getsockopt(4, SOL_IP, IP_MTU_DISCOVER, [IP_PMTUDISC_DONT], [4]) = 0\n" +
			"+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n", ""},
		{"ip-mtu-discover-mode", pdHandshake + "+0 setsockopt(4, SOL_IP, IP_MTU_DISCOVER, [5], 4) = 0\n", "unsupported: setsockopt IP_MTU_DISCOVER mode 5"},
		{"print-unknown", pdHandshake + "+0 %{ print(tcpi_foo) }%\n", "x.pkt:9:4: unsupported: tcpi_foo"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkPDOutcome(t, tc.src, tc.want) })
	}
}

// checkPDOutcome parses and runs a packetdrill script: with want empty it
// must succeed, otherwise fail with an error containing want, and an
// "unsupported" want must come as an *UnsupportedError.
func checkPDOutcome(t *testing.T, src, want string) {
	t.Helper()
	s, err := ParsePacketdrill("x.pkt", []byte(src))
	if err == nil {
		_, err = RunPacketdrill(s)
	}
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q\nwant it to contain %q", err, want)
	}
	var ue *UnsupportedError
	if strings.Contains(want, "unsupported:") && !errors.As(err, &ue) {
		t.Fatalf("error %v is not an *UnsupportedError", err)
	}
}

// TestPacketdrillPrint checks that %{ print(tcpi_x) }% records the value
// (packetdrill prints it) and lets the script go on.
func TestPacketdrillPrint(t *testing.T) {
	s, err := ParsePacketdrill("x.pkt", []byte(pdHandshake+"+0 %{ print(tcpi_snd_cwnd); assert tcpi_snd_cwnd == 10 }%\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunPacketdrill(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"9: tcpi_snd_cwnd = 10"}; strings.Join(res.Printed, "|") != strings.Join(want, "|") {
		t.Fatalf("Printed = %q, want %q", res.Printed, want)
	}
}

// TestPacketdrillNoPanic feeds every prefix of the scripts in testdata/pd,
// cut at every byte, to the parser and runner: errors, never a panic.
func TestPacketdrillNoPanic(t *testing.T) {
	files, _ := filepath.Glob("testdata/pd/*.pkt")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n <= len(src); n += 7 {
			s, err := ParsePacketdrill(f, src[:n])
			if err == nil {
				RunPacketdrill(s)
			}
		}
	}
}

// FuzzPacketdrill parses and runs arbitrary packetdrill scripts: errors
// carry a position, and nothing panics or runs away.
func FuzzPacketdrill(f *testing.F) {
	f.Add([]byte(pdHandshake + "+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n"))
	f.Add([]byte("--tolerance_usecs=100\n`sysctl -q net.ipv4.tcp_sack=0`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0...0.1 connect(3, ..., ...) = 0\n* > S 0:0(0) <...>\n"))
	f.Add([]byte("0 poll([{fd=3, events=POLLIN|POLLOUT, revents=0}], 1, 10) = 0\n+0 %{ assert tcpi_rtt > 0, 'x' }%\n/* c */ 1~2 < [ect0] S. 0:0(0) ack 1 win 1 <sack 1:2 3:4,TS val 1 ecr 2>\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := ParsePacketdrill("fuzz.pkt", src)
		if err != nil {
			var pe *ParseError
			var ue *UnsupportedError
			switch {
			case errors.As(err, &pe):
				if pe.Line < 1 || pe.Col < 1 {
					t.Fatalf("bad position in %v", err)
				}
			case errors.As(err, &ue):
				if ue.Line < 1 || ue.Col < 1 {
					t.Fatalf("bad position in %v", err)
				}
			default:
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		RunPacketdrill(s)
	})
}

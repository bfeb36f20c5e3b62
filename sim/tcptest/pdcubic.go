package tcptest

import (
	"regexp"
	"strconv"
)

// tcp_cubic's module parameters, which scripts set by writing to sysfs:
//
//	echo 3 > /sys/module/tcp_cubic/parameters/hystart_detect
//
// The runner's hosts run Linux's CUBIC and HyStart (stack.TCPConfig's
// LinuxCubic, set in RunPacketdrill), so hystart_detect maps onto
// LinuxHyStartDetect. Like a sysctl, it is read when the host is made.

var pdCubicParamRe = regexp.MustCompile(`^echo\s+(-?[0-9]+)\s*>\s*/sys/module/tcp_cubic/parameters/(\w+)$`)

func (r *pdRunner) cubicParam(line string, lineNo, col int) error {
	m := pdCubicParamRe.FindStringSubmatch(line)
	if m == nil {
		return r.unsupported(lineNo, col, "shell command %q (only echo N > /sys/module/tcp_cubic/parameters/hystart_detect)", line)
	}
	if r.p != nil {
		return r.unsupported(lineNo, col, "tcp_cubic parameter after the host started (tcpsim reads its settings once, when the host is made)")
	}
	n, err := strconv.Atoi(m[1])
	switch {
	case m[2] != "hystart_detect":
		return r.unsupported(lineNo, col, "tcp_cubic parameter %s", m[2])
	case err != nil || n < 0 || n > 3:
		return r.failAt(lineNo, "hystart_detect %s: want 0 to 3 (1 ACK train, 2 delay)", m[1])
	case n == 0:
		r.cfg.TCP.LinuxHyStartDetect = -1 // no test: HyStart never leaves slow start
	default:
		r.cfg.TCP.LinuxHyStartDetect = n
	}
	return nil
}

package scenario

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

const ccBase = `
timeout: 2m
hosts:
  - name: a
    tcp: {congestion_control: HOSTCC}
  - name: b
    listen: [{port: 9}]
links:
  - {name: l, a: a, b: b, rate: 10mbit, delay: 10ms, queue: 20}
flows:
`

// flowShape is what a flow did on the wire, without its ports and
// sequence numbers.
type flowShape struct {
	fct     time.Duration
	retrans int
	packets int
}

func shapeOf(t *testing.T, f FlowResult) flowShape {
	t.Helper()
	if f.Err != nil || f.Flow == nil {
		t.Fatalf("flow %s: %v", f.Name, f.Err)
	}
	return flowShape{f.Flow.LastAt - f.Flow.SYNAt, f.Flow.Dir[0].Retrans, f.Flow.Dir[0].Packets}
}

// A flow's cc is its own connection's: two flows from one host, the first
// CUBIC and the second NewReno, one after the other, each move their bytes
// exactly as a host running that algorithm for all its connections does,
// and the two algorithms differ through a 20-packet queue.
func TestFlowCC(t *testing.T) {
	host := func(cc string) string { return strings.Replace(ccBase, "HOSTCC", cc, 1) }
	flow := "  - {from: a, to: b, port: 9, size: 1MB}\n"
	cubicHost := shapeOf(t, runOK(t, host("cubic")+flow).Flows[0])
	renoHost := shapeOf(t, runOK(t, host("newreno")+flow).Flows[0])
	if cubicHost == renoHost {
		t.Fatalf("CUBIC and NewReno hosts gave the same flow %+v: the test shows nothing", cubicHost)
	}
	res := runOK(t, host("newreno")+"  - {from: a, to: b, port: 9, size: 1MB, cc: cubic}\n  - {from: a, to: b, port: 9, size: 1MB, start: 30s}\n")
	if res.Flows[0].CC != stack.CCCubic || res.Flows[1].CC != stack.CCNewReno {
		t.Errorf("flows' cc %q, %q", res.Flows[0].CC, res.Flows[1].CC)
	}
	if got := shapeOf(t, res.Flows[0]); got != cubicHost {
		t.Errorf("cc: cubic on a NewReno host: %+v; a CUBIC host: %+v", got, cubicHost)
	}
	if got := shapeOf(t, res.Flows[1]); got != renoHost {
		t.Errorf("the host's NewReno after a CUBIC flow: %+v; alone: %+v", got, renoHost)
	}
}

// A host's TCPConfig is its profile (none: the zero config) with the
// host's own fields on top, and a flow's profile sets its host's; each
// runs.
func TestProfile(t *testing.T) {
	src := func(hostTCP, flowExtra string) string {
		return `
hosts:
  - name: a
    tcp: {` + hostTCP + `}
  - name: b
    listen: [{port: 9}]
links:
  - {name: l, a: a, b: b, rate: 10mbit, delay: 10ms}
flows:
  - {from: a, to: b, port: 9, size: 10KB` + flowExtra + `}
`
	}
	for _, tc := range []struct {
		name, host, flow string
		want             stack.TCPConfig
	}{
		{"none", "sndbuf: 64KiB", "", stack.TCPConfig{SendBuffer: 64 << 10}},
		{"rfc", "profile: rfc, sndbuf: 64KiB", "", func() stack.TCPConfig {
			c, _ := stack.Profile("rfc")
			c.SendBuffer = 64 << 10
			return c
		}()},
		{"linux from the flow, cc kept", "congestion_control: newreno, delayed_ack: off", ", profile: linux", func() stack.TCPConfig {
			c, _ := stack.Profile("linux")
			c.CongestionControl, c.DelayedAck = stack.CCNewReno, -1
			return c
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := parseOK(t, src(tc.host, tc.flow))
			p, err := s.plan(1)
			if err != nil {
				t.Fatal(err)
			}
			got := p.byName["a"].tcp
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("host a's TCPConfig\n%+v\nwant\n%+v", got, tc.want)
			}
			res, err := Run(s, Options{})
			if err != nil || res.Err != nil || res.Failed() != 0 {
				t.Fatalf("run: %v, %v, %d failed", err, res.Err, res.Failed())
			}
		})
	}
}

// ecn: on on a flow asks for ECN from its host and lets the server accept
// it: through a CE-marking queue the flow sees marks instead of drops. ecn
// off (the zero config's default) gets drops.
func TestFlowECN(t *testing.T) {
	src := func(ecn string) string {
		return `
hosts:
  - {name: a}
  - {name: b, listen: [{port: 9}]}
links:
  - {name: l, a: a, b: b, rate: 10mbit, delay: 10ms, qdisc: "pfifo limit 200 ecn_threshold 20"}
flows:
  - {from: a, to: b, port: 9, size: 2MB` + ecn + `}
`
	}
	marks := func(res *Result) (uint64, uint64) {
		st := res.Links[0].Stats(0)
		return st.ECNMarked, st.DropQueue
	}
	on := runOK(t, src(", ecn: on"))
	p, _ := parseOK(t, src(", ecn: on")).plan(1)
	if a, b := p.byName["a"].tcp.ECN, p.byName["b"].tcp.ECN; a != stack.ECNOn || b != stack.ECNPassive {
		t.Errorf("ECN of a %d, b %d; want on (1) and accept (2)", a, b)
	}
	if m, d := marks(on); m == 0 || d != 0 {
		t.Errorf("ecn on: %d marks, %d drops; want marks and no drops", m, d)
	}
	off := runOK(t, src(""))
	if m, _ := marks(off); m != 0 {
		t.Errorf("without ECN: %d marks", m)
	}
}

// A flow that asks for ECN towards a host whose ECN is off is an error
// before the run, at the host's field.
func TestFlowECNToHostWithout(t *testing.T) {
	err := parseOK(t, `
hosts:
  - {name: a}
  - {name: b, tcp: {ecn: off}, listen: [{port: 9}]}
links:
  - {name: l, a: a, b: b, rate: 10mbit, delay: 10ms}
flows:
  - {from: a, to: b, port: 9, size: 2MB, ecn: on}
`).Validate()
	if err == nil || !strings.Contains(err.Error(), "t.yaml:4:") || !strings.Contains(err.Error(), "hosts[1].tcp.ecn: off, but a flow to host b asks for ECN (ecn: on)") {
		t.Errorf("got %v", err)
	}
}

package scenario

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim"
)

// parseOK decodes src and fails the test on an error.
func parseOK(t *testing.T, src string) *Scenario {
	t.Helper()
	s, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

// Decoding errors name the file, line, column and field, and say what was
// expected.
func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"bad unit", "links:\n  - a: x\n    rate: 10mbot\n",
			`t.yaml:3:11: links[0].rate: "10mbot": want a rate with a unit, such as 10mbit, 512kbit or 1gbit`},
		{"unknown field", "links:\n  - a: x\n    rat: 10mbit\n",
			`t.yaml:3:5: links[0].rat: unknown field "rat"; want one of: a, a_address, ab, b, b_address, ba, corrupt, delay,`},
		{"wrong type", "flows:\n  - port: abc\n",
			`t.yaml:2:11: flows[0].port: "abc": want a whole number`},
		{"percent out of range", "links:\n  - {a: x, b: y, loss: 120%}\n",
			`t.yaml:2:24: links[0].loss: "120%": must be between 0% and 100%`},
		{"duration", "flows:\n  - start: soon\n",
			`t.yaml:2:12: flows[0].start: "soon": want a duration such as 25ms, 1.5s or 2m`},
		{"nested unknown", "links:\n  - a: x\n    ab: {rate: 1mbit, los: 1%}\n",
			`t.yaml:3:23: links[0].ab.los: unknown field "los"; want one of: corrupt, delay, distribution,`},
		{"list for a mapping", "hosts: 3\n",
			`t.yaml:1:8: hosts: "3": want a list`},
		{"syntax", "hosts:\n  - name: a\n   bad: [\n",
			`t.yaml:3:`},
		{"top level", "- a\n- b\n", `t.yaml:1:1: want a mapping`},
		{"size", "flows:\n  - size: 1.5B\n", `t.yaml:2:11: flows[0].size: "1.5B": not a whole number of bytes`},
		{"tag", "name: x\nlinks:\n  ! 0\n", `t.yaml:3:3: links: YAML tag !: scenario files use no tags`},
		{"switch", "hosts:\n  - tcp: {timestamps: maybe}\n", `t.yaml:2:23: hosts[0].tcp.timestamps: "maybe": want on or off`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T %v is not Errors", err, err)
			}
			if got := err.Error(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("got  %s\nwant %s…", got, tc.want)
			}
		})
	}
}

// A valid base the validation cases break one thing in.
const base = `
hosts:
  - name: client
  - name: server
    listen: [{port: 80, app: http}, {port: 5001}]
routers:
  - name: r1
links:
  - {a: client, b: r1, rate: 10mbit, delay: 5ms}
  - {a: r1, b: server, rate: 10mbit, delay: 5ms}
flows:
  - {from: client, to: server, port: 5001, size: 100KB}
`

// An impossible scenario is rejected before it runs, each problem with its
// position and field.
func TestValidationErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to string // replace in base
		want     string
	}{
		{"unknown host", "to: server, port: 5001", "to: sever, port: 5001",
			`t.yaml:12:24: flows[0].to: "sever": no host has this name (known: client, server, r1)`},
		{"unknown link end", "{a: r1, b: server,", "{a: r1, b: srv,",
			`t.yaml:10:16: links[1].b: "srv": no host or router has this name`},
		{"no listener", "port: 5001, size", "port: 5002, size",
			`t.yaml:12:38: flows[0].port: 5002: host server does not listen on it (add {port: 5002, app: sink} to its listen list)`},
		{"wrong app", "port: 5001, size: 100KB}", "port: 80, size: 100KB}",
			`t.yaml:12:38: flows[0].port: bulk: host server's port 80 serves http; a flow of app bulk needs sink`},
		{"same address", "{a: r1, b: server, rate", "{a: r1, b: server, a_address: 10.0.0.1/24, rate",
			`t.yaml:10:35: links[1].a_address: address 10.0.0.1 is already used by links[0].a_address`},
		{"flow to a router", "to: server, port", "to: r1, port",
			`t.yaml:12:24: flows[0].to: "r1" is a router: flows run between hosts`},
		{"no route", "  - name: r1\nlinks:\n  - {a: client, b: r1, rate: 10mbit, delay: 5ms}\n  - {a: r1,", "  - name: r1\n  - name: r2\nlinks:\n  - {a: client, b: r1, rate: 10mbit, delay: 5ms}\n  - {a: r2,",
			`t.yaml:13:24: flows[0].to: no route from client to server (10.0.1.2): r1 has no route to 10.0.1.2 (path client → r1)`},
		{"duplicate name", "  - name: r1\n", "  - name: client\n",
			`t.yaml:7:11: routers[0].name: "client" is already the name of hosts[0]`},
		{"missing size", ", size: 100KB}", "}",
			`t.yaml:12:5: flows[0].size: missing or zero`},
		{"reorder without delay", "{a: client, b: r1, rate: 10mbit, delay: 5ms}", "{a: client, b: r1, reorder: 5%}",
			`t.yaml:9:33: links[0].reorder: 5% needs a non-zero delay`},
		{"profile conflict", "size: 100KB}\n", "size: 100KB, profile: linux}\n  - {from: client, to: server, port: 5001, size: 1KB, profile: rfc}\n",
			`flows[1].profile: rfc, but host client has profile linux (flows[0].profile)`},
		{"unknown profile", "size: 100KB}", "size: 100KB, profile: bsd}",
			`flows[0].profile: "bsd": want linux or rfc`},
		{"ecn conflict", "size: 100KB}\n", "size: 100KB, ecn: on}\n  - {from: client, to: server, port: 5001, size: 1KB, ecn: off}\n",
			`flows[1].ecn: off, but host client's ECN is on (flows[0].ecn)`},
		{"ecn off with dctcp", "size: 100KB}", "size: 100KB, cc: dctcp, ecn: off}",
			`flows[0].ecn: off, but host client runs an algorithm that needs ECN (dctcp)`},
		{"unknown cc", "size: 100KB}", "size: 100KB, cc: bbr9}",
			`t.yaml:12:61: flows[0].cc: "bbr9": want newreno or cubic or dctcp or bbr`},
		{"event on unknown link", "flows:", "events:\n  - {at: 1s, link_down: nowhere}\nflows:",
			`t.yaml:12:25: events[0].link_down: "nowhere": no link has this name (links: client-r1, r1-server)`},
		{"two actions", "flows:", "events:\n  - {at: 1s, link_down: client-r1, heal: true}\nflows:",
			`t.yaml:12:5: events[0]: want exactly one of link_down, link_up, partition, heal, set, crash, restart (got 2)`},
		{"unknown qdisc", "{a: client, b: r1, rate: 10mbit, delay: 5ms}", "{a: client, b: r1, rate: 10mbit, delay: 5ms, qdisc: fq_codle}",
			`t.yaml:9:57: links[0].qdisc: qdisc = "fq_codle" (unknown; known: pfifo, bfifo, red, codel, fq_codel, pie)`},
		{"qdisc and queue", "{a: client, b: r1, rate: 10mbit, delay: 5ms}", "{a: client, b: r1, rate: 10mbit, delay: 5ms, queue: 10, qdisc: codel}",
			`links[0].qdisc: "codel" with queue or queue_bytes: the discipline has its own limit`},
		{"bad qdisc parameter", "{a: client, b: r1, rate: 10mbit, delay: 5ms}", "{a: client, b: r1, rate: 10mbit, delay: 5ms, qdisc: codel target -5ms}",
			`links[0].qdisc: `},
		{"host without link", "  - name: server\n", "  - name: lonely\n  - name: server\n",
			`t.yaml:4:11: hosts[1].name: host "lonely" has no link`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(base, tc.from) {
				t.Fatalf("base has no %q", tc.from)
			}
			src := strings.Replace(base, tc.from, tc.to, 1)
			s := parseOK(t, src)
			err := s.Validate()
			if err == nil {
				t.Fatalf("no error for\n%s", src)
			}
			if got := err.Error(); !strings.Contains(got, tc.want) {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			// Run refuses it too, without running anything.
			if res, err := Run(s, Options{}); err == nil || res != nil {
				t.Errorf("Run ran an invalid scenario: %v", err)
			}
		})
	}
	if err := parseOK(t, base).Validate(); err != nil {
		t.Fatalf("the base scenario is invalid: %v", err)
	}
}

// A scenario written as a Go value runs as its YAML form does; errors then
// name the field without a position.
func TestGoValue(t *testing.T) {
	s := &Scenario{
		Hosts: []Host{{Name: "a"}, {Name: "b", Listen: []Listen{{Port: 9}}}},
		Links: []Link{{A: "a", B: "b", Dir: Dir{Rate: 100e6, Delay: Duration(time.Millisecond)}}},
		Flows: []Flow{{From: "a", To: "b", Port: 9, Size: 50e3}},
	}
	res, err := Run(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 0 || res.Flows[0].Bytes != 50e3 {
		t.Fatalf("flow: %+v", res.Flows[0])
	}
	s.Flows[0].To = "c"
	if err := s.Validate(); err == nil || err.Error() != `flows[0].to: "c": no host has this name (known: a, b)` {
		t.Fatalf("got %v", err)
	}
}

// chain is h1 - r1 - r2 - h2 with a 2 ms, 10 Mbit/s link between the
// routers.
const chain = `
seed: 3
hosts:
  - name: h1
  - name: h2
    listen: [{port: 5001}, {port: 80, app: http}]
routers: [{name: r1}, {name: r2}]
links:
  - {a: h1, b: r1, rate: 100mbit, delay: 1ms}
  - {name: core, a: r1, b: r2, rate: 10mbit, delay: 2ms}
  - {a: r2, b: h2, rate: 100mbit, delay: 1ms}
flows:
  - {from: h1, to: h2, port: 5001, size: 300KB}
  - {from: h1, to: h2, port: 80, size: 200KB, app: http_get, start: 10ms}
`

func runOK(t *testing.T, src string) *Result {
	t.Helper()
	res, err := Run(parseOK(t, src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatalf("run: %v", res.Err)
	}
	return res
}

// Routes found by breadth-first search carry the flows through two
// routers; the same network with routing: static needs its routes given.
func TestRoutesViaRouters(t *testing.T) {
	res := runOK(t, chain)
	for _, f := range res.Flows {
		if f.Err != nil || f.Flow == nil {
			t.Fatalf("%s: %v", f.Name, f.Err)
		}
		if _, ok := f.Flow.CompletionTime(); !ok {
			t.Errorf("%s did not complete", f.Name)
		}
	}
	if res.Flows[0].Bytes != 300e3 || res.Flows[1].Bytes != 200e3 {
		t.Errorf("bytes: bulk %d, http_get %d", res.Flows[0].Bytes, res.Flows[1].Bytes)
	}
	core := res.Links[1]
	if core.Name() != "core" || core.Stats(0).Delivered < 200 || core.Stats(1).Delivered < 100 {
		t.Errorf("link %s carried %d and %d packets", core.Name(), core.Stats(0).Delivered, core.Stats(1).Delivered)
	}
	// The analyzer counts each packet once, where a host sends it, not
	// again at every router.
	if p := res.Flows[0].Flow.Dir[0].Packets; p > 300 {
		t.Errorf("bulk flow: %d packets counted for 300KB", p)
	}
	if r := res.Flows[0].Flow.Dir[0].Retrans; r != 0 {
		t.Errorf("bulk flow: %d retransmissions without loss", r)
	}

	static := strings.Replace(chain, "seed: 3", "seed: 3\nrouting: static", 1)
	if err := parseOK(t, static).Validate(); err == nil || !strings.Contains(err.Error(), "no route from h1 to h2") {
		t.Fatalf("static routing without routes: %v", err)
	}
	static += `routes:
  - {node: r1, to: h2, via: r2}
  - {node: r2, to: 10.0.0.0/24, via: r1}
`
	res = runOK(t, static)
	if res.Failed() != 0 {
		t.Fatalf("static routes: %v", res.Flows[0].Err)
	}
	// A static route that points back makes a loop, found before the run.
	loop := strings.Replace(static, "{node: r2, to: 10.0.0.0/24, via: r1}", "{node: r2, to: h2, via: r1}", 1)
	if err := parseOK(t, loop).Validate(); err == nil || !strings.Contains(err.Error(), "routing loop") {
		t.Fatalf("loop: %v", err)
	}
}

// A partition between 0.2 s and 1.2 s cuts a running bulk flow: it
// retransmits, its lost packets are counted as "link-down" drops, and it
// completes after the heal. Without the events it does not retransmit.
func TestPartitionMakesFlowRetransmit(t *testing.T) {
	const src = `
hosts:
  - name: a
  - name: b
    listen: [{port: 5001}]
routers: [{name: r}]
links:
  - {a: a, b: r, rate: 10mbit, delay: 5ms}
  - {a: r, b: b, rate: 10mbit, delay: 5ms}
flows:
  - {from: a, to: b, port: 5001, size: 1MB}
`
	calm := runOK(t, src)
	cf := calm.Flows[0].Flow
	if calm.Failed() != 0 || cf.Dir[0].Retrans != 0 {
		t.Fatalf("without events: err %v, %d retransmissions", calm.Flows[0].Err, cf.Dir[0].Retrans)
	}
	res := runOK(t, src+"events:\n  - {at: 200ms, partition: [b]}\n  - {at: 1200ms, heal: true}\n")
	fr := res.Flows[0]
	if fr.Err != nil {
		t.Fatalf("flow failed: %v", fr.Err)
	}
	f := fr.Flow
	if f.Dir[0].Retrans == 0 || f.Dir[0].DropReasons["link-down"] == 0 {
		t.Errorf("partitioned flow: %d retransmissions, drops %v", f.Dir[0].Retrans, f.Dir[0].DropReasons)
	}
	cfct, _ := cf.CompletionTime()
	fct, ok := f.CompletionTime()
	if !ok || fct < cfct+time.Second {
		t.Errorf("completion: %v with the partition, %v without", fct, cfct)
	}
	// Link down and up on the same link do the same.
	res = runOK(t, src+"events:\n  - {at: 200ms, link_down: r-b}\n  - {at: 1200ms, link_up: r-b}\n")
	if f := res.Flows[0].Flow; res.Failed() != 0 || f.Dir[0].DropReasons["link-down"] == 0 {
		t.Errorf("link down: err %v, drops %v", res.Flows[0].Err, f.Dir[0].DropReasons)
	}
}

// A rate change makes the rest of a transfer slower; a crash silences the
// server, so its flow cannot finish and the run stops at the time limit.
func TestRateChangeAndCrash(t *testing.T) {
	const src = `
timeout: 20s
hosts:
  - name: a
  - name: b
    listen: [{port: 5001}]
links:
  - {name: l, a: a, b: b, rate: 10mbit, delay: 5ms, queue: 100}
flows:
  - {from: a, to: b, port: 5001, size: 2MB}
`
	fast := runOK(t, src)
	slow := runOK(t, src+"events:\n  - {at: 200ms, set: {link: l, dir: ab, rate: 2mbit, delay: 20ms}}\n")
	ffct, _ := fast.Flows[0].Flow.CompletionTime()
	sfct, ok := slow.Flows[0].Flow.CompletionTime()
	// 2 MB at 10 Mbit/s is 1.6 s; most of it at 2 Mbit/s is about 7 s.
	if !ok || ffct > 2500*time.Millisecond || sfct < 5*time.Second {
		t.Errorf("completion at 10mbit %v, after the change to 2mbit %v", ffct, sfct)
	}
	crash, err := Run(parseOK(t, src+"events:\n  - {at: 300ms, crash: b}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(crash.Err, sim.ErrTimeLimit) || crash.Failed() != 1 || !errors.Is(crash.Flows[0].Err, ErrFlowIncomplete) {
		t.Fatalf("crash: run %v, flow %v", crash.Err, crash.Flows[0].Err)
	}
	if d := crash.Flows[0].Flow.Dir[0].DropReasons["crash"]; d == 0 {
		t.Errorf("crash: no packets dropped as crash: %v", crash.Flows[0].Flow.Dir[0].DropReasons)
	}
}

// Arrival processes: fixed spreads the flows evenly; poisson draws
// exponential gaps from its seed, the same every time.
func TestArrivals(t *testing.T) {
	const src = `
hosts:
  - name: a
  - name: b
    listen: [{port: 7}]
links: [{a: a, b: b, rate: 100mbit, delay: 1ms}]
flows:
  - {name: even, from: a, to: b, port: 7, size: 10KB, count: 4, start: 1s, arrival: {process: fixed, over: 2s}}
  - {name: random, from: a, to: b, port: 7, size: 10KB, count: 50, arrival: {process: poisson, mean_gap: 100ms, seed: 9}}
`
	res := runOK(t, src)
	if len(res.Flows) != 54 || res.Failed() != 0 {
		t.Fatalf("%d flows, %d failed", len(res.Flows), res.Failed())
	}
	for i, want := range []time.Duration{1000, 1500, 2000, 2500} {
		if f := res.Flows[i]; f.Start != want*time.Millisecond || f.Name != "even#"+string(rune('1'+i)) || f.Flow.SYNAt != f.Start {
			t.Errorf("flow %d: %s starts at %v (SYN %v), want %v", i, f.Name, f.Start, f.Flow.SYNAt, want*time.Millisecond)
		}
	}
	var sum time.Duration
	prev := time.Duration(0)
	for _, f := range res.Flows[4:] {
		if f.Start < prev {
			t.Fatalf("poisson starts go back: %v after %v", f.Start, prev)
		}
		sum += f.Start - prev
		prev = f.Start
	}
	if mean := sum / 50; mean < 60*time.Millisecond || mean > 150*time.Millisecond {
		t.Errorf("mean gap %v, want about 100ms", mean)
	}
	again := runOK(t, src)
	for i := range res.Flows {
		if res.Flows[i].Start != again.Flows[i].Start {
			t.Fatalf("flow %d starts at %v, then at %v", i, res.Flows[i].Start, again.Flows[i].Start)
		}
	}
}

// Inputs that must never panic: every decoded or hand-made scenario either
// runs or is rejected.
func TestNoPanic(t *testing.T) {
	for _, src := range []string{
		"", "{}", "hosts: [{}]", "links: [{}]", "flows: [{}]", "events: [{}]", "routes: [{}]",
		"hosts: [{name: a}]\nlinks: [{a: a, b: a}]",
		"hosts: [{name: a, listen: [{port: 0}]}]",
		"links: [{a: x, b: y, ab: {}, ba: {}, rate: 1mbit}]",
		"events: [{at: 1s, partition: []}]",
		"events: [{at: 1s, heal: true}]",
		"flows: [{count: -1, arrival: {process: poisson}}]",
		"flows: [{arrival: {process: uniform}}]",
		"hosts: [{name: a}, {name: b, listen: [{port: 1}]}]\nlinks: [{a: a, b: b, a_address: 10.0.0.0/24}]\nflows: [{from: a, to: b, port: 1, size: 1}]",
		"hosts: [{name: a}, {name: b, listen: [{port: 1}]}]\nlinks: [{a: a, b: b, mtu: 20}]",
	} {
		s, err := Parse("t.yaml", []byte(src))
		if err != nil {
			continue
		}
		tryRun(t, src, s)
	}
	// Go values can hold what YAML cannot: negative numbers everywhere.
	hosts := func() []Host { return []Host{{Name: "a"}, {Name: "b", Listen: []Listen{{Port: 1}}}} }
	link := func(d Dir) []Link { return []Link{{A: "a", B: "b", Dir: d}} }
	flow := []Flow{{From: "a", To: "b", Port: 1, Size: 1}}
	minus := Duration(-time.Second)
	negRate := Rate(-1)
	for i, s := range []*Scenario{
		nil,
		&Scenario{Hosts: hosts(), Links: link(Dir{Delay: minus}), Flows: flow},
		&Scenario{Hosts: hosts(), Links: link(Dir{Rate: -5, Queue: -1, QueueBytes: -1, Loss: 2, Jitter: minus}), Flows: flow},
		&Scenario{Hosts: hosts(), Links: link(Dir{}), Flows: []Flow{{From: "a", To: "b", Port: 1, Size: -1, Start: minus, Count: -3}}},
		&Scenario{Hosts: hosts(), Links: link(Dir{}), Flows: []Flow{{From: "a", To: "b", Port: 1, Size: 1, Count: 2, Arrival: &Arrival{Process: "fixed", Over: minus}}}},
		&Scenario{Hosts: hosts(), Links: link(Dir{}), Flows: flow, Events: []Event{{At: minus, Heal: true}}},
		&Scenario{Hosts: hosts(), Links: link(Dir{}), Flows: flow, Events: []Event{{At: 1, Set: &LinkChange{Link: "a-b", Rate: &negRate, Delay: &minus}}}},
		&Scenario{Hosts: hosts(), Links: link(Dir{LossGE: &GE{P: -1}, ReorderDelay: &ReorderDelay{P: 3, Delay: minus}}), Flows: flow},
		&Scenario{Hosts: []Host{{Name: "a", TCP: TCP{SendBuffer: -1}}, {Name: "b", Listen: []Listen{{Port: -1}}}}, Links: link(Dir{}), Flows: flow},
	} {
		if err := s.Validate(); err == nil && s != nil {
			t.Errorf("Go value %d is valid", i)
		}
		if res, err := Run(s, Options{Timeout: time.Second}); err == nil || res != nil {
			t.Errorf("Go value %d ran: %v", i, err)
		}
	}
}

func tryRun(t *testing.T, src string, s *Scenario) {
	t.Helper()
	if err := s.Validate(); err == nil {
		if _, err := Run(s, Options{Timeout: time.Second}); err != nil {
			t.Errorf("%q: valid, but Run: %v", src, err)
		}
	}
}

// A link's settings map onto sim.DirConfig: shared settings for both
// directions, ab and ba replacing them one way, faults in netem's order,
// addresses by link number.
func TestLinkSettings(t *testing.T) {
	s := parseOK(t, `
hosts: [{name: a}, {name: b}, {name: c}]
links:
  - {a: a, b: b, rate: 10mbit, delay: 5ms, jitter: 1ms, distribution: normal, queue: 20, queue_bytes: 30KB, mtu: 9000,
     reorder_delay: {p: 1%, delay: 3ms}, reorder: 2%, gap: 3, corrupt: 0.1%, duplicate: 1%, loss_ge: {p: 1%, r: 30%}, loss: 0.5%}
  - {a: b, b: c, b_address: 192.168.9.7/16, rate: 1gbit, ba: {rate: 2mbit, delay: 30ms, loss: 1}}
`)
	p, err := s.plan(1)
	if err != nil {
		t.Fatal(err)
	}
	l0, l1 := p.links[0], p.links[1]
	want := sim.DirConfig{Delay: 5 * time.Millisecond, Jitter: time.Millisecond, Distribution: sim.Normal, Rate: 10e6,
		QueuePackets: 20, QueueBytes: 30e3, MTU: 9000, Faults: []sim.Fault{
			sim.Loss{P: 0.005}, sim.GilbertElliott{P: 0.01, R: 0.3, BadLoss: 1}, sim.Duplicate{P: 0.01}, sim.Corrupt{P: 0.001},
			sim.Reorder{P: 0.02, Gap: 3}, sim.ReorderDelay{P: 0.01, Delay: 3 * time.Millisecond}}}
	for d := range 2 {
		if !reflect.DeepEqual(l0.dir[d], want) {
			t.Errorf("link 0 direction %d:\n got %+v\nwant %+v", d, l0.dir[d], want)
		}
	}
	q := parseOK(t, `
hosts: [{name: a}, {name: b}]
links:
  - {a: a, b: b, ab: {rate: 10mbit, qdisc: "fq_codel"}, ba: {rate: 10mbit, qdisc: "codel target 2ms ecn"}}
`)
	qp, err := q.plan(1)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := qp.links[0].dir[0].Qdisc.(sim.FQCoDel); !ok {
		t.Errorf("ab qdisc %#v, want fq_codel", qp.links[0].dir[0].Qdisc)
	} else if got != (sim.FQCoDel{}) {
		t.Errorf("ab fq_codel %+v, want the defaults (the zero value)", got)
	}
	if got, ok := qp.links[0].dir[1].Qdisc.(sim.CoDel); !ok || got.Target != 2*time.Millisecond || !got.ECN {
		t.Errorf("ba qdisc %#v, want codel target 2ms ecn", qp.links[0].dir[1].Qdisc)
	}
	if got := l1.dir[0]; got.Rate != 1e9 || got.Delay != 0 || len(got.Faults) != 0 {
		t.Errorf("link 1 ab: %+v", got)
	}
	if got := l1.dir[1]; got.Rate != 2e6 || got.Delay != 30*time.Millisecond || !reflect.DeepEqual(got.Faults, []sim.Fault{sim.Loss{P: 0.01}}) {
		t.Errorf("link 1 ba replaces the shared settings: %+v", got)
	}
	if l0.addr[0].String() != "10.0.0.1/24" || l0.addr[1].String() != "10.0.0.2/24" || l1.addr[0].String() != "10.0.1.1/24" || l1.addr[1].String() != "192.168.9.7/16" {
		t.Errorf("addresses %v %v", l0.addr, l1.addr)
	}
}

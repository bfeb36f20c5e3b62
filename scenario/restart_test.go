package scenario

import (
	"strings"
	"testing"
	"time"
)

const restartSrc = `
timeout: 60s
hosts:
  - name: a
  - name: b
    listen: [{port: 9}, {port: 80, app: http}]
links:
  - {name: l, a: a, b: b, rate: 10mbit, delay: 5ms, queue: 100}
flows:
  - {name: before, from: a, to: b, port: 9, size: 5MB}
  - {name: after, from: a, to: b, port: 9, size: 200KB, start: 2s}
  - {name: page, from: a, to: b, port: 80, app: http_get, size: 50KB, start: 2.5s}
events:
  - {at: 300ms, crash: b}
  - {at: 1s, restart: b}
`

// A host that crashes and restarts: the flow in progress fails (the fresh
// stack answers its segments with a reset), flows started after the
// restart reach the fresh stack's servers and complete, and the run ends.
func TestCrashRestart(t *testing.T) {
	res, err := Run(parseOK(t, restartSrc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatalf("run: %v", res.Err)
	}
	before, after, page := &res.Flows[0], &res.Flows[1], &res.Flows[2]
	if before.Err == nil || !strings.Contains(before.Err.Error(), "reset") {
		t.Errorf("the flow through the crash: %v, want a reset", before.Err)
	}
	if before.Flow == nil || before.Flow.Dir[0].DropReasons["crash"] == 0 || before.Flow.Resets == 0 {
		t.Errorf("the flow through the crash: %+v", before.Flow)
	}
	if after.Err != nil || after.Bytes != 200_000 || page.Err != nil || page.Bytes != 50_000 {
		t.Errorf("after the restart: %v %d bytes; %v %d bytes", after.Err, after.Bytes, page.Err, page.Bytes)
	}
	if res.End > 10*time.Second {
		t.Errorf("the run ended at %v", res.End)
	}
	// The same seed, the same run.
	again, _ := Run(parseOK(t, restartSrc), Options{})
	if again.End != res.End || again.Flows[0].Flow.Dir[0].Packets != before.Flow.Dir[0].Packets {
		t.Errorf("two runs differ: %v %v", again.End, res.End)
	}
}

// The crashed client's flow fails at the restart, not at the time limit.
func TestClientRestart(t *testing.T) {
	src := strings.Replace(strings.Replace(restartSrc, "crash: b", "crash: a", 1), "restart: b", "restart: a", 1)
	res, err := Run(parseOK(t, src), Options{})
	if err != nil || res.Err != nil {
		t.Fatalf("%v %v", err, res.Err)
	}
	if f := res.Flows[0]; f.Err == nil || res.Flows[1].Err != nil || res.Flows[2].Err != nil {
		t.Errorf("flows: %v, %v, %v", f.Err, res.Flows[1].Err, res.Flows[2].Err)
	}
}

func TestRestartErrors(t *testing.T) {
	base := "hosts: [{name: a}, {name: b}]\nrouters: [{name: r}]\nlinks: [{a: a, b: r}, {a: r, b: b}]\n"
	for _, tc := range []struct{ events, want string }{
		{"events:\n  - {at: 1s, restart: b}\n", `t.yaml:5:23: events[0].restart: "b" is not crashed at 1s`},
		{"events:\n  - {at: 1s, restart: r}\n", `events[0].restart: "r" is a router`},
		{"events:\n  - {at: 1s, restart: z}\n", `events[0].restart: "z": no host has this name`},
		{"events:\n  - {at: 2s, restart: a}\n  - {at: 1s, crash: a}\n  - {at: 3s, restart: a}\n", `events[2].restart: "a" is not crashed at 3s`},
		{"events:\n  - {at: 1s, crash: a, restart: a}\n", "want exactly one of link_down, link_up, partition, heal, set, crash, restart (got 2)"},
	} {
		s := parseOK(t, base+tc.events)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.events, err, tc.want)
		}
	}
	// crash, restart, crash again: valid.
	if err := parseOK(t, base+"events:\n  - {at: 1s, crash: a}\n  - {at: 2s, restart: a}\n  - {at: 3s, crash: a}\n").Validate(); err != nil {
		t.Error(err)
	}
}

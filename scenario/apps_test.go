package scenario

import (
	"strings"
	"testing"
	"time"
)

const appsBase = `
timeout: 60s
sample: 100ms
hosts:
  - name: a
    tcp: {sndbuf: 16KiB}
  - name: b
    listen: [{port: 9}, {port: 80, app: http}]
links:
  - {name: l, a: a, b: b, rate: 10mbit, delay: 5ms, queue: 100}
flows:
`

// bulk with a duration sends for that long at about the link's rate.
func TestBulkDuration(t *testing.T) {
	res := runOK(t, appsBase+"  - {from: a, to: b, port: 9, duration: 2s}\n")
	f := res.Flows[0]
	// 10 Mbit/s for 2 s is 2.5 MB on the wire; the payload a little less.
	if f.Err != nil || f.Bytes < 2_000_000 || f.Bytes > 2_500_000 {
		t.Fatalf("%v, %d bytes", f.Err, f.Bytes)
	}
	if last := f.Flow.Dir[0].LastData; last < 2*time.Second || last > 2300*time.Millisecond {
		t.Errorf("last data at %v, want just after 2s", last)
	}
}

// request_response makes its requests on one connection, think apart, and
// receives every response whole.
func TestRequestResponse(t *testing.T) {
	res := runOK(t, appsBase+"  - {from: a, to: b, port: 80, app: request_response, requests: 5, size: 20KB, think: 200ms}\n")
	f := res.Flows[0]
	if f.Err != nil || f.Bytes != 100_000 {
		t.Fatalf("%v, %d bytes", f.Err, f.Bytes)
	}
	if n := len(res.Series.Conns()); n != 2 {
		t.Errorf("%d connections sampled, want one each side", n)
	}
	if f.Flow.Dir[0].SYNs != 1 || f.Flow.Dir[1].Payload < 100_000 {
		t.Errorf("one connection: %d SYNs, server sent %d bytes", f.Flow.Dir[0].SYNs, f.Flow.Dir[1].Payload)
	}
	// Four thinks of 200 ms between five exchanges of about an RTT each.
	if d := f.Flow.LastAt - f.Flow.SYNAt; d < 800*time.Millisecond || d > 1200*time.Millisecond {
		t.Errorf("the connection lasted %v", d)
	}
}

// on_off sends in bursts: the link carries the client's data in the on
// periods and nothing (or almost) in the off periods.
func TestOnOff(t *testing.T) {
	res := runOK(t, appsBase+"  - {from: a, to: b, port: 9, app: on_off, on: 300ms, off: 700ms, duration: 4s}\n")
	f := res.Flows[0]
	if f.Err != nil || f.Bytes < 300_000 {
		t.Fatalf("%v, %d bytes", f.Err, f.Bytes)
	}
	ab := res.Series.Links()[0]
	var onPkts, offPkts uint64
	for _, p := range ab.Points {
		phase := (p.At - p.Interval) % time.Second
		if p.At > 4*time.Second {
			break
		}
		switch {
		case phase < 300*time.Millisecond:
			onPkts += p.Sent
		case phase >= 400*time.Millisecond:
			offPkts += p.Sent
		}
	}
	if onPkts < 200 || offPkts*20 > onPkts {
		t.Errorf("packets a→b: %d in on periods, %d in off periods", onPkts, offPkts)
	}
}

func TestAppErrors(t *testing.T) {
	for _, tc := range []struct{ flow, want string }{
		{"{from: a, to: b, port: 9, app: ftp, size: 1KB}", `flows[0].app: "ftp": want bulk, http_get, request_response or on_off`},
		{"{from: a, to: b, port: 9, size: 1KB, duration: 1s}", "flows[0].duration: and size are exclusive"},
		{"{from: a, to: b, port: 80, app: http_get, duration: 1s}", "flows[0].duration: applies to bulk and on_off; http_get asks for size bytes"},
		{"{from: a, to: b, port: 9}", "flows[0].size: missing or zero: the bytes to send, such as 10MB (or a duration"},
		{"{from: a, to: b, port: 9, app: on_off, duration: 1s}", "flows[0].on: missing or zero"},
		{"{from: a, to: b, port: 9, size: 1KB, think: 1s}", "flows[0].think: applies to request_response"},
		{"{from: a, to: b, port: 80, app: request_response, size: 1KB, requests: -2}", "flows[0].requests: -2: want 1 to"},
		{"{from: a, to: b, port: 9, app: request_response, size: 1KB}", "flows[0].app: request_response: host b's port 9 serves sink; a flow of app request_response needs http"},
		{"{from: a, to: b, port: 80, app: on_off, on: 1s, off: 1s, size: 1MB}", "flows[0].app: on_off: host b's port 80 serves http; a flow of app on_off needs sink"},
	} {
		err := parseOK(t, appsBase+"  - "+tc.flow+"\n").Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.flow, err, tc.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "t.yaml:") {
			t.Errorf("%s: %v has no file position", tc.flow, err)
		}
	}
}

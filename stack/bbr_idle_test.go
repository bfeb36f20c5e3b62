package stack

import (
	"testing"
	"time"
)

// BBRHandleRestartFromIdle, on the path of TestBBRStateMachine (max_bw
// 1.1 MB/s, min_rtt 100 ms). In ProbeBW UP BBR paces at 1.25 × 1.1 MB/s ×
// 99 % = 1361250 B/s. A send with data in flight, or with nothing in
// flight but the sender not app-limited, changes nothing; new data leaving
// an app-limited, empty pipe sets idle_restart and paces at 1 × 1.1 MB/s ×
// 99 % = 1089000 B/s. With the min RTT 6 s old, the ACK that clears
// idle_restart does not enter ProbeRTT, and the next does. In ProbeRTT an
// idle restart before its 200 ms are over changes nothing; one after them
// ends it (CRUISE) without waiting for the round, with cwnd restored to
// the one saved on entering it.
func TestBBRIdleRestart(t *testing.T) {
	d := newBBRDriver(t)
	cc := d.c.ccHandle()
	d.toCruise()
	for range 40 {
		if d.b.State() == "probe_bw_up" {
			break
		}
		d.round(1_000_000, 100*time.Millisecond, 100_000)
	}
	d.want("probe_bw_up", 1.25)
	wantRate := func(what string, want uint64) {
		t.Helper()
		if got := cc.PacingRate(); got != want {
			t.Fatalf("%s: pacing rate %d, want %d", what, got, want)
		}
	}
	wantRate("UP", 1_361_250)
	send := func(inflight uint32, appLimited bool) {
		d.c.sndMax = d.c.sndUna.Add(inflight)
		d.c.ccx.rate.appLimited = 0
		if appLimited {
			d.c.ccx.rate.appLimited = 1
		}
		d.b.OnSend(cc, d.c.sndMax, d.c.sndMax.Add(ccMSS))
	}
	send(50_000, true)
	send(0, false)
	if d.b.idleRestart {
		t.Fatal("idle_restart set with data in flight or without the application limiting")
	}
	wantRate("UP, not idle", 1_361_250)
	d.env.now += time.Second
	send(0, true)
	if !d.b.idleRestart || d.b.extraStart != d.env.now {
		t.Fatalf("idle restart: idle_restart %v, ACK-aggregation interval start %v; want true, %v", d.b.idleRestart, d.b.extraStart, d.env.now)
	}
	wantRate("restart from idle in UP", 1_089_000)

	d.b.probeRTTMinStamp = d.env.now - 6*time.Second
	d.inRound(1_000_000, 100*time.Millisecond, 30_000, nil)
	if d.b.State() == "probe_rtt" || d.b.idleRestart {
		t.Fatalf("the ACK after an idle restart: state %s, idle_restart %v; want no ProbeRTT, cleared", d.b.State(), d.b.idleRestart)
	}
	d.b.probeRTTMinStamp = d.env.now - 6*time.Second
	cwnd := d.c.cwnd
	d.inRound(1_000_000, 100*time.Millisecond, 30_000, nil)
	d.want("probe_rtt", 1)
	if d.b.priorCwnd != cwnd || d.b.probeRTTDone != d.env.now+bbrProbeRTTDuration {
		t.Fatalf("ProbeRTT: prior_cwnd %d, done at %v; want %d, %v", d.b.priorCwnd, d.b.probeRTTDone, cwnd, d.env.now+bbrProbeRTTDuration)
	}
	d.env.now += 100 * time.Millisecond
	send(0, true)
	d.want("probe_rtt", 1)
	d.env.now += 101 * time.Millisecond
	send(0, true)
	d.want("probe_bw_cruise", 1)
	if d.c.cwnd != cwnd || d.b.probeRTTMinStamp != d.env.now {
		t.Fatalf("ProbeRTT ended by an idle restart: cwnd %d, min-RTT stamp %v; want %d, %v", d.c.cwnd, d.b.probeRTTMinStamp, cwnd, d.env.now)
	}
}

// Idle restart end to end: a BBR client sends 300 kB bursts with 2 s of
// silence between them over a 10 ms path. Each burst's first segment
// leaves an app-limited, empty pipe: idle_restart is set as Write sends it
// and, in ProbeBW, the rate is 1 × bw × 99 % at that moment; the burst's
// ACKs clear it. The data arrives whole.
func TestBBRIdleRestartTransfer(t *testing.T) {
	p := newPair(t, 7, 10*time.Millisecond, faults{}, TCPConfig{MSL: time.Second, CongestionControl: CCBBR, SendBuffer: 1 << 20})
	l, err := p.b.Listen(80, 4)
	if err != nil {
		t.Fatal(err)
	}
	var srv *app
	l.SetNotify(func(Event) {
		if c, err := l.Accept(); err == nil {
			srv = newApp(c, nil)
		}
	})
	c, err := p.a.Connect(addrA, netipAP(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	if !p.n.run(time.Second, func() bool { return c.State() == StateEstablished && srv != nil }) {
		t.Fatal("no connection")
	}
	b := c.ccx.alg.(*bbr)
	const bursts, size = 8, 300_000
	restarts, inProbeBW := 0, 0
	for i := range bursts {
		p.n.run(p.n.now+2*time.Second, func() bool { return false }) // idle
		if n, err := c.Write(data(size)); err != nil || n != size {
			t.Fatalf("burst %d: Write %d, %v", i, n, err)
		}
		if b.idleRestart {
			restarts++
			if b.state == bbrProbeBW {
				inProbeBW++
				if want := uint64(float64(b.bw()) * bbrPacingMargin); c.ccHandle().PacingRate() != want {
					t.Errorf("burst %d: pacing %d B/s after the idle restart in %s, want 1 × bw × 0.99 = %d", i, c.ccHandle().PacingRate(), b.State(), want)
				}
			}
		}
		if !p.n.run(p.n.now+10*time.Second, func() bool { return c.sndUna == c.sndMax && srv.got == (i+1)*size }) {
			t.Fatalf("burst %d not delivered: server has %d bytes", i, srv.got)
		}
		if b.idleRestart {
			t.Fatalf("burst %d: idle_restart still set after its ACKs", i)
		}
	}
	t.Logf("%d of %d bursts restarted from idle, %d of them in ProbeBW", restarts, bursts, inProbeBW)
	if restarts < bursts-1 || inProbeBW == 0 {
		t.Fatalf("%d of %d bursts restarted from idle (%d in ProbeBW); want all but perhaps the first, some in ProbeBW", restarts, bursts, inProbeBW)
	}
}

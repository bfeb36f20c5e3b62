package tcptest

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

const hsPrefix = `set config window_scale off
set config recv_buffer 64000
0     listen
+0    < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 win 64000 <mss 1460>
+0.01 < . 1:1(0) ack 1 win 65535
+0    accept
`

func runSrc(t *testing.T, src string) error {
	t.Helper()
	s, err := ParseScript("x.pkt", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	_, err = RunScript(s)
	return err
}

// TestRunFailures checks that each kind of failed expectation fails the
// script at the right line with a message that says what happened.
func TestRunFailures(t *testing.T) {
	cases := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"segment differs", hsPrefix + "+0.1 < P. 1:101(100) ack 1 win 65535\n+0.04 > . 1:1(0) ack 101 win 1\n", 9, "mismatch in win"},
		{"segment early", hsPrefix + "+0.1 < P. 1:101(100) ack 1 win 65535\n+0.05 > . 1:1(0) ack 101 win 63900\n", 9, "0.01 s early"},
		{"segment late", hsPrefix + "+0.1 < P. 1:101(100) ack 1 win 65535\n+0.03 > . 1:1(0) ack 101 win 63900\n", 9, "sent nothing by 0.140000"},
		{"range too early", hsPrefix + "+0.1 < P. 1:101(100) ack 1 win 65535\n+0~+0.039 > . 1:1(0) ack 101 win 63900\n", 9, "sent nothing by 0.149000"},
		{"unexpected before inject", hsPrefix + "+0.1 < P. 1:101(100) ack 1 win 65535\n+1 < . 101:101(0) ack 1 win 65535\n", 9, "unexpected segment from the host at 0.150000"},
		{"unexpected at the end", hsPrefix + "+0.1 write 10\n", 8, "after the last line: unexpected segment"},
		{"nothing fails", hsPrefix + "+0.1 write 10\n+1 > nothing\n", 9, "expected nothing until 1.110000, but at 0.110000"},
		{"payload differs from what was written", hsPrefix + "+0.1 write 10\n+0 > P. 1:11(10) ack 1 win 64000 \"xxxxxxxxxx\"\n", 9, "mismatch in payload"},
		{"state", hsPrefix + "+0 state CLOSE_WAIT\n", 8, "state is ESTABLISHED, want CLOSE_WAIT"},
		{"read count", hsPrefix + "+0.1 < P. 1:6(5) ack 1 win 65535\n+0 read 10\n", 9, "read returned 5 bytes, want 10"},
		{"read count given", hsPrefix + "+0.1 < P. 1:6(5) ack 1 win 65535\n+0 read 10 = 4\n", 9, "read returned 5 bytes, want 4"},
		{"read text", hsPrefix + "+0.1 < P. 1:6(5) ack 1 win 65535 \"hello\"\n+0 read 10 = \"help\"\n", 9, `read returned "hello", want "help"`},
		{"read error", hsPrefix + "+0 read 10 = EOF\n", 8, "read returned EAGAIN"},
		{"read success expected", hsPrefix + "+0 read 10\n", 8, "read returned EAGAIN"},
		{"write count", "set config send_buffer 1000\n" + hsPrefix + "+0 write 2000\n", 9, "write took 1000 bytes, want 2000"},
		{"call succeeded", hsPrefix + "+0 close = ECONNRESET\n", 8, "close succeeded, want ECONNRESET"},
		{"accept without listen", "0 accept\n", 1, "accept without a listen"},
		{"write without conn", "0 write 1\n", 1, "write without a connection"},
		{"nodelay without conn", "0 nodelay\n", 1, "nodelay without a connection"},
		{"close without anything", "0 close\n", 1, "close without a connection or listener"},
		{"time goes back", hsPrefix + "0.001 write 1\n", 8, "before the current time"},
		{"listen twice", "0 listen\n+0 listen\n", 2, "listen returned"},
		{"host refuses the config", "set config rto_min 2\nset config rto_max 1\n0 listen\n", 1, "RTOMin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := runSrc(t, c.src)
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatalf("want a *RunError, got %v", err)
			}
			if re.File != "x.pkt" || re.Line != c.line || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("got:\n%v\nwant line %d and %q", err, c.line, c.msg)
			}
		})
	}
}

// TestRunErrorGolden fixes the full text of a failure: the line, both
// packets, the differing fields and the transcript.
func TestRunErrorGolden(t *testing.T) {
	err := runSrc(t, hsPrefix+"+0.1 < P. 1:101(100) ack 1 win 65535\n+0.04 > . 1:1(0) ack 100 win 1\n")
	if err == nil {
		t.Fatal("script passed")
	}
	golden(t, filepath.Join("testdata", "golden", "run_failure.txt"), err.Error()+"\n")
}

func TestConfigSettings(t *testing.T) {
	ok := map[string]string{
		"msl": "10", "rto_initial": "2", "rto_min": "0.1", "rto_max": "30", "delayed_ack": "off",
		"connect_timeout": "5", "fin_wait2_timeout": "3", "syn_retries": "2", "synack_retries": "2",
		"data_retries": "3", "send_buffer": "4000", "recv_buffer": "4000", "initial_window": "2",
		"nodelay": "on", "window_scale": "off", "ttl": "32", "seed": "9",
	}
	var cfg PeerConfig
	for name, v := range ok {
		if err := applyConfig(&cfg, ConfigSetting{Name: name, Value: v}); err != nil {
			t.Errorf("%s %s: %v", name, v, err)
		}
	}
	if cfg.TCP.MSL != 10*time.Second || cfg.TCP.DelayedAck != -1 || cfg.TCP.RTOMin != 100*time.Millisecond ||
		!cfg.TCP.NoDelay || !cfg.TCP.DisableWindowScale || cfg.TCP.TTL != 32 || cfg.Seed != 9 || cfg.TCP.SYNRetries != 2 {
		t.Errorf("cfg = %+v", cfg)
	}
	bad := map[string]string{
		"msl": "x", "syn_retries": "-1", "nodelay": "yes", "window_scale": "1", "ttl": "300", "seed": "-1", "colour": "red",
	}
	for name, v := range bad {
		if err := applyConfig(&cfg, ConfigSetting{Name: name, Value: v}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s %s: err = %v", name, v, err)
		}
	}
	// A config error in a Script built in code is reported by RunScript
	// at its line (ParseScript already rejects it, with its column).
	_, err := RunScript(&Script{Name: "t.pkt", Config: []ConfigSetting{{Name: "rto_min", Value: "fast", Line: 2}}})
	var re *RunError
	if !errors.As(err, &re) || re.Line != 2 || re.File != "t.pkt" {
		t.Errorf("err = %v", err)
	}
}

func TestPeerClock(t *testing.T) {
	p, err := NewPeer(PeerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Sleep(time.Second); err != nil || p.Now() != time.Second {
		t.Fatalf("sleep: %v, now %v", err, p.Now())
	}
	if err := p.AdvanceTo(time.Millisecond); err == nil {
		t.Error("the clock moved backwards")
	}
	if _, err := p.Expect(2*time.Second, Match()); err == nil || !strings.Contains(err.Error(), "sent nothing by 2.000000") {
		t.Errorf("expect with a silent host: %v", err)
	}
	if p.Now() != 2*time.Second {
		t.Errorf("now = %v after a failed expect, want 2s", p.Now())
	}
	if _, err := NewPeer(PeerConfig{Tolerance: -1}); err == nil {
		t.Error("negative tolerance accepted")
	}
	if _, err := NewPeer(PeerConfig{MTU: 60}); err == nil {
		t.Error("MTU 60 accepted (below RFC 791's 68)")
	}
	if c := p.Config(); c.Host != DefaultHost || c.Peer != DefaultPeer || c.MTU != 1500 || c.PeerISN != DefaultPeerISN {
		t.Errorf("defaults = %+v", c)
	}
}

// TestPeerTolerance: a segment inside the tolerance matches; the clock
// follows the segment's time.
func TestPeerTolerance(t *testing.T) {
	p, err := NewPeer(PeerConfig{Tolerance: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Host().Listen(8080, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Inject(&SegSpec{Flags: segment.FlagSYN}); err != nil {
		t.Fatal(err)
	}
	// The SYN-ACK leaves at 0; 4 ms later is within the tolerance.
	if _, err := p.Expect(4*time.Millisecond, Match(Flags(segment.FlagSYN|segment.FlagACK))); err != nil {
		t.Fatal(err)
	}
	// The retransmission at 1 s is 6 ms before 1.006 s: outside.
	_, err = p.Expect(1006*time.Millisecond, Match(Flags(segment.FlagSYN|segment.FlagACK)))
	if err == nil || !strings.Contains(err.Error(), "0.001 s early") {
		t.Errorf("err = %v", err)
	}
	if len(p.Pending()) != 0 || len(p.Drain()) != 0 {
		t.Error("the early segment was not consumed")
	}
	isn, ok := p.HostISN()
	p.SetHostISN(isn + 5)
	if got, _ := p.HostISN(); !ok || got != isn+5 {
		t.Error("SetHostISN")
	}
}

// TestPeerBuild checks the relative-to-absolute translation of injected
// segments: seq from the peer's ISN, ack and SACK from the host's, TS ecr
// echoing the host, and the default payload pattern.
func TestPeerBuild(t *testing.T) {
	p, err := NewPeer(PeerConfig{PeerISN: 1000})
	if err != nil {
		t.Fatal(err)
	}
	p.SetHostISN(50)
	p.lastTSVal = 77
	seg := &SegSpec{Flags: segment.FlagACK, Seq: 3, Len: 4, HasAck: true, Ack: 10,
		Options:  segment.Options{HasTimestamps: true, TSVal: 5, NumSACK: 1, SACK: [4]segment.SACKBlock{{Left: 20, Right: 30}}},
		TSEcrAny: true}
	pkt, err := p.Build(seg)
	if err != nil {
		t.Fatal(err)
	}
	o := pkt.TCP.Options
	if pkt.TCP.Seq != 1003 || pkt.TCP.Ack != 60 || pkt.TCP.Window != 65535 || o.TSEcr != 77 || o.TSVal != 5 ||
		o.SACK[0] != (segment.SACKBlock{Left: 70, Right: 80}) || string(pkt.Payload) != "cdef" {
		t.Errorf("built %v (payload %q)", pkt, pkt.Payload)
	}
	if got := string(Pattern(26, 3)); got != "zab" {
		t.Errorf("Pattern(26, 3) = %q", got)
	}
}

package tcptest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

func TestParseScript(t *testing.T) {
	src := `# A passive open, then data both ways.
set host 10.1.0.1:80   // comments after settings
set peer 10.1.0.2:5555
set mtu 1400
set isn 7
set win 1000
set tolerance 0.004
set config delayed_ack 0.2
0      listen
+0     < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
+0     > S. 0:0(0) ack 1 win * <mss 1360,...>
0.1~0.15 > . 1:1(0) ack 1
+0     accept
+0.2   < P. 1:6(5) ack 1 "hello"
+0~+0.01 > . 1:1(0) ack 6 <nop,nop,TS val * ecr 100,sack 1:2 3:4>
+0     read 5 = "hello"
+0     write 3000 = 3000
+0     write "bye"
+1     > nothing
+0     shutdown write
+0     read 10 = EAGAIN
+0     < R 6:6(0)
+0     close
+0     connect = ECONNREFUSED
+0     abort
+0     nodelay
+0     state TIME_WAIT
+0     > F. *:*(0) ack 6 <>
`
	s, err := ParseScript("x.pkt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Host.String() != "10.1.0.1:80" || s.Peer.String() != "10.1.0.2:5555" || s.MTU != 1400 ||
		s.PeerISN != 7 || s.Window != 1000 || s.Tolerance != 4*time.Millisecond {
		t.Errorf("settings = %+v", s)
	}
	if len(s.Config) != 1 || s.Config[0] != (ConfigSetting{"delayed_ack", "0.2", 8}) {
		t.Errorf("config = %+v", s.Config)
	}
	if len(s.Events) != 20 {
		t.Fatalf("%d events, want 20", len(s.Events))
	}
	ev := s.Events
	if ev[0].Kind != Call || ev[0].Call.Op != "listen" || ev[0].Line != 9 || ev[0].Time.Rel || ev[0].Time.At != 0 {
		t.Errorf("event 0 = %+v", ev[0])
	}
	syn := ev[1].Seg
	if ev[1].Kind != Inject || syn.Flags != segment.FlagSYN || syn.Seq != 0 || syn.Len != 0 || !syn.HasWin || syn.Win != 65535 ||
		!syn.Options.HasMSS || syn.Options.MSS != 1460 || !syn.Options.SACKPermitted || !syn.Options.HasTimestamps ||
		syn.Options.TSVal != 100 || syn.Options.TSEcr != 0 || syn.Options.WindowScale != 7 || syn.HasAck {
		t.Errorf("SYN = %+v", syn)
	}
	sa := ev[2].Seg
	if ev[2].Kind != Expect || sa.Flags != segment.FlagSYN|segment.FlagACK || !sa.HasAck || sa.Ack != 1 || !sa.WinAny || !sa.AnyOptions || sa.Options.MSS != 1360 {
		t.Errorf("SYN-ACK = %+v", sa)
	}
	if ev[3].Kind != Expect {
		t.Errorf("event 3 = %+v", ev[3])
	}
	if tm := ev[3].Time; tm.Rel || tm.At != 100*time.Millisecond || !tm.Range || tm.UpRel || tm.UpTo != 150*time.Millisecond {
		t.Errorf("range time = %+v", tm)
	}
	if d := ev[5].Seg; string(d.Payload) != "hello" || d.Len != 5 || d.Seq != 1 || d.Flags != segment.FlagPSH|segment.FlagACK {
		t.Errorf("data = %+v", d)
	}
	if a := ev[6]; !a.Time.Rel || !a.Time.UpRel || a.Time.UpTo != 10*time.Millisecond || !a.Seg.TSValAny || a.Seg.Options.TSEcr != 100 || a.Seg.Options.NumSACK != 2 ||
		a.Seg.Options.SACK[1] != (segment.SACKBlock{Left: 3, Right: 4}) {
		t.Errorf("ack = %+v %+v", a.Time, a.Seg)
	}
	if c := ev[7].Call; c.Op != "read" || c.N != 5 || c.Result != `"hello"` {
		t.Errorf("read = %+v", c)
	}
	if c := ev[8].Call; c.Op != "write" || c.N != 3000 || c.Result != "3000" {
		t.Errorf("write = %+v", c)
	}
	if c := ev[9].Call; string(c.Data) != "bye" || c.N != 3 {
		t.Errorf("write text = %+v", c)
	}
	if ev[10].Kind != Nothing || ev[10].Time.At != time.Second {
		t.Errorf("nothing = %+v", ev[10])
	}
	if c := ev[11].Call; c.Op != "shutdown" {
		t.Errorf("shutdown = %+v", c)
	}
	if c := ev[15].Call; c.Op != "connect" || c.Result != "ECONNREFUSED" {
		t.Errorf("connect = %+v", c)
	}
	if c := ev[18].Call; c.Op != "state" || string(c.Data) != "TIME_WAIT" {
		t.Errorf("state = %+v", c)
	}
	if f := ev[19].Seg; !f.SeqAny || !f.HasOptions || !f.Options.IsZero() || f.AnyOptions {
		t.Errorf("empty option list = %+v", f)
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := ParseScript("d.pkt", []byte("0 < S 0:0(0)\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Host != DefaultHost || s.Peer != DefaultPeer || s.MTU != 1500 || s.PeerISN != DefaultPeerISN || s.Window != 65535 || s.Tolerance != 0 {
		t.Errorf("defaults = %+v", s)
	}
	if seg := s.Events[0].Seg; seg.HasWin || seg.HasOptions {
		t.Errorf("seg = %+v", seg)
	}
}

func TestParseSeconds(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "0.1": 100 * time.Millisecond, ".25": 250 * time.Millisecond, "1.000000001": time.Second + 1,
		"12": 12 * time.Second, "3.": 3 * time.Second,
	} {
		if got, ok := parseSeconds(in); !ok || got != want {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", ".", "1.0000000001", "1e3", "-1", "1.2.3", "x", "1234567890"} {
		if _, ok := parseSeconds(in); ok {
			t.Errorf("parseSeconds(%q) accepted", in)
		}
	}
}

// TestParseErrors covers every error path of the parser: each case names
// the line and column the error must point at and a fragment of the message.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		src       string
		line, col int
		msg       string
	}{
		// Lexical errors.
		{`0 write "abc`, 1, 9, "unterminated string"},
		{`0 write "a\qb"`, 1, 9, "bad string"},
		{"0 write \x01", 1, 9, "unexpected character"},
		{"0 write é", 1, 9, "unexpected character"},
		// Settings.
		{"0 listen\nset mtu 1000", 2, 1, "must come before the first timed line"},
		{"set", 1, 4, "expected a setting name"},
		{"set mtu", 1, 8, "expected a value for mtu"},
		{"set host 10.0.0.1", 1, 10, "host wants an IPv4 address:port"},
		{"set peer [::1]:80", 1, 10, "peer wants an IPv4 address:port"},
		{"set mtu 20", 1, 9, "mtu wants an integer from 68"},
		{"set isn -1", 1, 9, "isn wants an integer"},
		{"set win 65536", 1, 9, "win wants an integer"},
		{"set tolerance 1ms", 1, 15, "tolerance wants seconds"},
		{"set config rto", 1, 15, "expected a value for config rto"},
		{"set speed 10", 1, 5, "unknown setting \"speed\""},
		{"set config colour red", 1, 12, "unknown config \"colour\""},
		{"set config rto_min fast", 1, 20, "config rto_min wants seconds"},
		{"set config ttl 300", 1, 16, "config ttl wants an integer from 0 to 255"},
		{"set mtu 1000 extra", 1, 14, "unexpected \"extra\" at end of line"},
		{`set "mtu" 10`, 1, 5, "expected a setting name"},
		// Times.
		{"abc listen", 1, 1, "bad time \"abc\""},
		{`"0" listen`, 1, 1, "expected a time, found string"},
		{"0.1~x > S 0:0(0)", 1, 5, "bad time \"x\""},
		{"0.2~0.1 > S 0:0(0)", 1, 5, "ends (0.1) before it starts (0.2)"},
		{"+0.1", 1, 5, "expected an action"},
		{"0~1 > nothing", 1, 1, "\"> nothing\" takes a single time"},
		{"0~1 < S 0:0(0)", 1, 1, "an injected segment takes a single time"},
		{"0~1 close", 1, 1, "a socket call takes a single time"},
		// Segments.
		{"0 < X 0:0(0)", 1, 5, "bad flags \"X\""},
		{"0 < SS 0:0(0)", 1, 5, "bad flags \"SS\""},
		{"0 <", 1, 4, "expected flags"},
		{"0 < S", 1, 6, "expected seq:end(len)"},
		{"0 < S 1:2", 1, 7, "bad sequence range \"1:2\""},
		{"0 < S 1(2)", 1, 7, "bad sequence range"},
		{"0 < S a:b(c)", 1, 7, "bad sequence range"},
		{"0 < S 1:2(0", 1, 7, "bad sequence range"},
		{"0 < S 1:5(3)", 1, 7, "1 + 3 is not 5"},
		{"0 < S *:*(0)", 1, 7, "only makes sense in an expected (>) segment"},
		{"0 > S *:5(0)", 1, 7, "bad sequence range"},
		{"0 > S *:*(x)", 1, 7, "bad sequence range"},
		{"0 > . 1:1(0) ack", 1, 17, "expected a number after ack"},
		{"0 < . 1:1(0) ack *", 1, 18, "only makes sense in an expected (>) segment"},
		{"0 < S 0:0(0) win *", 1, 18, "only makes sense in an expected (>) segment"},
		{"0 > . 1:1(0) ack 1 ack 2", 1, 20, "ack given twice"},
		{"0 > . 1:1(0) win 1 win 2", 1, 20, "win given twice"},
		{"0 > . 1:1(0) ack x", 1, 18, "ack wants an integer"},
		{"0 > . 1:1(0) win 70000", 1, 18, "win wants an integer"},
		{"0 < . 1:1(0) win 5", 1, 5, "needs \"ack N\""},
		{`0 < P. 1:3(2) ack 1 "abc"`, 1, 21, "payload is 3 bytes but the segment says (2)"},
		// Options.
		{"0 < S 0:0(0) <", 1, 15, "expected an option"},
		{"0 < S 0:0(0) <mss *>", 1, 19, "only makes sense in an expected (>) segment"},
		{"0 > S 0:0(0) <mss *>", 1, 15, "mss wants a value, not *"},
		{"0 > S 0:0(0) <wscale *>", 1, 15, "wscale wants a value, not *"},
		{"0 > S 0:0(0) <mss 70000>", 1, 19, "mss wants an integer of 16 bits"},
		{"0 > S 0:0(0) <wscale 300>", 1, 22, "wscale wants an integer of 8 bits"},
		{"0 > S 0:0(0) <mss>", 1, 18, "mss wants an integer"},
		{"0 > S 0:0(0) <TS vel 1 ecr 2>", 1, 18, "TS wants \"val N ecr N\""},
		{"0 > S 0:0(0) <TS val 1 ecr>", 1, 27, "TS wants an integer of 32 bits"},
		{"0 > S 0:0(0) <TS val 1", 1, 23, "expected \"ecr\""},
		{"0 > S 0:0(0) <mss", 1, 18, "expected an MSS value, found end of line"},
		{"0 > S 0:0(0) <TS val", 1, 21, "expected a timestamp, found end of line"},
		{"0 < S 0:0(0) <TS val * ecr 2>", 1, 18, "needs a TS val, not *"},
		{"0 > . 1:1(0) <sack 1:x>", 1, 20, "bad SACK block \"1:x\""},
		{"0 > . 1:1(0) <sack 1:2 3:4 5:6 7:8 9:10>", 1, 36, "more than 4 SACK blocks"},
		{"0 > . 1:1(0) <sack>", 1, 15, "sack wants at least one block"},
		{"0 < . 1:1(0) ack 1 <...>", 1, 21, "\"...\" only makes sense in an expected (>) segment"},
		{"0 > . 1:1(0) <...,mss 1>", 1, 18, "\"...\" must be the last option"},
		{"0 > . 1:1(0) <md5>", 1, 15, "unknown option \"md5\""},
		{"0 > . 1:1(0) <mss 1 wscale 2>", 1, 21, "expected \",\" or \">\" in the option list"},
		{"0 > . 1:1(0) <mss 1", 1, 20, "expected \",\" or \">\""},
		{"0 > . 1:1(0) <mss 1> 5", 1, 22, "unexpected \"5\" at end of line"},
		// Socket calls.
		{"0 jump", 1, 3, "unknown action \"jump\""},
		{`0 "listen"`, 1, 3, "found string \"listen\""},
		{"0 write", 1, 8, "expected an argument for write"},
		{"0 shutdown read", 1, 12, "shutdown takes \"write\""},
		{`0 write ""`, 1, 9, "write of an empty string"},
		{"0 write 0", 1, 9, "write wants a byte count"},
		{"0 read many", 1, 8, "read wants a byte count"},
		{`0 read "abc"`, 1, 8, "read wants a byte count, found a string"},
		{"0 read 5 =", 1, 11, "expected an expected result after ="},
		{`0 write 5 = "abc"`, 1, 13, "only read can return a string"},
		{"0 close = 5", 1, 11, "close returns no count"},
		{"0 accept = EWHAT", 1, 12, "unknown result \"EWHAT\""},
		{"0 listen now", 1, 10, "unexpected \"now\" at end of line"},
		{"0 state OPEN", 1, 9, "state wants one of CLOSED"},
		{`0 state "ESTABLISHED"`, 1, 9, "state wants one of"},
		{"0 > nothing now", 1, 13, "unexpected \"now\" at end of line"},
	}
	for _, c := range cases {
		_, err := ParseScript("t.pkt", []byte(c.src))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: want a *ParseError, got %v", c.src, err)
			continue
		}
		if pe.File != "t.pkt" || pe.Line != c.line || pe.Col != c.col || !strings.Contains(pe.Msg, c.msg) {
			t.Errorf("%q:\n got  %v\n want t.pkt:%d:%d: …%s…", c.src, err, c.line, c.col, c.msg)
		}
		if want := pe.File + ":"; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: error %q does not start with %q", c.src, err, want)
		}
	}
}

func FuzzParseScript(f *testing.F) {
	f.Add([]byte("0 listen\n+0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>\n+0 > S. 0:0(0) ack 1 <...>\n"))
	f.Add([]byte("set tolerance 0.01\n0.1~+0.2 > P. 1:101(100) ack 1 win * <sack 1:2>\n+0 read 5 = \"hi\\n\"\n"))
	f.Add([]byte("set config nodelay \"on\"\n0 write \"abc\" = 3 # c\n0 > nothing // c\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := ParseScript("fuzz.pkt", src)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Col < 1 {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		for _, ev := range s.Events {
			if (ev.Kind == Inject || ev.Kind == Expect) && ev.Seg == nil || ev.Kind == Call && ev.Call == nil {
				t.Fatalf("event without its body: %+v", ev)
			}
		}
	})
}

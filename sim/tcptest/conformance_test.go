package tcptest

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/stack"
)

// TestScripts runs every conformance script in testdata as a subtest.
func TestScripts(t *testing.T) {
	RunScripts(t, "testdata/*.pkt")
}

// TestKnownBugs runs the scripts in testdata/known-bugs, each of which
// records an engine bug, and requires each to fail on a script line (not
// to be unparseable). When one passes, the bug is fixed and the script
// belongs in testdata/. With none recorded (the folder empty or absent, as
// git keeps no empty folders) there is nothing to check: it passes and says so.
func TestKnownBugs(t *testing.T) {
	files, err := filepath.Glob("testdata/known-bugs/*.pkt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Log("no known bugs are recorded (testdata/known-bugs/ has no scripts)")
		return
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".pkt"), func(t *testing.T) {
			err := RunScriptFile(f)
			var re *RunError
			switch {
			case err == nil:
				t.Errorf("%s passes now: the bug it records is fixed; move it to testdata/ and drop its KNOWN BUG note", f)
			case !errors.As(err, &re):
				t.Errorf("%s fails for the wrong reason (not a script line): %v", f, err)
			default:
				first, _, _ := strings.Cut(err.Error(), "\n")
				t.Logf("still failing as recorded: %s", first)
			}
		})
	}
}

// TestScriptsCiteRFC requires every conformance script to name the RFC
// section it checks in a comment, and the suite to keep at least 40
// scripts.
func TestScriptsCiteRFC(t *testing.T) {
	files, err := filepath.Glob("testdata/*.pkt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Errorf("%d conformance scripts, want at least 40", len(files))
	}
	cite := regexp.MustCompile(`(?m)^\s*(//|#).*RFC \d+ §\d`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !cite.Match(b) {
			t.Errorf("%s names no RFC section (want a comment such as \"// RFC 9293 §3.10.7.4: ...\")", f)
		}
	}
}

// TestBadChecksumDropped uses the Go API for what a script cannot say: a
// segment whose TCP checksum is wrong must be discarded (RFC 9293 §3.1,
// MUST-2 and MUST-3) without any reply, and the same segment with a good
// checksum is then accepted.
func TestBadChecksumDropped(t *testing.T) {
	p, err := NewPeer(PeerConfig{TCP: stack.TCPConfig{DisableWindowScale: true, RecvBuffer: 64000}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := p.Host().Listen(8080, 1)
	if err != nil {
		t.Fatal(err)
	}
	step := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	step(p.Inject(&SegSpec{Flags: segment.FlagSYN, HasWin: true, Win: 65535}))
	step(p.Expect(0, Match(Flags(segment.FlagSYN|segment.FlagACK))))
	step(p.Inject(&SegSpec{Flags: segment.FlagACK, Seq: 1, HasAck: true, Ack: 1, HasWin: true, Win: 65535}))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	data := &SegSpec{Flags: segment.FlagPSH | segment.FlagACK, Seq: 1, Len: 10, HasAck: true, Ack: 1, HasWin: true, Win: 65535}
	bad, err := p.Build(data)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := p.Build(data)
	bad.TCP.Raw = true
	bad.TCP.DataOffset = 5
	bad.TCP.Checksum = 0xdead
	step(nil, p.InjectPacket(bad))
	step(nil, p.ExpectNothingUntil(time.Second))
	if n := conn.Readable(); n != 0 {
		t.Fatalf("%d bytes of a bad-checksum segment became readable", n)
	}
	if c := p.Host().Counters(); c.TCPDropChecksum != 1 {
		t.Fatalf("TCPDropChecksum = %d, want 1", c.TCPDropChecksum)
	}
	step(nil, p.InjectPacket(good))
	step(p.Expect(time.Second+40*time.Millisecond, Match(Flags(segment.FlagACK), RelAck(11))))
	if n := conn.Readable(); n != 10 {
		t.Fatalf("readable = %d after the good segment, want 10", n)
	}
}

// TestScriptsDeterministic runs every script twice and requires identical
// transcripts: the same script gives the same packets at the same times.
func TestScriptsDeterministic(t *testing.T) {
	files, err := filepath.Glob("testdata/*.pkt")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		var trace [2]string
		for i := range trace {
			s, err := ParseScriptFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := RunScript(s)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			trace[i] = p.TraceString(0)
		}
		if trace[0] != trace[1] || trace[0] == "" {
			t.Errorf("%s: two runs differ:\n%s\n---\n%s", f, trace[0], trace[1])
		}
	}
}

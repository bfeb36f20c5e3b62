package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Every kind of bad flag or argument exits with status 2 and prints one
// line, naming the flag and the value, and nothing else.
func TestBadFlagsExitStatus2(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // substring of the first line of stderr
	}{
		{"unknown command", []string{"fetch"}, `unknown command "fetch"`},
		{"no command", nil, "missing command"},
		{"unknown flag", []string{"get", "http://server.example/", "--speed", "1"}, "unknown flag: --speed"},
		{"missing flag value", []string{"transfer", "--delay"}, "flag needs an argument: --delay"},
		{"bad duration", []string{"get", "http://server.example/", "--delay", "25"}, `"25" for "--delay"`},
		{"negative duration", []string{"get", "http://server.example/", "--jitter", "-5ms"}, `"-5ms" for "--jitter"`},
		{"bad rate", []string{"transfer", "--rate", "fast"}, `"fast" for "--rate"`},
		{"rate without unit", []string{"transfer", "--rate", "10"}, `"10" for "--rate"`},
		{"bad percent", []string{"transfer", "--loss", "150%"}, `"150%" for "--loss"`},
		{"bad duplicate", []string{"transfer", "--duplicate", "x"}, `"x" for "--duplicate"`},
		{"bad corrupt", []string{"transfer", "--corrupt", "-1%"}, `"-1%" for "--corrupt"`},
		{"bad reorder", []string{"transfer", "--reorder", "101"}, `"101" for "--reorder"`},
		{"bad gemodel", []string{"transfer", "--loss-ge", "1%,2%,3%,4%,5%"}, `"1%,2%,3%,4%,5%" for "--loss-ge"`},
		{"bad gap", []string{"transfer", "--reorder", "25%", "--gap", "0"}, `"0" for "--gap"`},
		{"gap without reorder", []string{"transfer", "--gap", "5"}, "--gap 5 needs --reorder"},
		{"reorder without delay", []string{"transfer", "--reorder", "25%", "--delay", "0s"}, "--reorder 25% needs a non-zero --delay"},
		{"loss and loss-ge", []string{"transfer", "--loss", "1%", "--loss-ge", "1%"}, "exclusive"},
		{"bad mtu", []string{"transfer", "--mtu", "60"}, `"60" for "--mtu"`},
		{"bad queue", []string{"transfer", "--queue", "0"}, `"0" for "--queue"`},
		{"bad mss", []string{"transfer", "--mss", "abc"}, `"abc" for "--mss"`},
		{"mss below the least MTU", []string{"transfer", "--mss", "20"}, `"20" for "--mss"`},
		{"mss above mtu", []string{"transfer", "--mss", "1500"}, "--mss 1500 does not fit --mtu 1500"},
		{"bad sndbuf", []string{"transfer", "--sndbuf", "big"}, `"big" for "--sndbuf"`},
		{"tiny rcvbuf", []string{"transfer", "--rcvbuf", "10"}, "--rcvbuf 10B"},
		{"bad delayed-ack", []string{"transfer", "--delayed-ack", "maybe"}, `"maybe" for "--delayed-ack"`},
		{"bad nodelay", []string{"transfer", "--nodelay=perhaps"}, `"perhaps" for "--nodelay"`},
		{"bad seed", []string{"transfer", "--seed", "-3"}, `"-3" for "--seed"`},
		{"bad timeout", []string{"transfer", "--timeout", "forever"}, `"forever" for "--timeout"`},
		{"zero timeout", []string{"transfer", "--timeout", "0s"}, "--timeout 0s"},
		{"bad size", []string{"transfer", "--size", "lots"}, `"lots" for "--size"`},
		{"zero size", []string{"transfer", "--size", "0"}, "--size 0B"},
		{"bad flows", []string{"transfer", "--flows", "0"}, `"0" for "--flows"`},
		{"flows on get", []string{"get", "http://server.example/", "--flows", "2"}, "unknown flag: --flows"},
		{"file and size", []string{"get", "http://server.example/", "--file", "cli.go", "--size", "1KB"}, "exclusive"},
		{"empty file name", []string{"get", "http://server.example/", "--file", ""}, `--file ""`},
		{"missing file", []string{"get", "http://server.example/", "--file", "no/such/file"}, "--file no/such/file"},
		{"empty pcap name", []string{"get", "http://server.example/", "--pcap", ""}, `--pcap ""`},
		{"pcap in a missing directory", []string{"get", "http://server.example/", "--pcap", "no/such/dir/x.pcap"}, "--pcap no/such/dir/x.pcap: no such file or directory"},
		{"pcap is a directory", []string{"transfer", "--pcap", "."}, "--pcap .: is a directory"},
		{"get without URL", []string{"get"}, "exactly one URL"},
		{"get two URLs", []string{"get", "http://a/", "http://b/"}, "exactly one URL"},
		{"bad scheme", []string{"get", "ftp://server.example/"}, `scheme "ftp"`},
		{"no host", []string{"get", "http:///index.html"}, "no host"},
		{"bad port", []string{"get", "http://server.example:0/"}, `port "0"`},
		{"transfer with argument", []string{"transfer", "extra"}, `unknown command "extra"`},
		{"json and csv", []string{"transfer", "--json", "--csv"}, "--json and --csv are exclusive"},
		{"time and size", []string{"transfer", "--time", "5s", "--size", "1MB"}, "--time and --size are exclusive"},
		{"zero time", []string{"transfer", "--time", "0s"}, "--time 0"},
		{"reverse and bidir", []string{"transfer", "-R", "--bidir"}, "--reverse and --bidir are exclusive"},
		{"zero interval", []string{"transfer", "-i", "0s"}, "--interval 0"},
		{"json and verbose", []string{"transfer", "--json", "-v"}, "-v prints packet lines"},
		{"too many flows", []string{"transfer", "--flows", "20000000"}, `"20000000" for "--flows"`},
		{"too many flows per client", []string{"transfer", "--flows", "20000", "--clients", "1"}, "--flows 20000 over --clients 1 is 20000 flows per client host; one client address has 16384 ports toward the server's port (give --clients 2 or more)"},
		{"zero clients", []string{"transfer", "--clients", "0"}, `"0" for "--clients"`},
		{"bad start spread", []string{"transfer", "--start-spread", "soon"}, `"soon" for "--start-spread"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(c.args, &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", c.args, code, exitUsage, stderr.String())
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 {
				t.Fatalf("stderr has %d lines, want 1 (the error alone):\n%s", len(lines), stderr.String())
			}
			if !strings.HasPrefix(lines[0], "tcpsim: ") || !strings.Contains(lines[0], c.want) {
				t.Errorf("first line %q does not contain %q", lines[0], c.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty on a usage error:\n%s", stdout.String())
			}
		})
	}
}

// get's page flags with a bad value: the whole of standard error is the
// one line, word for word, and the status 2.
func TestGetPageFlagErrorsOneLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "http://server.example/", "--objects", "-1"},
			`tcpsim: invalid argument "-1" for "--objects" flag: must be between 0 and 10000` + "\n"},
		{[]string{"get", "http://server.example/", "--objects", "4", "--strategy", "foo"},
			`tcpsim: invalid argument "foo" for "--strategy" flag: unknown strategy "foo" (want serial, parallel, persistent, pipelined or h2)` + "\n"},
		{[]string{"get", "https://server.example/", "--tls", "1.1"},
			`tcpsim: invalid argument "1.1" for "--tls" flag: want 1.3 or 1.2 (the versions a browser still offers), not "1.1"` + "\n"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != exitUsage {
			t.Errorf("tcpsim %s: exit status %d, want %d", strings.Join(c.args[1:], " "), code, exitUsage)
		}
		if stderr.String() != c.want {
			t.Errorf("tcpsim %s: stderr\n%q\nwant\n%q", strings.Join(c.args[1:], " "), stderr.String(), c.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("tcpsim %s: stdout not empty on a usage error:\n%s", strings.Join(c.args[1:], " "), stdout.String())
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"get", "--help"}, {"transfer", "-h"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Errorf("run(%q) = %d, want 0; stderr %s", args, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "Usage:") {
			t.Errorf("run(%q) printed no usage:\n%s", args, stdout.String())
		}
	}
}

// A bare number given to a percentage flag is a percentage, as in tc netem:
// "--loss 5" is 5 %, not an error and not 500 %; the "%" form stays.
func TestBarePercentIsPercent(t *testing.T) {
	for _, arg := range []string{"5", "5%"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"transfer", "--size", "10KB", "--loss", arg}, &stdout, &stderr); code != exitOK {
			t.Fatalf("--loss %s: exit %d; stderr:\n%s", arg, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "loss 5%") {
			t.Errorf("--loss %s: the link line does not say loss 5%%:\n%s", arg, stdout.String())
		}
	}
}

// With --timestamps off, a link fast enough to wrap the sequence space
// within the MSL (rate × MSL ≥ 2^31 bytes) draws one warning line on
// stderr; a slower link, or timestamps on, draws none (issue 10, item 2).
func TestSeqWrapWarning(t *testing.T) {
	if got := seqWrapLimit(30 * time.Second); got != 572662306 {
		t.Fatalf("limit at a 30 s MSL = %d bit/s, want 572662306 (2^31 bytes in 30 s)", got)
	}
	cases := []struct {
		args []string
		warn string // substring of the warning, "" for none
	}{
		{[]string{"--rate", "1gbit", "--timestamps", "off"}, "--rate 1gbit with --timestamps off"},
		{[]string{"--rate", "0", "--timestamps", "off"}, "an unlimited --rate with --timestamps off"},
		{[]string{"--rate", "572mbit", "--timestamps", "off"}, ""},
		{[]string{"--rate", "1gbit"}, ""},
		{[]string{"--rate", "0"}, ""},
		// The rfc profile's MSL is 2 min: the bound is a quarter of linux's.
		{[]string{"--rate", "200mbit", "--timestamps", "off", "--profile", "rfc"}, "within the MSL (2m0s)"},
		{[]string{"--rate", "140mbit", "--timestamps", "off", "--profile", "rfc"}, ""},
	}
	for _, c := range cases {
		args := append([]string{"transfer", "--size", "100KB", "--delay", "1ms"}, c.args...)
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Fatalf("run(%q) = %d; stderr %s", args, code, stderr.String())
		}
		got := stderr.String()
		if c.warn == "" {
			if got != "" {
				t.Errorf("run(%q): stderr %q, want nothing", args, got)
			}
			continue
		}
		if !strings.HasPrefix(got, "tcpsim: warning: ") || !strings.Contains(got, c.warn) || !strings.Contains(got, "2^31 bytes") || strings.Count(got, "\n") != 1 {
			t.Errorf("run(%q): stderr %q, want one warning line with %q", args, got, c.warn)
		}
	}
}

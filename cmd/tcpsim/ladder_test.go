package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// get --ladder draws one row per packet of the connection between the two
// lanes, within 80 columns: losses end in a cross with the reason, resent
// segments are marked, and --ladder-max cuts long runs with a note.
func TestGetLadder(t *testing.T) {
	out := runOK(t, "get", "http://server.example/", "--dns", "off", "--size", "20KB", "--loss", "10%", "--seed", "1", "--ladder=ascii")
	start := strings.Index(out, "ladder of the first connection")
	end := strings.Index(out, "steps (time")
	if start < 0 || end < start {
		t.Fatalf("no ladder before the story:\n%s", out)
	}
	lad := out[start:end]
	rows := 0
	for _, line := range strings.Split(strings.TrimSpace(lad), "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("%d columns: %q", n, line)
		}
		if strings.Count(line, "|") == 2 && (strings.Contains(line, ">|") || strings.Contains(line, "|<") || strings.Contains(line, "x")) {
			rows++
		}
	}
	// One row per packet the story counts.
	m := regexp.MustCompile(`client sent (\d+), server sent (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no packet counts in the story:\n%s", out)
	}
	c, _ := strconv.Atoi(m[1])
	sv, _ := strconv.Atoi(m[2])
	if rows != c+sv {
		t.Errorf("%d rows, want %d (one per packet):\n%s", rows, c+sv, lad)
	}
	for _, want := range []string{
		"|-S 0 win 65535 mss 1460 ---",
		"|-P. 1:80 ack 1 win 32768 ------------x              | lost (loss)",
	} {
		if !strings.Contains(lad, want) {
			t.Errorf("ladder lacks %q:\n%s", want, lad)
		}
	}
	if !regexp.MustCompile(`\|-P\. 1:80 ack 1 win 32768 \[retransmit\] -+>\| \d+\.\d{6}\n`).MatchString(lad) {
		t.Errorf("ladder lacks the request's retransmission:\n%s", lad)
	}
	total := c + sv
	uni := runOK(t, "get", "http://server.example/", "--dns", "off", "--size", "20KB", "--loss", "10%", "--seed", "1", "--ladder=unicode", "--ladder-max", "5")
	note := fmt.Sprintf("... %d more packets of this connection not drawn (--ladder-max 5)", total-5)
	if !strings.Contains(uni, "│─S 0 win 65535 mss 1460 ─") || !strings.Contains(uni, "▶│") || !strings.Contains(uni, note) {
		t.Errorf("unicode ladder cut at 5:\n%s", uni)
	}
}

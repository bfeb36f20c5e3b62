package scenario

import (
	"strings"
	"testing"
	"time"
)

func TestSet(t *testing.T) {
	s, err := Load("../docs/examples/dumbbell.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]string{
		{"links[bottleneck].rate", "5mbit"}, {"links[6].delay", "30ms"}, {"flows[cubic1].size", "1MB"},
		{"seed", "9"}, {"hosts[server].tcp.rcvbuf", "1MiB"}, {"links[0].ab.loss", "1%"}, {"flows[1].start", "0.2s"},
	} {
		if err := s.Set(c[0], c[1]); err != nil {
			t.Fatalf("Set(%q, %q): %v", c[0], c[1], err)
		}
	}
	bott := s.Links[6]
	if bott.Rate != 5e6 || time.Duration(bott.Delay) != 30*time.Millisecond || s.Flows[0].Size != 1e6 || s.Seed != 9 ||
		s.Hosts[6].TCP.RecvBuffer != 1<<20 || s.Flows[1].Start != Duration(200*time.Millisecond) {
		t.Errorf("after Set: %+v %+v %+v", bott, s.Flows[0], s.Hosts[6])
	}
	// ab starts from the link's own settings.
	if ab := s.Links[0].AB; ab == nil || ab.Loss != 0.01 || ab.Rate != s.Links[0].Rate || ab.Rate == 0 {
		t.Errorf("links[0].ab: %+v, link %+v", ab, s.Links[0].Dir)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("Validate after Set: %v", err)
	}
	for _, c := range []struct{ path, value, want string }{
		{"links[bottleneck].rate", "fast", `links[bottleneck].rate: "fast": want a rate with a unit`},
		{"links[nope].rate", "1mbit", `links[nope].rate: links has no element named "nope"`},
		{"links[99].rate", "1mbit", "links has 8 elements"},
		{"links[0].rat", "1mbit", `"rat": unknown field of links[0]; want one of: a, a_address, ab,`},
		{"links[0]", "1mbit", "a Link, not a value"},
		{"seed.x", "1", "seed is a value"},
		{"", "1", "empty path"},
		{"flows[0].count", "many", `flows[0].count: "many"`},
	} {
		err := s.Set(c.path, c.value)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Set(%q, %q): %v, want %q", c.path, c.value, err, c.want)
		}
	}
}

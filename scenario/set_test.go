package scenario

import (
	"strings"
	"testing"
	"time"
)

// Set never panics, whatever the path and value.
func TestSetNoPanic(t *testing.T) {
	paths := []string{"", ".", "[", "]", "[0]", "links[", "links[]", "links[0", "links[0]]", "links..rate", "links[0].ab.", "links[-1].rate",
		"events[0].partition[0]", "flows[0].arrival.seed", "links[0].loss_ge.bad_loss", "routes[0].to", "hosts[0].tcp.delayed_ack", "name"}
	values := []string{"", "x", "1", "-1", "[1, 2]", "{a: 1}", "1mbit", "off", "\t", "!!binary xx", "&a 1", "*a"}
	for _, p := range paths {
		for _, v := range values {
			s, err := Load("../docs/examples/dumbbell.yaml")
			if err != nil {
				t.Fatal(err)
			}
			s.Events = []Event{{Partition: []string{"left"}}}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("Set(%q, %q) panicked: %v", p, v, r)
					}
				}()
				s.Set(p, v)
				s.Validate()
			}()
		}
	}
}

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
		{"links[0].ab", "1mbit", "a Dir, not a value"},
		{"hosts[0].listen", "80", "a list, not a value"},
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

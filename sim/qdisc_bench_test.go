package sim

import "testing"

// BenchmarkLinkForwardCoDel and ...FQCoDel are BenchmarkLinkForward through
// a queue discipline (a transmitter event per packet, the discipline's
// enqueue and dequeue).
func BenchmarkLinkForwardCoDel(b *testing.B) {
	d := benchDir
	d.Qdisc = CoDel{}
	benchForward(b, Config{}, d)
}

func BenchmarkLinkForwardFQCoDel(b *testing.B) {
	d := benchDir
	d.Qdisc = FQCoDel{}
	benchForward(b, Config{}, d)
}

// FuzzParseQdisc: any text either parses into a valid discipline, which
// formats and parses back to the same text, or is an error; never a panic.
func FuzzParseQdisc(f *testing.F) {
	for _, s := range []string{"fq_codel", "codel target 5ms interval 100ms ecn", "red min 5 max 15 gentle",
		"pie alpha 0.125 beta 1.25", "pfifo limit 10", "bfifo limit 1", "codel target", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQdisc(s)
		if err != nil {
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("%q parsed into an invalid %+v: %v", s, q, err)
		}
		text := FormatQdisc(q)
		again, err := ParseQdisc(text)
		if err != nil || FormatQdisc(again) != text {
			t.Fatalf("%q: %q does not parse back (%v)", s, text, err)
		}
	})
}

package scenario

import (
	"os"
	"testing"
)

// Parse and Validate never panic, whatever the bytes.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../docs/examples/dumbbell.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(base))
	f.Add([]byte(chain))
	f.Add([]byte("events: [{at: 1s, partition: [a]}, {at: 2s, heal: true}, {at: 1s, set: {link: x, rate: 1mbit}}]"))
	f.Add([]byte("links: [{a: a, b: b, loss_ge: {p: 1%, r: 2%}, reorder_delay: {p: 1, delay: 1ms}, ab: {mtu: 68}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		_ = s.Validate()
	})
}

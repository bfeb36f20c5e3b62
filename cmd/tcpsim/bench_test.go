package main

import (
	"io"
	"testing"
)

// BenchmarkTransfer100MB runs `tcpsim transfer --size 100MB --rate 10mbit
// --delay 25ms` (one flow, no loss): about 86 s of virtual time. ns-3 takes
// about 1 s of wall time for the same scenario on this machine.
func BenchmarkTransfer100MB(b *testing.B) {
	args := []string{"transfer", "--size", "100MB", "--rate", "10mbit", "--delay", "25ms"}
	b.ReportAllocs()
	for b.Loop() {
		if code := run(args, io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit status %d", code)
		}
	}
}

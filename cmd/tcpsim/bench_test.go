package main

import (
	"io"
	"os"
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

// BenchmarkFlows runs --flows N of 100 KB over 1 Gbit/s and 1 ms, starts
// spread over N ms, as the scale targets of the experiments issue measure
// them (10,000 flows ≤ 2 s and ≤ 150 MB; 100,000 ≤ 30 s and ≤ 1 GB). One
// op is one whole run; 100,000 flows (over 10 client hosts) and 10,000 over
// the same star run only with TCPSIM_LONG=1, so that a plain -bench . stays
// short.
//
//	go test ./cmd/tcpsim -run XXX -bench BenchmarkFlows -benchmem -benchtime 1x
//	TCPSIM_LONG=1 go test ./cmd/tcpsim -run XXX -bench BenchmarkFlows -benchmem -benchtime 1x
func BenchmarkFlows(b *testing.B) {
	type size struct{ flows, clients string }
	sizes := []size{{"1000", ""}, {"10000", ""}}
	if os.Getenv("TCPSIM_LONG") == "1" {
		// 10,000 flows over the star of 10 client hosts that 100,000
		// flows get: what the star costs, apart from the number of flows.
		sizes = append(sizes, size{"10000", "10"}, size{"100000", ""})
	}
	for _, sz := range sizes {
		name := "flows=" + sz.flows
		args := []string{"transfer", "--size", "100KB", "--flows", sz.flows, "--rate", "1gbit", "--delay", "1ms", "--start-spread", sz.flows + "ms", "--csv"}
		if sz.clients != "" {
			name += ",clients=" + sz.clients
			args = append(args, "--clients", sz.clients)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if code := run(args, io.Discard, io.Discard); code != 0 {
					b.Fatalf("exit status %d", code)
				}
			}
		})
	}
}

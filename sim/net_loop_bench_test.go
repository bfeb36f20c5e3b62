package sim

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkLoopBulk measures the wall-clock driver's socket path: one
// connection between two hosts over an in-memory link (no delay, no rate
// limit, no faults, only the MTU), a goroutine writing 16 MiB per operation
// in writeSize pieces and another reading it in readSize pieces, on the real
// clock. MB/s is application bytes; B/op and allocs/op show what the socket
// path allocates per transfer.
//
//	go test ./sim -run '^$' -bench LoopBulk -benchmem
func BenchmarkLoopBulk(b *testing.B) {
	for _, c := range []struct {
		mtu, writeSize, readSize int
	}{
		{1500, 256 << 10, 32 << 10},
		{9000, 256 << 10, 32 << 10},
		{65535, 256 << 10, 32 << 10},
		{1500, 1 << 10, 1 << 10}, // small writes and reads: kicks and wakeups dominate
	} {
		name := fmt.Sprintf("mtu%d/write%dk", c.mtu, c.writeSize>>10)
		b.Run(name, func(b *testing.B) { benchLoopBulk(b, false, c.mtu, c.writeSize, c.readSize) })
	}
}

// BenchmarkVirtualLoopBulk is BenchmarkLoopBulk on a virtual loop
// (StartVirtualLoop), which reads a goroutine dump before each move of
// its clock that may have woken a goroutine. Run both for the ratio:
//
//	go test ./sim -run '^$' -bench 'LoopBulk/mtu1500' -benchmem
func BenchmarkVirtualLoopBulk(b *testing.B) {
	for _, c := range []struct {
		mtu, writeSize, readSize int
	}{
		{1500, 256 << 10, 32 << 10},
		{1500, 1 << 10, 1 << 10},
	} {
		name := fmt.Sprintf("mtu%d/write%dk", c.mtu, c.writeSize>>10)
		b.Run(name, func(b *testing.B) { benchLoopBulk(b, true, c.mtu, c.writeSize, c.readSize) })
	}
}

const loopBulkSize = 16 << 20

func benchLoopBulk(b *testing.B, virtual bool, mtu, writeSize, readSize int) {
	p := newNetPair(b, Config{Seed: 1}, DirConfig{MTU: mtu})
	start := p.w.StartLoop
	if virtual {
		start = p.w.StartVirtualLoop
	}
	l, err := start()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	cn, sn := NewLoopNet(l, p.client), NewLoopNet(l, p.server)
	ln, err := sn.Listen("tcp", ":5001")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	wbuf := payload(writeSize)
	rbuf := make([]byte, readSize)
	b.SetBytes(loopBulkSize)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		got := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				got <- err
				return
			}
			defer c.Close()
			var n int64
			for {
				k, err := c.Read(rbuf)
				n += int64(k)
				if err == io.EOF {
					break
				}
				if err != nil {
					got <- err
					return
				}
			}
			if n != loopBulkSize {
				err = fmt.Errorf("receiver got %d bytes, want %d", n, loopBulkSize)
			}
			got <- err
		}()
		c, err := cn.Dial("tcp", "10.0.0.2:5001")
		if err != nil {
			b.Fatal(err)
		}
		for left := loopBulkSize; left > 0; left -= writeSize {
			if _, err := c.Write(wbuf[:min(left, writeSize)]); err != nil {
				b.Fatal(err)
			}
		}
		c.(*Conn).CloseWrite()
		if err := <-got; err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.StopTimer()
	// Packets each way per operation: how finely the socket path feeds
	// the stack shows up here (small pieces mean more, smaller segments).
	var fwd, rev DirStats
	if err := l.Call(func() { fwd, rev = p.link.Stats(0), p.link.Stats(1) }); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fwd.Sent)/float64(b.N), "pkts/op")
	b.ReportMetric(float64(rev.Sent)/float64(b.N), "acks/op")
}

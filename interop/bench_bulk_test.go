package interop

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim/gvisorpeer"
)

// bulkMTUs are the MTUs every bulk benchmark runs at.
var bulkMTUs = []int{1500, 9000, 65535}

// bulkSize is what one benchmark operation sends over one connection.
const bulkSize = 64 << 20

// bulkOnce sends size bytes from a connection made by dial to one accepted
// on l, and checks that all of them arrived.
func bulkOnce(b *testing.B, l net.Listener, dial func(ctx context.Context) (net.Conn, error), size int64) {
	got := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- err
			return
		}
		defer c.Close()
		n, err := io.Copy(io.Discard, c)
		if err == nil && n != size {
			err = fmt.Errorf("receiver got %d bytes, want %d", n, size)
		}
		got <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := dial(ctx)
	if err != nil {
		b.Fatal(err)
	}
	buf := fillBlock[:256<<10]
	for left := size; left > 0; {
		k := min(left, int64(len(buf)))
		if _, err := c.Write(buf[:k]); err != nil {
			b.Fatal(err)
		}
		left -= k
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	if err := <-got; err != nil {
		b.Fatal(err)
	}
	c.Close()
}

// benchBulk runs bulkOnce b.N times.
func benchBulk(b *testing.B, l net.Listener, dial func(ctx context.Context) (net.Conn, error)) {
	b.SetBytes(bulkSize)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		bulkOnce(b, l, dial, bulkSize)
	}
}

// benchGVisorPipe is gVisor to gVisor with nothing in between (Pipe): the
// best gVisor can do here.
func benchGVisorPipe(b *testing.B, mtu int) {
	a, z, err := gvisorpeer.Pipe(gvisorpeer.Config{Addr: netip.MustParsePrefix("10.0.0.1/24"), MTU: mtu},
		gvisorpeer.Config{Addr: netip.MustParsePrefix("10.0.0.2/24"), MTU: mtu})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	defer z.Close()
	l, err := z.Listen(5001)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	benchBulk(b, l, func(ctx context.Context) (net.Conn, error) {
		return a.Dial(ctx, netip.MustParseAddrPort("10.0.0.2:5001"))
	})
}

// BenchmarkBulk compares bulk TCP throughput (one connection, 64 MiB per
// operation, no loss) of tcpsim, gVisor and Linux at MTU 1500, 9000 and
// 65535, in one run:
//
//	go test ./interop -run '^$' -bench Bulk -benchtime 1x
//
// Sub-benchmarks: gvisor-pipe (two gVisor stacks wired back to back),
// gvisor-link and tcpsim-link (over the same simulated in-memory link on the
// wall-clock driver), tcpsim-virtual (the same link on the virtual driver),
// linux-loopback (kernel TCP over 127.0.0.1 in a namespace whose loopback
// MTU is set; needs root, otherwise the host's loopback at its own MTU).
func BenchmarkBulk(b *testing.B) {
	for _, mtu := range bulkMTUs {
		m := "mtu" + strconv.Itoa(mtu)
		b.Run("tcpsim-virtual/"+m, func(b *testing.B) { benchTCPSimVirtual(b, mtu) })
		b.Run("tcpsim-link/"+m, func(b *testing.B) { benchTCPSimLink(b, mtu) })
		b.Run("gvisor-link/"+m, func(b *testing.B) { benchGVisorLink(b, mtu) })
		b.Run("gvisor-pipe/"+m, func(b *testing.B) { benchGVisorPipe(b, mtu) })
		b.Run("linux-loopback/"+m, func(b *testing.B) { benchLinuxLoopback(b, mtu) })
		runtime.GC()
	}
}

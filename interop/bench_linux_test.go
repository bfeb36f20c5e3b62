package interop

import (
	"context"
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/tcpsim/tcpsim/sim/tun/tuntest"
)

// benchLinuxLoopback is kernel TCP over 127.0.0.1. As root it runs in a
// fresh namespace whose loopback MTU is mtu; otherwise it runs on the host's
// loopback only for its native MTU, and skips the others.
func benchLinuxLoopback(b *testing.B, mtu int) {
	listen := func() (net.Listener, error) { return net.Listen("tcp4", "127.0.0.1:0") }
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp4", addr)
	}
	if why := tuntest.Skip(); why == "" {
		ns := tuntest.NewNamespace(b)
		ns.IP("link", "set", "dev", "lo", "mtu", strconv.Itoa(mtu))
		listen = func() (net.Listener, error) { return ns.Listen("tcp4", "127.0.0.1:0") }
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return ns.DialContext(ctx, "tcp4", addr) }
	} else {
		data, _ := os.ReadFile("/sys/class/net/lo/mtu")
		if got, _ := strconv.Atoi(string(data[:max(len(data)-1, 0)])); got != mtu {
			b.Skipf("host loopback has MTU %d, and setting it to %d needs a namespace: %s", got, mtu, why)
		}
	}
	l, err := listen()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	benchBulk(b, l, func(ctx context.Context) (net.Conn, error) { return dial(ctx, addr) })
}

package sim

import (
	"context"
	"net/netip"

	"github.com/tcpsim/tcpsim/stack"
)

// TCP Fast Open for dialers (issue 15, stack/fastopen.go).

type fastOpenKey struct{}

// WithFastOpen returns a context that makes Net.DialContext (on the
// virtual driver) open the connection with TCP Fast Open, as Linux's
// TCP_FASTOPEN_CONNECT: when the host holds a cookie for the server, the
// dial returns at once and the SYN leaves with the first Write's data;
// otherwise the SYN asks for a cookie and the dial waits for the handshake
// as usual. The host needs stack.FastOpenClient in TCPConfig.FastOpen.
func WithFastOpen(ctx context.Context) context.Context {
	return context.WithValue(ctx, fastOpenKey{}, true)
}

// connect opens the engine's connection for a dial, with Fast Open when
// ctx asks for it.
func (n *Net) connect(ctx context.Context, ap netip.AddrPort) (*stack.Conn, error) {
	if on, _ := ctx.Value(fastOpenKey{}).(bool); on {
		return n.h.ConnectWith(netip.AddrPort{}, ap, stack.ConnectOptions{FastOpen: true})
	}
	return n.h.Connect(netip.Addr{}, ap)
}

// dialDone reports whether a dial may return: the handshake completed, or
// the SYN waits for the first write (Fast Open).
func dialDone(c *Conn) bool { return c.established || c.sc.FastOpen().Deferred }

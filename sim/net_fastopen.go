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

type connSetupKey struct{}

// WithConnSetup returns a context that makes Net.DialContext (on the
// virtual driver) call setup with the engine's connection as soon as it
// exists, before the handshake completes: the place for socket options
// that must precede it, as setsockopt before connect (TCP_CONGESTION:
// stack.Conn.SetCongestionControl). When setup returns an error the
// connection is aborted and the dial fails with it.
func WithConnSetup(ctx context.Context, setup func(*stack.Conn) error) context.Context {
	return context.WithValue(ctx, connSetupKey{}, setup)
}

// connect opens the engine's connection for a dial, with Fast Open when
// ctx asks for it, and runs WithConnSetup's function on it.
func (n *Net) connect(ctx context.Context, ap netip.AddrPort) (*stack.Conn, error) {
	var c *stack.Conn
	var err error
	if on, _ := ctx.Value(fastOpenKey{}).(bool); on {
		c, err = n.h.ConnectWith(netip.AddrPort{}, ap, stack.ConnectOptions{FastOpen: true})
	} else {
		c, err = n.h.Connect(netip.Addr{}, ap)
	}
	if err != nil {
		return nil, err
	}
	if setup, _ := ctx.Value(connSetupKey{}).(func(*stack.Conn) error); setup != nil {
		if err := setup(c); err != nil {
			c.Abort()
			return nil, err
		}
	}
	return c, nil
}

// dialDone reports whether a dial may return: the handshake completed, or
// the SYN waits for the first write (Fast Open).
func dialDone(c *Conn) bool { return c.established || c.sc.FastOpen().Deferred }

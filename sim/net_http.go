package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/tcpsim/tcpsim/stack"
)

// HTTP is an unmodified net/http client and server bound to two simulated
// hosts under the wall-clock driver: Server serves on the server host, and
// Client's transport dials from the client host, resolving names through
// the hosts table. Use it in a testing/synctest bubble to run HTTP on fake
// time, or outside one on real time.
//
//	synctest.Test(t, func(t *testing.T) {
//		w := sim.New(sim.Config{Seed: 1})
//		... hosts, link, w.AddHostEntry("server.example", addr) ...
//		loop, _ := w.StartLoop()
//		h, _ := sim.StartHTTP(loop, client, server, 80, handler)
//		defer h.Close()
//		resp, err := h.Client.Get("http://server.example/")
//		...
//	})
//
// Close shuts everything down in the order that leaves no goroutine behind.
type HTTP struct {
	// Client sends requests from the client host. Its Transport is an
	// *http.Transport whose DialContext is the client Net's.
	Client *http.Client
	// Server is the running server; its Handler is the one given.
	Server *http.Server
	// ClientNet and ServerNet are the hosts' socket APIs.
	ClientNet, ServerNet *Net
	// Listener is the server's listener.
	Listener net.Listener

	loop      *Loop
	serveDone chan error

	closeOnce sync.Once
	closeErr  error
}

// StartHTTP listens on port of the server host and serves handler there
// with an http.Server in a new goroutine, and returns a client on the
// client host. The loop keeps running; HTTP.Close stops it.
func StartHTTP(l *Loop, client, server *stack.Host, port uint16, handler http.Handler) (*HTTP, error) {
	if l == nil || client == nil || server == nil || handler == nil {
		return nil, errors.New("sim: StartHTTP needs a loop, two hosts and a handler")
	}
	h := &HTTP{
		ClientNet: NewLoopNet(l, client),
		ServerNet: NewLoopNet(l, server),
		loop:      l,
		serveDone: make(chan error, 1),
	}
	ln, err := h.ServerNet.Listen("tcp", ":"+strconv.Itoa(int(port)))
	if err != nil {
		return nil, fmt.Errorf("sim: StartHTTP: %w", err)
	}
	h.Listener = ln
	h.Server = &http.Server{Handler: handler}
	tr := &http.Transport{
		DialContext:       h.ClientNet.DialContext,
		Proxy:             nil,
		ForceAttemptHTTP2: false,
	}
	h.Client = &http.Client{Transport: tr}
	go func() { h.serveDone <- h.Server.Serve(ln) }()
	return h, nil
}

// Close cleans up in the order that net/http and the loop need: the
// client's idle connections are closed, the server shuts down (gracefully,
// then forcibly if ctx ends), Serve's goroutine is waited for, and the loop
// is closed. It returns the first error that is not the expected
// http.ErrServerClosed.
func (h *HTTP) Close() error { return h.Shutdown(context.Background()) }

// Shutdown is Close with a context bounding the graceful part. Only the
// first call of Close or Shutdown does the work; later ones return its
// result.
func (h *HTTP) Shutdown(ctx context.Context) error {
	h.closeOnce.Do(func() { h.closeErr = h.shutdown(ctx) })
	return h.closeErr
}

func (h *HTTP) shutdown(ctx context.Context) error {
	if tr, ok := h.Client.Transport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
	err := h.Server.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, h.Server.Close())
	}
	if serr := <-h.serveDone; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, h.loop.Close())
}

package simnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

type server struct {
	inc  *incarnation
	srv  *http.Server
	done chan error
}

// Serve listens on address (":80") and serves handler there with an
// *http.Server in a goroutine of its own, until the test ends or the host
// crashes. It returns the server (its Handler is a wrapper of handler).
func (h *Host) Serve(address string, handler http.Handler) (*http.Server, error) {
	if handler == nil {
		return nil, fmt.Errorf("simnet: Serve(%q) on host %q: the handler is nil; pass an http.Handler, such as http.HandlerFunc(f)", address, h.name)
	}
	ln, err := h.Listen(address)
	if err != nil {
		return nil, err
	}
	kl := ln.(*Listener)
	kl.role = "HTTP server"
	n := h.n
	s := &server{inc: kl.inc, done: make(chan error, 1)}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		n.rts++
		n.poke()
		n.mu.Unlock()
		defer func() {
			n.mu.Lock()
			n.rts--
			n.mu.Unlock()
		}()
		handler.ServeHTTP(w, r)
	})}
	n.mu.Lock()
	n.servers = append(n.servers, s)
	n.mu.Unlock()
	go func() { s.done <- s.srv.Serve(ln) }()
	return s.srv, nil
}

// HTTPClient returns a new *http.Client whose requests leave from this
// host; "http://server/" reaches the host called server on port 80. The kit
// closes its idle connections when the test ends.
func (h *Host) HTTPClient() *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return h.dial(ctx, network, addr, "HTTP client")
		},
		Proxy: nil,
	}
	c := &http.Client{Transport: &roundTripper{n: h.n, tr: tr}}
	if h.n.usable() == nil {
		h.n.mu.Lock()
		h.n.clients = append(h.n.clients, c)
		h.n.mu.Unlock()
	}
	return c
}

// roundTripper counts the requests in progress, for the stall check.
type roundTripper struct {
	n  *Net
	tr *http.Transport
}

func (r *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	r.n.mu.Lock()
	r.n.rts++
	r.n.poke()
	r.n.mu.Unlock()
	defer func() {
		r.n.mu.Lock()
		r.n.rts--
		r.n.mu.Unlock()
	}()
	return r.tr.RoundTrip(req)
}

// CloseIdleConnections closes the client's idle keep-alive connections.
func (r *roundTripper) CloseIdleConnections() { r.tr.CloseIdleConnections() }

// shutdown is Close's work.
func (n *Net) shutdown() error {
	close(n.quit)
	n.watchWG.Wait()
	n.mu.Lock()
	clients := append([]*http.Client(nil), n.clients...)
	servers := append([]*server(nil), n.servers...)
	n.mu.Unlock()
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	var errs []error
	for _, s := range servers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.srv.Shutdown(ctx); err != nil {
			s.srv.Close()
		}
		cancel()
		if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.mu.Lock()
			down := s.inc.down
			n.mu.Unlock()
			if !down {
				errs = append(errs, fmt.Errorf("simnet: HTTP server on host %q: %w", s.inc.h.name, err))
			}
		}
	}
	n.mu.Lock()
	n.closed = true
	var conns []*Conn
	var lns []*Listener
	var pcs []*PacketConn
	for _, h := range n.order {
		if h.inc == nil {
			continue
		}
		for c := range h.inc.conns {
			conns = append(conns, c)
		}
		for l := range h.inc.listeners {
			lns = append(lns, l)
		}
		for pc := range h.inc.packets {
			pcs = append(pcs, pc)
		}
	}
	n.mu.Unlock()
	for _, pc := range pcs {
		pc.inner.Close()
	}
	for _, l := range lns {
		l.inner.Close()
	}
	for _, c := range conns {
		c.inner.Close()
	}
	n.loop.Close()
	n.mu.Lock()
	if n.stalled != nil && n.t == nil {
		errs = append(errs, n.stalled)
	}
	n.mu.Unlock()
	if n.opts.Driver == Tasks {
		n.w.Close() // ends the tasks of calls still parked
	}
	return errors.Join(errs...)
}

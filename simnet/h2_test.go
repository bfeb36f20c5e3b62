package simnet_test

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tcpsim/tcpsim/simnet"
)

// countingListener counts the connections a listener hands out.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// testCert makes a self-signed Ed25519 certificate for name, valid around
// now (the bubble's clock inside synctest).
func testCert(t *testing.T, name string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(strings.NewReader(strings.Repeat("simnet h2 test key seed, 32 bytes", 2)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, pool
}

// HTTP/2 over TLS with net/http's own Server and Transport on both ends,
// unmodified, over a lossy simulated link on fake time: a page and then
// five objects fetched at once travel on one TCP connection, as streams that are open
// at the same time (the server sees more than one handler running at
// once), and arrive intact.
func TestHTTP2OverTLS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(t, simnet.Options{Link: simnet.Link{Delay: 20 * time.Millisecond, Rate: 10_000_000, Loss: 0.01}})
		cert, pool := testCert(t, "server")

		ln, err := n.Host("server").Listen(":443")
		if err != nil {
			t.Fatal(err)
		}
		cl := &countingListener{Listener: ln}
		var active, most atomic.Int32
		srv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				now := active.Add(1)
				defer active.Add(-1)
				for {
					m := most.Load()
					if now <= m || most.CompareAndSwap(m, now) {
						break
					}
				}
				// Stay in the handler for a while of fake time, so that
				// streams that can be open together are.
				time.Sleep(50 * time.Millisecond)
				fmt.Fprintf(w, "%s %s", r.Proto, strings.Repeat("x", 20000))
			}),
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}},
		}
		done := make(chan error, 1)
		go func() { done <- srv.ServeTLS(cl, "", "") }()

		client := n.Host("client")
		tr := &http.Transport{
			DialContext:       client.DialContext,
			TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: "server"},
			ForceAttemptHTTP2: true,
		}
		hc := &http.Client{Transport: tr}

		const objects = 6
		errs := make([]error, objects)
		fetch := func(i int) {
			resp, err := hc.Get(fmt.Sprintf("https://server/object/%d", i))
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			switch {
			case err != nil:
				errs[i] = err
			case resp.ProtoMajor != 2:
				errs[i] = fmt.Errorf("object %d: protocol %s, want HTTP/2", i, resp.Proto)
			case len(b) != len("HTTP/2.0 ")+20000 || !strings.HasPrefix(string(b), "HTTP/2.0 "):
				errs[i] = fmt.Errorf("object %d: %d bytes starting %.12q", i, len(b), b)
			}
		}
		// The page first, on a new connection; then its objects at once,
		// which share that connection as concurrent streams.
		fetch(0)
		var wg sync.WaitGroup
		for i := 1; i < objects; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); fetch(i) }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if got := cl.n.Load(); got != 1 {
			t.Errorf("the server accepted %d TCP connections, want 1 (HTTP/2 multiplexes)", got)
		}
		if m := most.Load(); m < 2 {
			t.Errorf("at most %d handler ran at once: the streams did not overlap on the connection", m)
		}
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := <-done; err != http.ErrServerClosed {
			t.Errorf("ServeTLS: %v", err)
		}
	})
}

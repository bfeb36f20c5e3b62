package sim

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math"
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// Unmodified net/http over the simulated network on fake time: 5 MB across
// 50 ms of delay, 10 Mbit/s and 1% loss.
func TestHTTPOverLoopSynctest(t *testing.T) {
	defer goleak.VerifyNone(t)
	const size = 5_000_000
	body := payload(size)
	want := sha256.Sum256(body)
	synctest.Test(t, func(t *testing.T) {
		p := newNetPair(t, Config{Seed: 7}, DirConfig{Delay: 50 * time.Millisecond, Rate: 10e6, QueuePackets: 100,
			Faults: []Fault{Loss{P: 0.01}}})
		loop, err := p.w.StartLoop()
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/blob", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(size))
			w.Write(body)
		})
		h, err := StartHTTP(loop, p.client, p.server, 80, mux)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		resp, err := h.Client.Get("http://server.example/blob")
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.New()
		n, err := io.Copy(got, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil || n != size {
			t.Fatalf("read %d bytes, err %v", n, err)
		}
		if !bytes.Equal(got.Sum(nil), want[:]) {
			t.Fatal("body hash differs")
		}
		// Lower bound: the link cannot carry the body faster than its rate,
		// after one round trip for the handshake and one for the request.
		// Upper bound: twice the Mathis et al. estimate of Reno's
		// throughput under random loss, MSS/RTT * 1.22/sqrt(p)
		// (1448-byte segments, 100 ms RTT, p = 1%: about 1.4 Mbit/s).
		lo := time.Duration(size*8/10e6*float64(time.Second)) + 200*time.Millisecond
		mathis := 1448 * 8 / 0.1 * 1.22 / math.Sqrt(0.01) // bits per second
		hi := 2 * time.Duration(size*8/mathis*float64(time.Second))
		if took < lo || took > hi {
			t.Errorf("GET of %d bytes took %v of virtual time, want between %v and %v", size, took, lo, hi)
		}
		t.Logf("5 MB GET: %v virtual, %d retransmissions", took, p.client.Counters().TCPRetransSegs+p.server.Counters().TCPRetransSegs)
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

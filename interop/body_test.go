package interop

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
)

// long reports whether the long sweeps are enabled (TCPSIM_LONG=1).
func long() bool { return os.Getenv("TCPSIM_LONG") == "1" }

// bodyReader returns the n bytes of the body for seed: a ChaCha8 stream, so
// that every byte depends on its position and a misplaced segment changes
// the hash.
func bodyReader(seed uint64, n int64) io.Reader {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	return io.LimitReader(rand.NewChaCha8(key), n)
}

// bodyHash is the SHA-256 of the body for seed and n.
func bodyHash(seed uint64, n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, bodyReader(seed, n))
	return [32]byte(h.Sum(nil))
}

// bodyHandler serves GET /body/<size>?seed=<seed>: size bytes of
// bodyReader(seed, size) with a Content-Length.
func bodyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/body/"), 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "want /body/<size>", http.StatusNotFound)
			return
		}
		seed, _ := strconv.ParseUint(r.URL.Query().Get("seed"), 10, 64)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		w.Header().Set("Content-Type", "application/octet-stream")
		io.Copy(w, bodyReader(seed, n))
	})
}

func bodyPath(n int64, seed uint64) string { return fmt.Sprintf("/body/%d?seed=%d", n, seed) }

// checkBody reads r to the end and fails t unless it is the body for seed.
func checkBody(t testing.TB, what string, r io.Reader, seed uint64, n int64) {
	t.Helper()
	h := sha256.New()
	got, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("%s: reading the body failed after %d of %d bytes: %v", what, got, n, err)
	}
	if got != n || [32]byte(h.Sum(nil)) != bodyHash(seed, n) {
		t.Fatalf("%s: got %d bytes with SHA-256 %x, want %d bytes with %x", what, got, h.Sum(nil), n, bodyHash(seed, n))
	}
}

func TestBodyDeterministic(t *testing.T) {
	a, b := bodyHash(1, 100000), bodyHash(1, 100000)
	if a != b || a == bodyHash(2, 100000) {
		t.Fatal("body hashes are not a function of (seed, size)")
	}
}

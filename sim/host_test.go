package sim

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// transfer moves size bytes from a client behind a router to a server over
// a lossy, rate-limited bottleneck, with both applications written as tasks
// on the stack's event API. It returns the SHA-256 of what the server read,
// the world, and the sent bytes' hash.
func transfer(t *testing.T, seed uint64, size int) (got, want [32]byte, w *World) {
	t.Helper()
	w = New(Config{Seed: seed, Log: true})
	mp := netip.MustParsePrefix
	client, err := w.AddHost("client", mp("10.0.1.2/24"), stack.TCPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	server, err := w.AddHost("server.example", mp("10.0.9.2/24"), stack.TCPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddRouter("r"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Connect("client", mp("10.0.1.2/24"), "r", mp("10.0.1.1/24"), Symmetric("", DirConfig{Delay: 2 * time.Millisecond})); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Connect("r", mp("10.0.9.1/24"), "server.example", mp("10.0.9.2/24"), LinkConfig{
		AB: DirConfig{Delay: 10 * time.Millisecond, Rate: 10_000_000, QueuePackets: 20, Faults: []Fault{Loss{P: 0.01}}},
		BA: DirConfig{Delay: 10 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	r := w.Rand("payload")
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	want = sha256.Sum256(data)

	ln, err := server.Listen(80, 8)
	if err != nil {
		t.Fatal(err)
	}
	lq := NewWaitQueue("accept :80")
	ln.SetNotify(func(stack.Event) { lq.WakeAll() })
	var received bytes.Buffer
	w.Spawn("server", func(tk *Task) {
		var c *stack.Conn
		for {
			c, err = ln.Accept()
			if err == nil {
				break
			}
			if !errors.Is(err, stack.ErrWouldBlock) {
				t.Errorf("accept: %v", err)
				return
			}
			tk.Wait(lq, 0)
		}
		q := NewWaitQueue("read")
		c.SetNotify(func(stack.Event) { q.WakeAll() })
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			received.Write(buf[:n])
			switch {
			case err == nil:
			case errors.Is(err, stack.ErrWouldBlock):
				tk.Wait(q, 0)
			case err == io.EOF:
				c.Close()
				return
			default:
				t.Errorf("read: %v", err)
				return
			}
		}
	})
	w.Spawn("client", func(tk *Task) {
		dst, err := w.Lookup("server.example")
		if err != nil {
			t.Error(err)
			return
		}
		c, err := client.Connect(netip.Addr{}, netip.AddrPortFrom(dst, 80))
		if err != nil {
			t.Error(err)
			return
		}
		q := NewWaitQueue("write")
		c.SetNotify(func(stack.Event) { q.WakeAll() })
		rest := data
		for len(rest) > 0 {
			n, err := c.Write(rest)
			rest = rest[n:]
			switch {
			case err == nil:
			case errors.Is(err, stack.ErrWouldBlock):
				tk.Wait(q, 0)
			default:
				t.Errorf("write: %v", err)
				return
			}
		}
		c.Close()
	})
	if err := w.RunUntil(5 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(received.Bytes()), want, w
}

// Two stack hosts made by AddHost exchange data through a router and a
// lossy bottleneck; the bytes arrive intact and the run is reproducible.
func TestAddHostTransfer(t *testing.T) {
	got, want, w := transfer(t, 5, 300_000)
	if got != want {
		t.Fatal("server received different bytes than the client sent")
	}
	t.Logf("virtual %v, %d events, %d loss drops", w.Now(), w.Log().Len(), w.Log().Count(Dropped, "loss"))
	if w.Log().Count(Dropped, "loss") == 0 {
		t.Fatal("no loss happened; the test does not exercise recovery")
	}
	_, _, w2 := transfer(t, 5, 300_000)
	if w.Log().Hash() != w2.Log().Hash() {
		t.Fatal("same seed gave different event logs")
	}
	if _, err := w.Lookup("server.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddHost("client", netip.MustParsePrefix("10.9.9.9/24"), stack.TCPConfig{}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate host: %v", err)
	}
	if _, err := w.AddHost("x", netip.Prefix{}, stack.TCPConfig{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid address: %v", err)
	}
}

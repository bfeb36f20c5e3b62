package stack

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"time"
)

// sinkRun sends size bytes from a to b over a lossy link; b's reader
// consumes at most chunk bytes per call, with Read (copying) or Discard.
// It returns every packet sent by either side, concatenated, and how many
// bytes the reader consumed.
func sinkRun(t *testing.T, size, chunk int, discard bool) ([]byte, int) {
	t.Helper()
	p := newPair(t, 3, 5*time.Millisecond, faults{loss: 0.01}, TCPConfig{})
	var trace bytes.Buffer
	tap := func(pkt []byte) { trace.Write(pkt) }
	p.ab.tap, p.ba.tap = tap, tap
	l, err := p.b.Listen(80, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, eof := 0, false
	buf := make([]byte, chunk)
	var srv *Conn
	consume := func() {
		for {
			var n int
			var err error
			if discard {
				n, err = srv.Discard(chunk)
			} else {
				n, err = srv.Read(buf)
			}
			got += n
			switch {
			case err == nil:
				continue
			case errors.Is(err, io.EOF):
				eof = true
				srv.Close()
			case !errors.Is(err, ErrWouldBlock) && !errors.Is(err, ErrClosed):
				t.Errorf("discard=%v: %v", discard, err)
			}
			return
		}
	}
	l.SetNotify(func(Event) {
		if c, err := l.Accept(); err == nil {
			srv = c
			c.SetNotify(func(Event) { consume() })
			consume()
		}
	})
	c, err := p.a.Connect(addrA.Unmap(), netipAP(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	cli := newApp(c, randomBytes(5, size))
	if !p.n.run(10*time.Minute, func() bool { return eof && cli.closed }) {
		t.Fatalf("discard=%v: transfer did not finish: got %d of %d, eof %v", discard, got, size, eof)
	}
	return trace.Bytes(), got
}

// TestDiscardMatchesRead: a sink that discards in chunks of k bytes sends
// exactly the packets of one that reads into a k-byte buffer, and consumes
// every byte.
func TestDiscardMatchesRead(t *testing.T) {
	const size = 300 << 10
	for _, chunk := range []int{1000, 64 << 10} {
		rd, nr := sinkRun(t, size, chunk, false)
		dc, nd := sinkRun(t, size, chunk, true)
		if nr != size || nd != size {
			t.Fatalf("chunk %d: consumed %d (Read) and %d (Discard), want %d", chunk, nr, nd, size)
		}
		if !bytes.Equal(rd, dc) {
			t.Errorf("chunk %d: packets differ: Read trace %d bytes (sha %x), Discard %d (sha %x)",
				chunk, len(rd), sha256.Sum256(rd), len(dc), sha256.Sum256(dc))
		}
	}
}

// TestDiscardThenRead: Discard drops exactly the front bytes; Read returns
// what follows; a negative count is an error; after Close it is ErrClosed.
func TestDiscardThenRead(t *testing.T) {
	p := newPair(t, 1, time.Millisecond, faults{}, TCPConfig{})
	l, err := p.b.Listen(80, 1)
	if err != nil {
		t.Fatal(err)
	}
	var srv *Conn
	l.SetNotify(func(Event) {
		if c, err := l.Accept(); err == nil {
			srv = c
		}
	})
	c, err := p.a.Connect(addrA.Unmap(), netipAP(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(9, 5000)
	if !p.n.run(time.Second, func() bool { return srv != nil && c.State() == StateEstablished }) {
		t.Fatal("no connection")
	}
	if n, err := c.Write(data); n != len(data) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if !p.n.run(p.n.now+time.Second, func() bool { return srv.Readable() == len(data) }) {
		t.Fatalf("server has %d of %d bytes", srv.Readable(), len(data))
	}
	if _, err := srv.Discard(-1); err == nil {
		t.Error("Discard(-1) gave no error")
	}
	if n, err := srv.Discard(0); n != 0 || err != nil {
		t.Errorf("Discard(0) = %d, %v; want 0, nil", n, err)
	}
	if n, err := srv.Discard(1234); n != 1234 || err != nil {
		t.Fatalf("Discard(1234) = %d, %v", n, err)
	}
	buf := make([]byte, 10000)
	n, err := srv.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], data[1234:]) {
		t.Fatalf("Read after Discard = %d, %v; want the %d bytes after the first 1234", n, err, len(data)-1234)
	}
	if n, err := srv.Discard(10); n != 0 || !errors.Is(err, ErrWouldBlock) {
		t.Errorf("Discard on empty buffer = %d, %v; want ErrWouldBlock", n, err)
	}
	srv.Close()
	if _, err := srv.Discard(10); !errors.Is(err, ErrClosed) {
		t.Errorf("Discard after Close: %v, want ErrClosed", err)
	}
}

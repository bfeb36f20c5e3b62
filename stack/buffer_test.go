package stack

import (
	"bytes"
	"testing"
)

// An empty ring starts again at the front of its buffer, but not while
// out-of-order bytes are stored beyond its content: those stay where the
// reassembly queue expects them.
func TestRingRewindsWhenEmpty(t *testing.T) {
	r := newRing(64 << 10)
	p := bytes.Repeat([]byte("abcdefgh"), 200) // 1600 bytes
	out := make([]byte, 4096)
	for range 50 {
		if n := r.write(p); n != len(p) {
			t.Fatalf("write took %d of %d", n, len(p))
		}
		if n := r.read(out); n != len(p) || !bytes.Equal(out[:n], p) {
			t.Fatalf("read %d bytes, want %d equal to what was written", n, len(p))
		}
		if r.head != 0 {
			t.Fatalf("empty ring has head %d, want 0", r.head)
		}
	}
	if len(r.buf) > 2048 {
		t.Fatalf("buffer grew to %d bytes for 1600 bytes in flight", len(r.buf))
	}

	// In order: 100 bytes. Out of order: 50 bytes at offset 300.
	in, ooo := bytes.Repeat([]byte{1}, 100), bytes.Repeat([]byte{2}, 50)
	r.write(in)
	r.writeAt(300, ooo)
	if n := r.read(out[:100]); n != 100 {
		t.Fatalf("read %d, want 100", n)
	}
	head := r.head
	if head == 0 {
		t.Fatal("head rewound with out-of-order bytes stored")
	}
	// The gap [0, 200) is filled and the content extended over the
	// out-of-order bytes, as reassembly does.
	r.writeAt(0, bytes.Repeat([]byte{3}, 200))
	r.n = 250
	got := make([]byte, 250)
	if n := r.read(got); n != 250 || !bytes.Equal(got[200:], ooo) || got[0] != 3 {
		t.Fatalf("after reassembly read %d bytes %v...; the out-of-order bytes were lost", n, got[195:205])
	}
	if r.head != 0 || r.n != 0 || r.hi != 0 {
		t.Fatalf("empty ring: head %d, n %d, hi %d; want all 0", r.head, r.n, r.hi)
	}
}

// A host reuses the arrays of released rings: after the first connection,
// rings that grow to the same sizes allocate nothing; under memory
// pressure nothing is kept.
func TestRingArrayPool(t *testing.T) {
	m := &hostMem{h: &Host{}, high: -1}
	cycle := func() {
		r := newRing(256 << 10)
		r.mem = m
		for size := 1024; size <= 256<<10; size *= 2 {
			r.grow(size, 0)
		}
		r.release()
	}
	cycle()
	if allocs := testing.AllocsPerRun(20, cycle); allocs != 0 {
		t.Fatalf("%.1f allocations per ring grown to 256 KiB and released, want 0 (pooled)", allocs)
	}
	if m.used != 0 || m.pool.bytes == 0 || m.pool.bytes > poolMax {
		t.Fatalf("used %d, pooled %d", m.used, m.pool.bytes)
	}
	m.pressure = true
	cycle()
	if m.pool.bytes != 0 {
		t.Fatalf("%d bytes kept in the pool under memory pressure", m.pool.bytes)
	}
}

// SetSendBuffer resizes a connection's send buffer: a larger one takes more
// of a write, sizes outside [536, 64 MiB] are refused.
func TestSetSendBuffer(t *testing.T) {
	s := newScript(t, scriptCfg()) // 64,000-byte buffers
	s.passiveOpen()
	if err := s.c.SetSendBuffer(100); err == nil {
		t.Fatal("SetSendBuffer(100) accepted")
	}
	if err := s.c.SetSendBuffer(200000); err != nil || s.c.SendBuffer() != 200000 {
		t.Fatalf("SetSendBuffer(200000): %v, size %d", err, s.c.SendBuffer())
	}
	if n, _ := s.c.Write(data(300000)); n != 200000 {
		t.Fatalf("wrote %d bytes into a 200,000-byte buffer", n)
	}
}

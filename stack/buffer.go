package stack

// ring is a byte ring buffer with a fixed logical capacity (limit) whose
// backing array grows on demand, in powers of two, up to limit: an idle
// connection costs little memory, a busy one stops allocating once its
// buffer has reached its working size.
//
// Bytes [0, n) counted from head are the buffer's contents. The receive
// side also stores out-of-order data at offsets beyond n (writeAt) and
// later extends n over it (see reassembly.go).
//
// When the ring becomes empty, with nothing stored beyond n either, head
// moves back to the start of buf: a reader that keeps up (the usual case on
// the receive side) then keeps using the same few cache-hot kilobytes
// instead of walking the whole buffer. Only where the bytes sit changes.
type ring struct {
	buf   []byte // backing array; len is 0 or a power of two ≥ 1 KiB, or limit
	head  int    // index in buf of the first byte
	n     int    // bytes of content; 0 ≤ n ≤ limit + over
	limit int    // logical capacity
	// over is how far beyond limit write may fill the ring: 0 except for
	// a send ring under TCPConfig.SendBufferPerChunk, whose writes check
	// the limit only before each new chunk (socket.go).
	over int
	hi   int // end of the furthest byte stored (content or beyond), from head

	// Host memory (issue 10 item 6, memory.go): the account len(buf) is
	// charged to; nil for a ring that belongs to no host.
	mem *hostMem
}

func newRing(limit int) ring { return ring{limit: limit} }

// grow makes room for at least size bytes from head, keeping the first
// keep bytes. It never grows beyond limit + over.
func (r *ring) grow(size, keep int) {
	if size <= len(r.buf) {
		return
	}
	r.realloc(r.capFor(size), keep)
}

// capFor is the backing-array size grow allocates for size bytes: the
// least power of two ≥ max(size, 1 KiB), at most limit + over.
func (r *ring) capFor(size int) int {
	c := 1024
	for c < size {
		c *= 2
	}
	return min(c, r.hardLimit())
}

// hardLimit is the most the ring may hold: limit, plus over.
func (r *ring) hardLimit() int { return r.limit + r.over }

// realloc replaces the backing array by one of c bytes holding the first
// keep bytes, and charges the difference to the host's memory account.
func (r *ring) realloc(c, keep int) {
	var nb []byte
	if r.mem != nil {
		nb = r.mem.pool.take(c)
	}
	if nb == nil {
		nb = make([]byte, c)
	}
	if keep > 0 {
		r.copyOut(nb[:keep], 0)
	}
	if r.mem != nil {
		r.mem.charge(c - len(r.buf))
		r.mem.recycle(r.buf)
	}
	r.buf, r.head = nb, 0
}

// recycle keeps b for reuse, except under memory pressure, when freeing
// memory is the point.
func (m *hostMem) recycle(b []byte) {
	if m.pressure {
		m.pool = arrayPool{}
		return
	}
	m.pool.put(b)
}

// arrayPool keeps the backing arrays of released and outgrown rings, by
// length, for the host's next rings to reuse: with many short connections
// each would otherwise allocate (and grow by doubling) its own arrays, and
// the garbage collector would spend its time on them. A ring only ever
// reads bytes it wrote, so an array's old contents never show. At most
// poolMax bytes are kept; arrays beyond that are left to the collector.
type arrayPool struct {
	bySize map[int][][]byte
	bytes  int
}

const poolMax = 32 << 20

func (p *arrayPool) take(n int) []byte {
	l := p.bySize[n]
	if len(l) == 0 {
		return nil
	}
	b := l[len(l)-1]
	l[len(l)-1] = nil
	p.bySize[n] = l[:len(l)-1]
	p.bytes -= n
	return b
}

func (p *arrayPool) put(b []byte) {
	if len(b) == 0 || p.bytes+len(b) > poolMax {
		return
	}
	if p.bySize == nil {
		p.bySize = make(map[int][][]byte)
	}
	p.bySize[len(b)] = append(p.bySize[len(b)], b)
	p.bytes += len(b)
}

// copyOut copies len(dst) bytes starting at logical offset off into dst.
func (r *ring) copyOut(dst []byte, off int) {
	if len(dst) == 0 {
		return
	}
	start := r.index(off)
	k := copy(dst, r.buf[start:])
	copy(dst[k:], r.buf)
}

// slices returns the content bytes [off, off+length) as up to two slices
// aliasing the buffer.
func (r *ring) slices(off, length int) ([]byte, []byte) {
	if length == 0 {
		return nil, nil
	}
	start := r.index(off)
	if start+length <= len(r.buf) {
		return r.buf[start : start+length], nil
	}
	first := len(r.buf) - start
	return r.buf[start:], r.buf[:length-first]
}

func (r *ring) index(off int) int {
	i := r.head + off
	if i >= len(r.buf) {
		i -= len(r.buf)
	}
	return i
}

// write appends as much of p as fits and returns the count.
func (r *ring) write(p []byte) int {
	k := min(len(p), r.hardLimit()-r.n)
	if k <= 0 {
		return 0
	}
	r.grow(r.n+k, r.n)
	r.writeAt(r.n, p[:k])
	r.n += k
	return k
}

// writeAt stores p at logical offset off without changing n. The caller
// guarantees off+len(p) ≤ limit + over.
func (r *ring) writeAt(off int, p []byte) {
	if len(p) == 0 {
		return
	}
	if off+len(p) > len(r.buf) {
		// keep everything up to the largest offset that may hold data
		r.grow(off+len(p), min(len(r.buf), r.hardLimit()))
	}
	start := r.index(off)
	k := copy(r.buf[start:], p)
	copy(r.buf, p[k:])
	if e := off + len(p); e > r.hi {
		r.hi = e
	}
}

// read moves up to len(p) bytes from the front into p.
func (r *ring) read(p []byte) int {
	k := min(len(p), r.n)
	r.copyOut(p[:k], 0)
	r.drop(k) // discard, with its memory-pressure step written out
	if r.mem != nil && r.mem.pressure {
		r.reclaim()
	}
	return k
}

// discard drops k bytes from the front and, under memory pressure, gives
// back what the array no longer needs.
func (r *ring) discard(k int) {
	r.drop(k)
	if r.mem != nil && r.mem.pressure {
		r.reclaim()
	}
}

// drop is discard without the memory-pressure step, small enough to
// inline; a caller of drop does that step itself.
func (r *ring) drop(k int) {
	if k == 0 {
		return
	}
	r.n -= k
	r.hi -= k
	if r.n == 0 && r.hi <= 0 {
		r.head, r.hi = 0, 0
	} else {
		r.head = r.index(k)
	}
}

// release frees the backing array (the connection is gone).
func (r *ring) release() {
	if r.mem != nil {
		r.mem.charge(-len(r.buf))
		r.mem.recycle(r.buf)
	}
	r.buf, r.head, r.n, r.hi = nil, 0, 0, 0
}

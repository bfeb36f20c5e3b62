package sim

import (
	"fmt"
	"time"
)

// Priority orders events scheduled for the same instant: lower runs first.
// Events with equal time and priority run in the order they were scheduled.
type Priority int8

// Priorities used by the simulator. Callers may use any value in between.
const (
	// PrioService runs before anything else at its instant. The wall-clock
	// driver services kicks from application goroutines at this priority,
	// so that the stack reads application state before doing other work.
	PrioService Priority = -64
	// PrioDefault is the priority of At, After, link deliveries, host
	// timers and task resumptions.
	PrioDefault Priority = 0
	// PrioLate runs after everything else at its instant.
	PrioLate Priority = 63
)

// Handler is the allocation-free form of an event callback: the scheduler
// calls HandleEvent(arg) with the arg given to Schedule. Passing a pointer as
// arg and a long-lived Handler (a pointer receiver) costs no allocation.
type Handler interface {
	HandleEvent(arg any)
}

// event is one pooled record in the queue. Records are reused after they
// fire or are cancelled; gen tells a stale Timer from a live one.
type event struct {
	at   time.Duration
	seq  uint64
	prio Priority
	idx  int32 // position in the heap, -1 when not queued
	gen  uint32
	h    Handler
	fn   func()
	arg  any
}

// Timer identifies one scheduled event so that it can be cancelled. The zero
// Timer is valid and refers to nothing.
type Timer struct {
	e   *event
	gen uint32
}

// Pending reports whether the event is still queued.
func (t Timer) Pending() bool { return t.e != nil && t.e.gen == t.gen && t.e.idx >= 0 }

// When returns the time the event is scheduled for; ok is false when the
// event already ran or was cancelled.
func (t Timer) When() (at time.Duration, ok bool) {
	if !t.Pending() {
		return 0, false
	}
	return t.e.at, true
}

// Scheduler is the event queue and the clock. It is not safe for concurrent
// use: everything that touches it runs in scheduler context (inside an event,
// inside a task, or on the goroutine that drives it while it is stopped).
// Use Loop's methods from other goroutines.
//
// The queue is a binary heap of pooled event records: in steady state,
// scheduling and running an event allocates nothing.
type Scheduler struct {
	now     time.Duration
	seq     uint64
	heap    []*event
	free    []*event
	fired   uint64
	stopped bool
	// held counts events whose key was taken with reserveSeq but that wait
	// outside the heap (a link direction's in-order deliveries, see
	// direction.enqueue); Len includes them.
	held int
}

// Now returns the current virtual time: the time of the event being run, or
// of the last event run when the scheduler is idle.
func (s *Scheduler) Now() time.Duration { return s.now }

// Len returns the number of queued events.
func (s *Scheduler) Len() int { return len(s.heap) + s.held }

// Fired returns how many events have run since the scheduler was created.
func (s *Scheduler) Fired() uint64 { return s.fired }

// Next returns the time of the earliest queued event.
func (s *Scheduler) Next() (time.Duration, bool) {
	if len(s.heap) == 0 {
		return 0, false
	}
	return s.heap[0].at, true
}

// At schedules fn at virtual time t (clamped to Now if in the past) with
// PrioDefault. Prefer Schedule with a long-lived Handler on hot paths: a
// closure created per call allocates.
func (s *Scheduler) At(t time.Duration, fn func()) Timer {
	return s.push(t, PrioDefault, nil, fn, nil)
}

// After schedules fn d after Now.
func (s *Scheduler) After(d time.Duration, fn func()) Timer {
	return s.push(s.now+d, PrioDefault, nil, fn, nil)
}

// Schedule queues h.HandleEvent(arg) at time t (clamped to Now if in the
// past) with priority p.
func (s *Scheduler) Schedule(t time.Duration, p Priority, h Handler, arg any) Timer {
	return s.push(t, p, h, nil, arg)
}

// ScheduleFunc queues fn at time t with priority p.
func (s *Scheduler) ScheduleFunc(t time.Duration, p Priority, fn func()) Timer {
	return s.push(t, p, nil, fn, nil)
}

// Cancel removes a pending event. It reports whether the event was pending;
// cancelling a Timer that already ran or was cancelled is a no-op.
func (s *Scheduler) Cancel(t Timer) bool {
	if !t.Pending() {
		return false
	}
	e := t.e
	s.remove(int(e.idx))
	s.release(e)
	return true
}

// Stop makes the running driver return after the current event. Run and
// RunUntil clear it when they start.
func (s *Scheduler) Stop() { s.stopped = true }

func (s *Scheduler) push(t time.Duration, p Priority, h Handler, fn func(), arg any) Timer {
	if t < s.now {
		t = s.now
	}
	s.seq++
	return s.pushSeq(t, p, h, fn, arg, s.seq)
}

// reserveSeq takes the sequence number the next event scheduled would get,
// so that an event can enter the heap later (with pushSeq) and still run
// exactly where it would have run had it been scheduled now.
func (s *Scheduler) reserveSeq() uint64 {
	s.seq++
	return s.seq
}

// pushSeq queues an event with an explicit sequence number (from push or
// reserveSeq). t must not be before Now.
func (s *Scheduler) pushSeq(t time.Duration, p Priority, h Handler, fn func(), arg any, seq uint64) Timer {
	var e *event
	if n := len(s.free); n > 0 {
		e = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		e = &event{}
	}
	e.at, e.prio, e.seq, e.h, e.fn, e.arg = t, p, seq, h, fn, arg
	e.idx = int32(len(s.heap))
	s.heap = append(s.heap, e)
	s.up(len(s.heap) - 1)
	return Timer{e: e, gen: e.gen}
}

func (s *Scheduler) release(e *event) {
	e.idx = -1
	e.gen++
	e.h, e.fn, e.arg = nil, nil, nil
	s.free = append(s.free, e)
}

// step runs the earliest event if its time is <= limit. It reports whether
// an event ran.
func (s *Scheduler) step(limit time.Duration) bool {
	if len(s.heap) == 0 {
		return false
	}
	e := s.heap[0]
	if e.at > limit {
		return false
	}
	s.remove(0)
	s.now = e.at
	h, fn, arg := e.h, e.fn, e.arg
	s.release(e)
	s.fired++
	if h != nil {
		h.HandleEvent(arg)
	} else {
		fn()
	}
	return true
}

func less(a, b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.prio != b.prio {
		return a.prio < b.prio
	}
	return a.seq < b.seq
}

func (s *Scheduler) up(i int) {
	h := s.heap
	e := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if !less(e, h[p]) {
			break
		}
		h[i] = h[p]
		h[i].idx = int32(i)
		i = p
	}
	h[i] = e
	e.idx = int32(i)
}

func (s *Scheduler) down(i int) {
	h := s.heap
	n := len(h)
	e := h[i]
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && less(h[r], h[c]) {
			c = r
		}
		if !less(h[c], e) {
			break
		}
		h[i] = h[c]
		h[i].idx = int32(i)
		i = c
	}
	h[i] = e
	e.idx = int32(i)
}

func (s *Scheduler) remove(i int) {
	n := len(s.heap) - 1
	if i != n {
		s.heap[i] = s.heap[n]
		s.heap[i].idx = int32(i)
	}
	s.heap[n] = nil
	s.heap = s.heap[:n]
	if i < n {
		s.down(i)
		s.up(i)
	}
}

// String describes the scheduler's state for debugging.
func (s *Scheduler) String() string {
	next := "none"
	if t, ok := s.Next(); ok {
		next = t.String()
	}
	return fmt.Sprintf("scheduler now=%v queued=%d next=%s fired=%d", s.now, len(s.heap), next, s.fired)
}

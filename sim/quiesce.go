package sim

import (
	"bytes"
	"runtime"
	"sync/atomic"
	"time"
)

// A virtual loop (StartVirtualLoop) may move its clock only when nothing
// else can happen at the current instant: when every goroutine of the
// process other than the loop's own is blocked. The runtime knows that
// but says it only through testing/synctest (tests only) and through its
// goroutine dump, so settle reads the dump: each goroutine's header names
// its state ("goroutine 7 [chan receive]:"), and a goroutine that runs or
// is ready to run ("running", "runnable", "syscall", ...) means wait.
//
// The dump is taken with the world stopped, so it is one consistent
// picture. A goroutine woken by the loop (a reader whose data arrived)
// is runnable from the moment it is woken, so it is never missed; a
// goroutine that submits work does so before it blocks, so the work is
// seen once the dump shows it blocked. What counts as blocked:
// channel operations, select, mutexes, condition variables, wait groups,
// sleeps and real timers, network polls. Goroutines inside another
// virtual loop's settle (a second simulation in the same process) are
// ignored, so two loops do not wait for each other.

// A dump costs tens of microseconds, so settle takes one only when a
// goroutine may have woken since the last one found all blocked: when the
// socket layer woke a blocked call, or the loop serviced submitted work
// (which wakes Call's caller and may run any code). Every such place
// calls noteWake. Goroutines that wake by themselves (a real timer) are
// not waited for in any case, and work they submit is a wake.
var loopWakes atomic.Uint64

// syscallPatience is how long settle waits for a goroutine in a system
// call before it counts as blocked.
const syscallPatience = 10 * time.Millisecond

// noteWake records that a goroutine may have been woken.
func noteWake() { loopWakes.Add(1) }

// quiescence is the loop goroutine's scratch space for settle.
type quiescence struct {
	buf   []byte
	seen  uint64 // loopWakes at the last dump that found all blocked
	valid bool   // seen is set
	polls uint64 // dumps taken (for tests)
}

// settleFrame names the function whose goroutines other loops ignore.
var settleFrame = []byte("tcpsim/sim.(*Loop).settle(")

// settle returns once every goroutine but the caller is blocked.
func (l *Loop) settle() {
	q := &l.q
	g := loopWakes.Load()
	if q.valid && g == q.seen {
		return // all were blocked, and nothing has woken any since
	}
	var since time.Time
	for spins := 0; ; spins++ {
		// Let goroutines that are ready run first: with GOMAXPROCS=1 one
		// yield usually lets all of them reach their next block.
		runtime.Gosched()
		lenient := false
		if spins == 100 {
			since = time.Now()
		} else if spins > 100 {
			lenient = time.Since(since) > syscallPatience
		}
		if q.quiet(lenient) {
			q.seen, q.valid = g, true
			return
		}
		g = loopWakes.Load()
		if spins > 1000 {
			// Something computes for a while (or another process's
			// goroutine spins): stop burning a core while it does.
			time.Sleep(50 * time.Microsecond)
		}
	}
}

// quiet takes one dump and reports whether every other goroutine is
// blocked.
func (q *quiescence) quiet(lenient bool) bool {
	if q.buf == nil {
		q.buf = make([]byte, 64<<10)
	}
	for {
		n := runtime.Stack(q.buf, true)
		if n < len(q.buf) {
			q.polls++
			return allBlocked(q.buf[:n], lenient)
		}
		q.buf = make([]byte, 2*len(q.buf))
	}
}

// allBlocked reads a dump of all goroutines (runtime.Stack(buf, true),
// the caller's first) and reports whether all but the first are blocked;
// lenient counts goroutines in system calls as blocked.
func allBlocked(dump []byte, lenient bool) bool {
	first := true
	for len(dump) > 0 {
		var g []byte
		if i := bytes.Index(dump, []byte("\n\n")); i >= 0 {
			g, dump = dump[:i], dump[i+2:]
		} else {
			g, dump = dump, nil
		}
		if !bytes.HasPrefix(g, []byte("goroutine ")) {
			continue
		}
		if first {
			first = false
			continue
		}
		if !blocked(g, lenient) {
			return false
		}
	}
	return true
}

// blocked judges one goroutine's entry in the dump. A goroutine in a
// system call is running, except the runtime's own receivers that wait
// in one (os/signal's, the CPU profiler's) and, when lenient, any: a call
// that has lasted through settle's patience (a read of the terminal) waits
// for the world outside, which the simulation does not wait for.
func blocked(g []byte, lenient bool) bool {
	st := goroutineState(g)
	if blockedState(st) || bytes.Contains(g, settleFrame) {
		return true
	}
	if string(st) != "syscall" {
		return false
	}
	if lenient {
		return true
	}
	for _, f := range runtimeReceivers {
		if bytes.Contains(g, f) {
			return true
		}
	}
	return false
}

// runtimeReceivers are functions that wait inside the runtime in a state
// the dump shows as a system call.
var runtimeReceivers = [][]byte{
	[]byte("\nos/signal.signal_recv("),
	[]byte("\nruntime/pprof.readProfile("),
}

// goroutineState returns the state in a goroutine's header line,
// "goroutine 7 [chan receive, 2 minutes]:" → "chan receive".
func goroutineState(g []byte) []byte {
	i := bytes.IndexByte(g, '[')
	if i < 0 {
		return nil
	}
	s := g[i+1:]
	if j := bytes.IndexAny(s, ",]"); j >= 0 {
		s = s[:j]
	}
	return s
}

// blockedState reports whether a goroutine in state s waits for another
// goroutine, a timer or I/O, rather than running or being about to.
func blockedState(s []byte) bool {
	switch string(s) {
	case "running", "runnable", "preempted", "syscall", "GC assist wait", "GC assist marking",
		"GC worker (active)", "GC mark termination", "garbage collection", "stopping the world",
		"debug call", "trace goroutine status":
		return false
	}
	return len(s) > 0
}

package sim

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Loop is the wall-clock driver: one goroutine that runs the world's events
// when the time package says they are due. Outside tests that is real time
// (for TUN devices); inside a testing/synctest bubble it is the bubble's fake
// clock, so goroutines such as net/http clients and servers can use the
// simulated network and a test finishes in milliseconds of real time.
//
// Events still run one at a time on the loop goroutine, with Now equal to
// each event's scheduled time (the clock does not drift with scheduling
// latency). Other goroutines never touch the world directly: they keep their
// own state under their own mutex and ask the loop to act through Kick, Do
// or Call. Work they submit runs in a service event one nanosecond after the
// submission's virtual time, at PrioService, so it runs before anything else
// at that instant. Inside synctest the service runs only after every
// goroutine of the bubble has blocked, so what it reads is deterministic.
//
// Rules that keep a simulation under Loop deterministic and hang-free: never
// hold a mutex across a blocking wait; create the World and the Loop inside
// the synctest bubble; with net/http, close idle connections, shut the
// server down and wait for Serve to return before closing the Loop.
type Loop struct {
	w     *World
	start time.Time     // wall time when the loop started
	base  time.Duration // virtual time when the loop started
	kick  chan struct{}

	// virtual is set for StartVirtualLoop: the clock is vnow, which moves
	// only when every other goroutine is blocked (quiesce.go).
	virtual bool
	vnow    atomic.Int64
	q       quiescence // used only on the loop goroutine
	done    chan struct{}

	mu      sync.Mutex
	kicks   []kickEnt      // guarded by mu
	kickIdx map[uint64]int // guarded by mu: key → index in kicks
	dos     []func()       // guarded by mu
	closing bool           // guarded by mu
	dropped int            // guarded by mu

	// used only on the loop goroutine
	svcPending bool
	runKicks   []kickEnt
	runDos     []func()
	// stopHooks run once the loop has stopped, in key order: the socket
	// layer registers one per live socket (key = socket id) to fail the
	// calls blocked on it, which nothing would service any more.
	stopHooks map[uint64]func()
}

type kickEnt struct {
	key uint64
	fn  func()
}

// StartLoop starts the wall-clock driver on w. Virtual time continues from
// w.Now() and then advances with the time package. While the loop runs, the
// world belongs to it: do not call Run, RunUntil or any World method from
// other goroutines; use Kick, Do or Call.
func (w *World) StartLoop() (*Loop, error) { return w.startLoop(false) }

// StartVirtualLoop starts the loop driver on virtual time outside a
// testing/synctest bubble: it runs the world's events in order, and moves
// the clock to the next event only once every other goroutine of the
// process is blocked (on a socket, a channel, a mutex, a sleep). So
// goroutines of any kind — net/http's servers and transports, Go's DNS
// resolver — use the simulated network on virtual time, a transfer over a
// 1 s path takes microseconds of real time, and the work they submit is
// serviced in the same order every run.
//
// Deadlines given to its sockets are best computed from Net.Now, which on
// a virtual loop is the world's epoch plus virtual time. A deadline
// computed from time.Now (as net/http and Go's resolver do) means the
// same distance from the virtual now, rounded up to the millisecond; the
// real time between computing and setting it (normally microseconds, more
// on a loaded machine) is lost, so such a deadline repeats exactly only
// while that stays under a millisecond (simdns.GoResolver rounds its own
// to the second). Timers of the time package (time.Sleep,
// time.AfterFunc, context deadlines) still run on real time; while one
// is pending the loop does not wait for it, so code that must act at a
// virtual time should use the sockets' deadlines. Other goroutines that
// keep running (a busy loop, a parallel test) hold the clock still until
// they block. See docs/sim.md, "The virtual loop".
func (w *World) StartVirtualLoop() (*Loop, error) { return w.startLoop(true) }

func (w *World) startLoop(virtual bool) (*Loop, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	if w.loop != nil {
		return nil, errors.New("sim: a Loop is already driving this world")
	}
	if w.tasks.current != nil {
		return nil, errors.New("sim: StartLoop called from a task")
	}
	l := &Loop{
		w:       w,
		start:   time.Now(),
		base:    w.now,
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		kickIdx: make(map[uint64]int),
		virtual: virtual,
	}
	l.vnow.Store(int64(w.now))
	w.loop = l
	w.stopped = false
	if virtual {
		go l.runVirtual()
	} else {
		go l.run()
	}
	return l, nil
}

// World returns the world the loop drives.
func (l *Loop) World() *World { return l.w }

// Now returns the virtual time that corresponds to the wall clock now (for
// a virtual loop, the clock the loop has reached). It may be called from
// any goroutine.
func (l *Loop) Now() time.Duration {
	if l.virtual {
		return time.Duration(l.vnow.Load())
	}
	return l.base + time.Since(l.start)
}

// frame turns a deadline given to one of the loop's sockets into the
// loop's own terms. On the wall clock it is unchanged. On a virtual loop a
// deadline on the simulator's clock (Net.Now: the world's epoch plus
// virtual time) is taken as it is; one on the wall clock (time.Now, as
// net/http and other libraries compute them) counts its distance from the
// wall clock now from the virtual now, rounded up to the millisecond, so
// that the real time spent between computing it and setting it (under a
// millisecond, normally) does not show.
func (l *Loop) frame(t time.Time) time.Time {
	if !l.virtual || t.IsZero() {
		return t
	}
	vnow := l.w.Epoch().Add(l.Now())
	wall := time.Now()
	if absDur(t.Sub(vnow)) <= absDur(t.Sub(wall)) {
		return t
	}
	d := t.Sub(wall)
	if r := d % time.Millisecond; r > 0 {
		d += time.Millisecond - r
	} else if r < 0 {
		d -= r
	}
	at := l.Now() + d
	if at <= 0 {
		at = 1 // long past, but not the zero time ("no deadline")
	}
	return l.w.Epoch().Add(at)
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// passed reports whether deadline t (zero: none), in the loop's terms, has
// come.
func (l *Loop) passed(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	if !l.virtual {
		return !time.Now().Before(t)
	}
	return !l.w.Epoch().Add(l.Now()).Before(t)
}

// stopper is a timer that can be stopped: *time.Timer, or a virtual timer.
type stopper interface{ Stop() bool }

// afterFunc runs f on its own goroutine's terms when deadline t (in the
// loop's terms) comes: a time.AfterFunc on the wall clock, an event in
// the world on a virtual loop (f then runs on the loop goroutine and must
// not block).
func (l *Loop) afterFunc(t time.Time, f func()) stopper {
	if !l.virtual {
		return time.AfterFunc(time.Until(t), f)
	}
	vt := &vtimer{l: l}
	at := t.Sub(l.w.Epoch())
	l.Do(func() {
		if !vt.stopped {
			vt.t = l.w.At(at, func() {
				vt.fired = true
				noteWake() // f wakes a blocked call, by whatever means
				f()
			})
		}
	})
	return vt
}

// vtimer is afterFunc's timer on a virtual loop. Its fields are used only
// in scheduler context.
type vtimer struct {
	l              *Loop
	t              Timer
	stopped, fired bool
}

// Stop cancels the event (through the loop, where the timer lives). It
// reports true, as it cannot know yet whether the event ran; callers
// here do not use the result.
func (v *vtimer) Stop() bool {
	v.l.Do(func() {
		v.stopped = true
		if !v.fired {
			v.l.w.Cancel(v.t)
		}
	})
	return true
}

// Virtual reports whether the loop runs on virtual time (StartVirtualLoop).
func (l *Loop) Virtual() bool { return l.virtual }

// Kick asks the loop to run fn in scheduler context one nanosecond after
// Now. Kicks pending at the same service run in ascending key order, and a
// key kicked again before its service ran keeps only the latest fn, so
// several goroutines kicking their own sockets (key = socket id) give the
// same order every run. It may be called from any goroutine, including the
// loop's own. After Close starts, kicks are dropped.
func (l *Loop) Kick(key uint64, fn func()) {
	l.mu.Lock()
	if l.closing {
		l.dropped++
		l.mu.Unlock()
		return
	}
	if i, ok := l.kickIdx[key]; ok {
		l.kicks[i].fn = fn
	} else {
		l.kickIdx[key] = len(l.kicks)
		l.kicks = append(l.kicks, kickEnt{key, fn})
	}
	l.mu.Unlock()
	l.wake()
}

// Do asks the loop to run fn in scheduler context one nanosecond after Now,
// after the keyed kicks of the same service, in the order Do was called
// (deterministic when the calls come from one goroutine; use Kick to order
// work from several). It does not wait. After Close starts, fn is dropped.
func (l *Loop) Do(fn func()) {
	l.mu.Lock()
	if l.closing {
		l.dropped++
		l.mu.Unlock()
		return
	}
	l.dos = append(l.dos, fn)
	l.mu.Unlock()
	l.wake()
}

// Call runs fn in scheduler context like Do and waits until it has run. It
// returns ErrClosed if the loop closed before running it. It must not be
// called from scheduler context (it would wait for itself).
func (l *Loop) Call(fn func()) error {
	ran := make(chan struct{})
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return ErrClosed
	}
	l.dos = append(l.dos, func() { fn(); noteWake(); close(ran) })
	l.mu.Unlock()
	l.wake()
	select {
	case <-ran:
		return nil
	case <-l.done:
		select {
		case <-ran:
			return nil
		default:
			return ErrClosed
		}
	}
}

// Dropped returns how many Kick and Do calls arrived after Close started.
func (l *Loop) Dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// Close stops the loop gracefully: work already submitted with Kick, Do and
// Call is serviced (with the events due before it), then the goroutine
// exits. Events scheduled later stay queued; the world can be driven again
// afterwards (by Run or another Loop), but the sockets of a NewLoopNet on
// this loop are finished: calls blocked on them, and later ones, fail with
// net.ErrClosed. Close waits for the goroutine and may be called more than
// once, but not from scheduler context.
func (l *Loop) Close() error {
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
	l.wake()
	<-l.done
	return nil
}

// Done is closed when the loop goroutine has exited.
func (l *Loop) Done() <-chan struct{} { return l.done }

func (l *Loop) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// exit ends either driver goroutine: the watchdog stops, the world is
// released, the stop hooks fail what still waits on the loop's sockets, and
// Done closes last.
func (l *Loop) exit() {
	l.w.tasks.stopWatchdog()
	l.w.loop = nil
	l.runStopHooks()
	close(l.done)
}

// submitted reports whether goroutines have submitted work and whether
// Close has begun, and schedules the service of that work one nanosecond
// after now if it is not scheduled yet.
func (l *Loop) submitted(now time.Duration) (work, closing bool) {
	l.mu.Lock()
	work = len(l.kicks) > 0 || len(l.dos) > 0
	closing = l.closing
	l.mu.Unlock()
	if work && !l.svcPending {
		l.svcPending = true
		l.w.Schedule(now+1, PrioService, l, nil)
	}
	return work, closing
}

func (l *Loop) run() {
	w := l.w
	defer l.exit()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		now := max(l.Now(), w.now)
		work, closing := l.submitted(now)
		// Run everything due; Now follows each event's scheduled time.
		ran := false
		for w.step(now) {
			ran = true
		}
		if ran {
			continue // events may have submitted work or closed the loop
		}
		if closing && !work && !l.svcPending {
			return
		}
		next, ok := w.Next()
		if !ok {
			<-l.kick
			continue
		}
		d := next - l.Now()
		if d <= 0 {
			continue
		}
		timer.Reset(d)
		select {
		case <-l.kick:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// runVirtual is run for a virtual loop: wait until every other goroutine
// is blocked, schedule the service of the work they submitted, then run
// the next event, moving the clock to its time.
func (l *Loop) runVirtual() {
	w := l.w
	defer l.exit()
	for {
		l.settle()
		now := w.now
		work, closing := l.submitted(now)
		if closing && !work && !l.svcPending {
			return
		}
		next, ok := w.Next()
		if !ok {
			// Nothing is due on virtual time: only a goroutine can bring
			// work, when something outside the simulation (a real timer,
			// the user) wakes it.
			<-l.kick
			continue
		}
		select {
		case <-l.kick: // consumed: the work it announced is in l.kicks/l.dos
		default:
		}
		if next > now {
			l.vnow.Store(int64(next))
		}
		// One event at a time: what it wakes runs until it blocks again
		// before the next event, even within one instant, so no event
		// races a goroutine (the next settle waits for it).
		w.step(next)
	}
}

// HandleEvent is the service event (Handler): it runs the pending kicks in
// key order, then the pending Do functions in order.
func (l *Loop) HandleEvent(any) {
	noteWake() // the functions may wake goroutines by any means
	l.svcPending = false
	l.mu.Lock()
	l.runKicks, l.kicks = l.kicks, l.runKicks[:0]
	l.runDos, l.dos = l.dos, l.runDos[:0]
	clear(l.kickIdx)
	l.mu.Unlock()
	slices.SortFunc(l.runKicks, func(a, b kickEnt) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	for i := range l.runKicks {
		fn := l.runKicks[i].fn
		l.runKicks[i].fn = nil
		fn()
	}
	for i, fn := range l.runDos {
		l.runDos[i] = nil
		fn()
	}
}

// onStop registers fn to run on the loop goroutine when the loop stops,
// after its last event, replacing an earlier fn with the same key. Hooks
// run in ascending key order. Scheduler context only (the loop's own
// goroutine), like offStop.
func (l *Loop) onStop(key uint64, fn func()) {
	if l.stopHooks == nil {
		l.stopHooks = make(map[uint64]func())
	}
	l.stopHooks[key] = fn
}

// offStop removes the hook registered under key.
func (l *Loop) offStop(key uint64) { delete(l.stopHooks, key) }

func (l *Loop) runStopHooks() {
	keys := make([]uint64, 0, len(l.stopHooks))
	for k := range l.stopHooks {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		l.stopHooks[k]()
	}
	l.stopHooks = nil
}

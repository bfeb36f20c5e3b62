package sim

import (
	"errors"
	"slices"
	"sync"
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
	done  chan struct{}

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
func (w *World) StartLoop() (*Loop, error) {
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
	}
	w.loop = l
	w.stopped = false
	go l.run()
	return l, nil
}

// World returns the world the loop drives.
func (l *Loop) World() *World { return l.w }

// Now returns the virtual time that corresponds to the wall clock now. It
// may be called from any goroutine.
func (l *Loop) Now() time.Duration { return l.base + time.Since(l.start) }

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
	l.dos = append(l.dos, func() { fn(); close(ran) })
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

func (l *Loop) run() {
	w := l.w
	defer close(l.done)
	defer l.runStopHooks() // after the world is released (deferred below)
	defer func() { w.loop = nil }()
	defer w.tasks.stopWatchdog()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		l.mu.Lock()
		work := len(l.kicks) > 0 || len(l.dos) > 0
		closing := l.closing
		l.mu.Unlock()
		now := l.Now()
		if now < w.now {
			now = w.now
		}
		if work && !l.svcPending {
			l.svcPending = true
			w.Schedule(now+1, PrioService, l, nil)
		}
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

// HandleEvent is the service event (Handler): it runs the pending kicks in
// key order, then the pending Do functions in order.
func (l *Loop) HandleEvent(any) {
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

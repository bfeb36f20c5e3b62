package sim

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Tasks let applications be written as straight-line blocking code on
// virtual time. A task is a goroutine that the scheduler resumes from an
// event and waits for until it parks again in a simulator call (Sleep,
// Wait, Yield) or returns. Only one task runs at a time and the clock does
// not move while it runs, so a task runs in scheduler context and may call
// into stacks, links and the world directly.
//
// Park/resume uses channels (BenchmarkTaskSleep: about 1.5× a bare channel
// round trip, 7× an iter.Pull coroutine switch) because with channels the
// scheduler can stop waiting for a task that blocked outside the simulator
// and report it (the watchdog), which a coroutine switch cannot do.

// Task is a blocking-style activity run by the virtual driver. Its methods
// must be called only from the task's own goroutine (the function given to
// Spawn and what it calls), except Name, ID and Done.
type Task struct {
	w     *World
	id    int
	idx   int // position in taskState.all
	name  string
	fn    func(*Task)
	wake  chan struct{}
	state taskStatus
	timer Timer // pending resume (sleep end or wait deadline)

	waitOn    *WaitQueue
	waitSince time.Duration
	woken     bool

	killed, exiting bool
	done            atomic.Bool
	// gid is the goroutine's id, for the watchdog's report. The task's
	// goroutine stores it when it starts and the watchdog loads it from
	// its own goroutine; a task that blocks outside the simulator on its
	// first run never hands off through a channel in between, so the
	// access must be atomic.
	gid        atomic.Uint64
	panicVal   any
	panicStack []byte
}

type taskStatus uint8

const (
	taskNew taskStatus = iota
	taskRunnable
	taskRunning
	taskSleeping
	taskWaiting
	taskDone
)

var statusNames = [...]string{"new", "runnable", "running", "sleeping", "waiting", "done"}

// deadlineArg marks the resume event of a wait deadline.
type deadlineArg struct{}

var deadlineMark = &deadlineArg{}

type taskState struct {
	w       *World
	all     []*Task // live tasks in spawn order; nil where one has finished
	dead    int     // nil entries in all
	nextID  int
	current *Task
	parked  chan *Task
	err     error // set when a task is stuck: the world cannot continue

	// watchdog
	gen     atomic.Uint64 // odd while a task runs
	running atomic.Pointer[Task]
	wdStop  chan struct{}
	wdDone  chan struct{}
	abort   chan struct{}
	stack   []byte // stack dump captured by the watchdog
}

func (ts *taskState) init(w *World) {
	ts.w = w
	ts.parked = make(chan *Task)
	ts.abort = make(chan struct{})
}

// Spawn creates a task that starts running fn at the current virtual time,
// after the events already queued for this instant. It may be called before
// the world runs, from an event or from another task.
func (w *World) Spawn(name string, fn func(*Task)) *Task {
	w.mustBeUsable()
	if fn == nil {
		panic(fmt.Sprintf("sim: Spawn(%q, nil): the task needs a function", name))
	}
	ts := &w.tasks
	ts.nextID++
	t := &Task{w: w, id: ts.nextID, idx: len(ts.all), name: name, fn: fn, wake: make(chan struct{})}
	ts.all = append(ts.all, t)
	go t.main()
	t.timer = w.Schedule(w.now, PrioDefault, t, nil)
	return t
}

// CurrentTask returns the task running now, or nil outside tasks.
func (w *World) CurrentTask() *Task { return w.tasks.current }

// Tasks returns the live (not finished) tasks in spawn order.
func (w *World) Tasks() []*Task { return w.tasks.live() }

// live returns the live tasks in spawn order, in a new slice.
func (ts *taskState) live() []*Task {
	out := make([]*Task, 0, len(ts.all)-ts.dead)
	for _, t := range ts.all {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

func (t *Task) main() {
	t.gid.Store(goroutineID())
	ts := &t.w.tasks
	defer func() {
		if r := recover(); r != nil {
			t.panicVal = r
			t.panicStack = debug.Stack()
		}
		t.done.Store(true)
		select {
		case ts.parked <- t:
		case <-ts.abort: // the world is broken; nobody will receive
		}
	}()
	<-t.wake
	if t.killed {
		t.exiting = true
		return
	}
	t.fn(t)
}

// Name returns the name given to Spawn.
func (t *Task) Name() string { return t.name }

// ID returns the task's number: 1 for the first task spawned in the world.
func (t *Task) ID() int { return t.id }

// Done reports whether the task has returned.
func (t *Task) Done() bool { return t.done.Load() }

// World returns the task's world.
func (t *Task) World() *World { return t.w }

// Now returns the current virtual time.
func (t *Task) Now() time.Duration { return t.w.now }

// String describes the task and what it is doing.
func (t *Task) String() string {
	s := fmt.Sprintf("task %d %q %s", t.id, t.name, statusNames[t.state])
	if t.state == taskWaiting && t.waitOn != nil {
		s += fmt.Sprintf(" on %q since %v", t.waitOn.Name, t.waitSince)
		if at, ok := t.timer.When(); ok {
			s += fmt.Sprintf(" until %v", at)
		}
	}
	if t.state == taskSleeping {
		if at, ok := t.timer.When(); ok {
			s += fmt.Sprintf(" until %v", at)
		}
	}
	return s
}

func (t *Task) check(op string) {
	if t.w.tasks.current != t {
		panic(fmt.Sprintf("sim: Task.%s called for task %q outside that task", op, t.name))
	}
}

// park hands control back to the scheduler and returns when the task is
// resumed.
func (t *Task) park() {
	if t.exiting {
		return
	}
	ts := &t.w.tasks
	select {
	case ts.parked <- t:
	case <-ts.abort:
		// The watchdog gave up on this task and the world is broken.
		t.exiting = true
		runtime.Goexit()
	}
	<-t.wake
	if t.killed && !t.exiting {
		t.exiting = true
		runtime.Goexit()
	}
}

// Sleep blocks the task for d of virtual time (d <= 0 yields, like Yield).
func (t *Task) Sleep(d time.Duration) { t.SleepUntil(t.w.now + d) }

// SleepUntil blocks the task until virtual time at.
func (t *Task) SleepUntil(at time.Duration) {
	t.check("Sleep")
	if t.exiting {
		return
	}
	t.state = taskSleeping
	t.timer = t.w.Schedule(at, PrioDefault, t, nil)
	t.park()
}

// Yield lets every other event and task due at this instant run first.
func (t *Task) Yield() { t.SleepUntil(t.w.now) }

// Wait parks the task on q until q.Wake or q.WakeAll picks it, or until the
// absolute virtual time deadline passes (zero means no deadline). It
// returns true when woken, false on the deadline. The socket layer uses it
// as a condition variable: re-check the condition after Wait returns.
func (t *Task) Wait(q *WaitQueue, deadline time.Duration) bool {
	t.check("Wait")
	if t.exiting {
		return false
	}
	if deadline != 0 && deadline <= t.w.now {
		return false
	}
	t.state = taskWaiting
	t.waitOn = q
	t.waitSince = t.w.now
	t.woken = false
	q.waiters = append(q.waiters, t)
	if deadline != 0 {
		t.timer = t.w.Schedule(deadline, PrioDefault, t, deadlineMark)
	}
	t.park()
	return t.woken
}

// HandleEvent resumes the task (Handler). arg is deadlineMark when a wait
// deadline fired.
func (t *Task) HandleEvent(arg any) {
	ts := &t.w.tasks
	if arg == deadlineMark {
		if t.state != taskWaiting {
			return
		}
		t.waitOn.remove(t)
		t.woken = false
	}
	t.timer = Timer{}
	t.waitOn = nil
	t.state = taskRunning
	ts.current = t
	ts.running.Store(t)
	ts.gen.Add(1)
	if ts.wdStop == nil {
		ts.startWatchdog()
	}
	t.wake <- struct{}{}
	if <-ts.parked == nil {
		// The watchdog's message: the task is blocked outside the simulator.
		ts.err = &StuckError{Task: t.name, Time: t.w.now, Stack: ts.stack}
		t.w.Stop()
		return
	}
	ts.gen.Add(1)
	ts.running.Store(nil)
	ts.current = nil
	if t.done.Load() {
		t.state = taskDone
		ts.removeTask(t)
		if t.panicVal != nil {
			panic(&TaskPanic{Task: t.name, Time: t.w.now, Value: t.panicVal, Stack: t.panicStack})
		}
	}
}

// removeTask forgets a finished task in constant amortised time: its
// entry becomes nil, and the list is compacted once half of it is nil (a
// search and a slice delete per task made a run of n tasks cost n²).
func (ts *taskState) removeTask(t *Task) {
	if t.idx >= len(ts.all) || ts.all[t.idx] != t {
		return
	}
	ts.all[t.idx] = nil
	ts.dead++
	if ts.dead < 64 || ts.dead < len(ts.all)/2 {
		return
	}
	j := 0
	for _, x := range ts.all {
		if x != nil {
			x.idx = j
			ts.all[j] = x
			j++
		}
	}
	clear(ts.all[j:])
	ts.all, ts.dead = ts.all[:j], 0
}

// WaitQueue is a set of tasks waiting for something (data to read, room to
// write, a connection to accept). Tasks park on it with Task.Wait; code in
// scheduler context wakes them with Wake or WakeAll. Woken tasks resume in
// the order they started waiting, at the current virtual time, after the
// event that woke them.
type WaitQueue struct {
	// Name says what the queue waits for ("read 10.0.0.1:80"); it appears
	// in deadlock reports.
	Name    string
	waiters []*Task
}

// NewWaitQueue returns an empty queue with the given name.
func NewWaitQueue(name string) *WaitQueue { return &WaitQueue{Name: name} }

// Len returns the number of waiting tasks.
func (q *WaitQueue) Len() int { return len(q.waiters) }

// Wake resumes the task that has waited longest. It reports whether there
// was one.
func (q *WaitQueue) Wake() bool {
	if len(q.waiters) == 0 {
		return false
	}
	t := q.waiters[0]
	copy(q.waiters, q.waiters[1:])
	q.waiters[len(q.waiters)-1] = nil
	q.waiters = q.waiters[:len(q.waiters)-1]
	t.wakeFromQueue()
	return true
}

// WakeAll resumes every waiting task and returns how many there were.
func (q *WaitQueue) WakeAll() int {
	n := len(q.waiters)
	for i, t := range q.waiters {
		q.waiters[i] = nil
		t.wakeFromQueue()
	}
	q.waiters = q.waiters[:0]
	return n
}

func (q *WaitQueue) remove(t *Task) {
	for i, x := range q.waiters {
		if x == t {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			return
		}
	}
}

func (t *Task) wakeFromQueue() {
	t.w.Cancel(t.timer)
	t.woken = true
	t.state = taskRunnable
	t.timer = t.w.Schedule(t.w.now, PrioDefault, t, nil)
}

// TaskPanic is the value the virtual driver panics with when a task panics:
// the task's panic travels to the goroutine that called Run, with the
// task's name and the virtual time.
type TaskPanic struct {
	Task  string
	Time  time.Duration
	Value any
	Stack []byte // the task's stack at the panic
}

// Error describes the panic with the task's name, time and stack.
func (p *TaskPanic) Error() string {
	return fmt.Sprintf("sim: task %q panicked at %v: %v\n%s", p.Task, p.Time, p.Value, p.Stack)
}

// Unwrap returns the panic value if it is an error.
func (p *TaskPanic) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// StuckError is returned by Run when a task blocked outside the simulator
// (a plain channel, a mutex, time.Sleep, a real socket) for longer than the
// watchdog allows. The world cannot continue: the task's goroutine is left
// blocked, and Run keeps returning this error.
type StuckError struct {
	Task  string
	Time  time.Duration
	Stack []byte // the stuck goroutine's stack
}

// Error names the stuck task and includes its stack.
func (e *StuckError) Error() string {
	return fmt.Sprintf("sim: task %q blocked outside the simulator at virtual time %v (a channel, mutex, time.Sleep or real I/O?); its stack:\n%s", e.Task, e.Time, e.Stack)
}

// DeadlockError is returned by Run when no event is left but tasks still
// wait: nothing can ever wake them.
type DeadlockError struct {
	Time    time.Duration
	Waiting []string // one line per task: name, queue, since when
}

// Error lists the waiting tasks.
func (e *DeadlockError) Error() string {
	return fmt.Sprintf("sim: deadlock at %v: no event left and %d task(s) waiting:\n\t%s",
		e.Time, len(e.Waiting), strings.Join(e.Waiting, "\n\t"))
}

// ErrDeadlock is matched by errors.Is for every *DeadlockError.
var ErrDeadlock = errors.New("sim: deadlock")

// Is makes errors.Is(err, ErrDeadlock) true.
func (e *DeadlockError) Is(target error) bool { return target == ErrDeadlock }

func (ts *taskState) deadlock() error {
	var lines []string
	for _, t := range ts.all {
		if t != nil && t.state == taskWaiting {
			lines = append(lines, t.String())
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return &DeadlockError{Time: ts.w.now, Waiting: lines}
}

func (ts *taskState) watchdogTimeout() time.Duration {
	d := ts.w.cfg.Watchdog
	if d == 0 {
		d = DefaultWatchdog
	}
	return d
}

func (ts *taskState) startWatchdog() {
	timeout := ts.watchdogTimeout()
	if timeout < 0 {
		ts.wdStop = make(chan struct{}) // marks "started"; nothing to stop
		ts.wdDone = nil
		return
	}
	ts.wdStop = make(chan struct{})
	ts.wdDone = make(chan struct{})
	go ts.watch(timeout, ts.wdStop, ts.wdDone)
}

func (ts *taskState) stopWatchdog() {
	if ts.wdStop == nil {
		return
	}
	close(ts.wdStop)
	if ts.wdDone != nil {
		<-ts.wdDone
	}
	ts.wdStop, ts.wdDone = nil, nil
}

func (ts *taskState) watch(timeout time.Duration, stop, done chan struct{}) {
	defer close(done)
	iv := timeout / 4
	if iv <= 0 {
		iv = timeout
	}
	tick := time.NewTicker(iv)
	defer tick.Stop()
	last := ts.gen.Load()
	since := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		g := ts.gen.Load()
		if g != last || g%2 == 0 {
			last, since = g, time.Now()
			continue
		}
		if time.Since(since) < timeout {
			continue
		}
		if t := ts.running.Load(); t != nil {
			ts.stack = goroutineStack(t.gid.Load())
		}
		close(ts.abort)
		// Tell the scheduler, which waits for the task to park. If the task
		// parked after all, the scheduler is gone by the time Run stops us.
		select {
		case ts.parked <- nil:
		case <-stop:
		}
		return
	}
}

// Close ends every task still parked in a simulator call (its deferred
// functions run; simulator calls in them return at once) and stops the
// world. Tasks stuck outside the simulator cannot be ended; Close reports
// them. Close must not be called from a task.
func (w *World) Close() error {
	if err := w.usable(); err != nil {
		return err
	}
	ts := &w.tasks
	if ts.err != nil {
		return ts.err
	}
	if w.loop != nil {
		return errors.New("sim: World.Close called while a Loop drives the world; close the Loop first")
	}
	for len(ts.all) > 0 {
		t := ts.all[0]
		if t == nil {
			ts.all = ts.all[1:]
			continue
		}
		w.Cancel(t.timer)
		if t.waitOn != nil {
			t.waitOn.remove(t)
		}
		t.killed = true
		ts.current = t
		t.wake <- struct{}{}
		<-ts.parked // the task exits at once: park calls runtime.Goexit
		ts.current = nil
		ts.all = ts.all[1:]
	}
	ts.all, ts.dead = nil, 0
	return nil
}

// goroutineID returns the current goroutine's id, read from its stack
// header ("goroutine 123 [running]:"). Used only for watchdog reports.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		id, _ := strconv.ParseUint(string(b[:i]), 10, 64)
		return id
	}
	return 0
}

// goroutineStack returns the stack of goroutine id from a dump of all
// goroutines, or the whole dump if it is not found.
func goroutineStack(id uint64) []byte {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	head := []byte("goroutine " + strconv.FormatUint(id, 10) + " ")
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.HasPrefix(g, head) {
			return g
		}
	}
	return buf
}

package sim

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// Two tasks hand a token back and forth through wait queues; Sleep and
// Wait move virtual time exactly.
func TestTaskPingPong(t *testing.T) {
	defer goleak.VerifyNone(t)
	w := New(Config{})
	ping, pong := NewWaitQueue("ping"), NewWaitQueue("pong")
	var trace []string
	token := 0
	log := func(tk *Task, what string) {
		trace = append(trace, fmt.Sprintf("%v %s %s %d", tk.Now(), tk.Name(), what, token))
	}
	w.Spawn("server", func(tk *Task) {
		for i := 0; i < 3; i++ {
			for token%2 == 0 {
				tk.Wait(ping, 0)
			}
			log(tk, "got")
			tk.Sleep(10 * time.Millisecond)
			token++
			pong.Wake()
		}
	})
	w.Spawn("client", func(tk *Task) {
		for i := 0; i < 3; i++ {
			tk.Sleep(5 * time.Millisecond)
			token++
			log(tk, "sent")
			ping.WakeAll()
			for token%2 == 1 {
				tk.Wait(pong, 0)
			}
		}
		log(tk, "done")
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"5ms client sent 1", "5ms server got 1",
		"20ms client sent 3", "20ms server got 3",
		"35ms client sent 5", "35ms server got 5",
		"45ms client done 6",
	}
	if strings.Join(trace, "\n") != strings.Join(want, "\n") {
		t.Fatalf("trace:\n%s\nwant:\n%s", strings.Join(trace, "\n"), strings.Join(want, "\n"))
	}
	if len(w.Tasks()) != 0 {
		t.Fatalf("tasks left: %v", w.Tasks())
	}
}

func TestTaskWaitDeadline(t *testing.T) {
	defer goleak.VerifyNone(t)
	w := New(Config{})
	q := NewWaitQueue("data")
	var results []string
	w.Spawn("reader", func(tk *Task) {
		ok := tk.Wait(q, tk.Now()+100*time.Millisecond)
		results = append(results, fmt.Sprintf("%v %v", tk.Now(), ok))
		ok = tk.Wait(q, tk.Now()+100*time.Millisecond)
		results = append(results, fmt.Sprintf("%v %v", tk.Now(), ok))
		ok = tk.Wait(q, tk.Now()) // deadline already reached
		results = append(results, fmt.Sprintf("%v %v", tk.Now(), ok))
	})
	w.At(150*time.Millisecond, func() {
		if !q.Wake() {
			t.Error("Wake found nobody")
		}
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	want := "100ms false|150ms true|150ms false"
	if g := strings.Join(results, "|"); g != want {
		t.Fatalf("got %s, want %s", g, want)
	}
	if q.Len() != 0 || w.Len() != 0 {
		t.Fatalf("queue %d, events %d left", q.Len(), w.Len())
	}
}

// Woken tasks resume in the order they started waiting.
func TestTaskWakeFIFO(t *testing.T) {
	w := New(Config{})
	q := NewWaitQueue("q")
	var order []string
	for _, name := range []string{"t1", "t2", "t3"} {
		w.Spawn(name, func(tk *Task) {
			tk.Wait(q, 0)
			order = append(order, tk.Name())
		})
	}
	w.At(time.Second, func() { q.WakeAll() })
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(order, " "); g != "t1 t2 t3" {
		t.Fatalf("order %s", g)
	}
}

func TestTaskPanicReachesCaller(t *testing.T) {
	defer goleak.VerifyNone(t)
	w := New(Config{})
	boom := errors.New("boom")
	w.Spawn("bad", func(tk *Task) {
		tk.Sleep(42 * time.Millisecond)
		panic(boom)
	})
	defer func() {
		r := recover()
		tp, ok := r.(*TaskPanic)
		if !ok {
			t.Fatalf("recovered %v (%T), want *TaskPanic", r, r)
		}
		if tp.Task != "bad" || tp.Time != 42*time.Millisecond || !errors.Is(tp, boom) {
			t.Fatalf("TaskPanic %q at %v: %v", tp.Task, tp.Time, tp.Value)
		}
		if !strings.Contains(tp.Error(), `task "bad" panicked at 42ms: boom`) {
			t.Fatalf("message: %s", tp.Error())
		}
	}()
	w.Run()
	t.Fatal("Run returned instead of panicking")
}

func TestTaskDeadlockReport(t *testing.T) {
	defer goleak.VerifyNone(t)
	w := New(Config{})
	q := NewWaitQueue("read 10.0.0.2:80")
	w.Spawn("client", func(tk *Task) {
		tk.Sleep(time.Second)
		tk.Wait(q, 0)
	})
	w.Spawn("idle", func(tk *Task) {})
	err := w.Run()
	var de *DeadlockError
	if !errors.As(err, &de) || !errors.Is(err, ErrDeadlock) {
		t.Fatalf("err = %v, want *DeadlockError", err)
	}
	if de.Time != time.Second || len(de.Waiting) != 1 ||
		!strings.Contains(de.Waiting[0], `"client" waiting on "read 10.0.0.2:80" since 1s`) {
		t.Fatalf("deadlock report: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// Close ends tasks parked in Sleep and Wait; their deferred functions run.
func TestTaskCloseEndsParked(t *testing.T) {
	defer goleak.VerifyNone(t)
	w := New(Config{})
	var deferred []string
	w.Spawn("sleeper", func(tk *Task) {
		defer func() { deferred = append(deferred, "sleeper") }()
		tk.Sleep(time.Hour)
	})
	w.Spawn("waiter", func(tk *Task) {
		defer func() {
			tk.Sleep(time.Second) // returns at once while exiting
			deferred = append(deferred, "waiter")
		}()
		tk.Wait(NewWaitQueue("never"), 0)
	})
	if err := w.RunUntil(time.Minute); err != nil {
		t.Fatal(err)
	}
	w.Spawn("unstarted", func(tk *Task) { t.Error("unstarted task ran") })
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(deferred, " ") != "sleeper waiter" {
		t.Fatalf("deferred ran: %v", deferred)
	}
}

// A task blocked on a plain channel is reported by the watchdog with its
// name and stack instead of hanging. Runs in a synctest bubble so that the
// watchdog's timeout passes on fake time.
func TestTaskWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := New(Config{Watchdog: time.Second})
		release := make(chan struct{})
		w.Spawn("blocker", func(tk *Task) {
			tk.Sleep(5 * time.Millisecond)
			<-release // blocks outside the simulator
		})
		err := w.Run()
		var se *StuckError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want *StuckError", err)
		}
		if se.Task != "blocker" || se.Time != 5*time.Millisecond || !strings.Contains(string(se.Stack), "TestTaskWatchdog") {
			t.Fatalf("StuckError %q at %v, stack:\n%s", se.Task, se.Time, se.Stack)
		}
		if err := w.Run(); !errors.As(err, &se) {
			t.Fatalf("second Run: %v", err)
		}
		close(release) // let the goroutine finish so the bubble can end
		synctest.Wait()
	})
}

// Many tasks with random sleeps give the same trace every run.
func TestTaskDeterminism(t *testing.T) {
	run := func(seed uint64) string {
		w := New(Config{Seed: seed})
		var b strings.Builder
		q := NewWaitQueue("q")
		for i := 0; i < 20; i++ {
			r := w.Rand("task", fmt.Sprint(i))
			w.Spawn(fmt.Sprint("t", i), func(tk *Task) {
				for j := 0; j < 5; j++ {
					tk.Sleep(time.Duration(r.IntN(5)) * time.Millisecond)
					fmt.Fprintf(&b, "%v %s %d\n", tk.Now(), tk.Name(), j)
					if j%2 == 0 {
						q.WakeAll()
					} else {
						tk.Wait(q, tk.Now()+3*time.Millisecond)
					}
				}
			})
		}
		if err := w.Run(); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	a, b, c := run(1), run(1), run(2)
	if a != b {
		t.Fatal("same seed gave different task traces")
	}
	if a == c {
		t.Fatal("different seeds gave the same task trace")
	}
}

// Finished tasks leave Tasks, which keeps the rest in spawn order however
// many finish and in whatever order (removeTask compacts its list lazily),
// and Close still ends every task left.
func TestTaskListManyFinish(t *testing.T) {
	defer goleak.VerifyNone(t)
	w := New(Config{})
	const n = 1000
	forever := NewWaitQueue("forever")
	var checked bool
	for i := range n {
		w.Spawn(fmt.Sprint(i), func(tk *Task) {
			// Every third task stays; the others finish at times that
			// do not follow spawn order.
			if i%3 == 0 {
				tk.Wait(forever, 0)
				return
			}
			tk.Sleep(time.Duration((i*7919)%n+1) * time.Millisecond)
		})
	}
	w.At(2*n*time.Millisecond, func() {
		got := w.Tasks()
		if len(got) != (n+2)/3 {
			t.Errorf("%d tasks live, want %d", len(got), (n+2)/3)
		}
		for j, tk := range got {
			if want := fmt.Sprint(3 * j); tk.Name() != want {
				t.Fatalf("task %d is %q, want %q", j, tk.Name(), want)
			}
		}
		checked = true
		w.Stop()
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if !checked {
		t.Fatal("the check never ran")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

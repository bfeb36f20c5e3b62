package sim

import (
	"errors"
	"fmt"
	"time"
)

// maxTime is the largest virtual time.
const maxTime = time.Duration(1<<63 - 1)

// Run is the virtual driver: it runs events in order, jumping the clock from
// one to the next, until no event is left, Stop is called, or the next
// event is after Config.TimeLimit (ErrTimeLimit). When no event is left but
// tasks still wait, it returns a *DeadlockError listing them. A task that
// panics makes Run panic with a *TaskPanic; a task blocked outside the
// simulator makes it return a *StuckError.
func (w *World) Run() error { return w.run(maxTime, true) }

// RunUntil runs every event scheduled at or before t, then sets the clock to
// t (if the world was not stopped earlier). Tasks left waiting are not an
// error: code outside the world may still wake them.
func (w *World) RunUntil(t time.Duration) error { return w.run(t, false) }

// RunFor runs for d of virtual time from Now (RunUntil(Now()+d)).
func (w *World) RunFor(d time.Duration) error {
	if err := w.usable(); err != nil {
		return err
	}
	return w.run(w.now+d, false)
}

func (w *World) run(until time.Duration, idle bool) error {
	if err := w.usable(); err != nil {
		return err
	}
	ts := &w.tasks
	if ts.err != nil {
		return ts.err
	}
	if ts.current != nil {
		return fmt.Errorf("sim: Run called from inside task %q", ts.current.name)
	}
	if w.loop != nil {
		return errors.New("sim: Run called while a Loop drives this world")
	}
	w.stopped = false
	defer ts.stopWatchdog()
	limit := w.cfg.TimeLimit
	for !w.stopped {
		next, ok := w.Next()
		if !ok || next > until {
			break
		}
		if limit > 0 && next > limit {
			w.now = limit
			return fmt.Errorf("%w: next event at %v is after Config.TimeLimit %v", ErrTimeLimit, next, limit)
		}
		w.step(next)
		if ts.err != nil {
			return ts.err
		}
	}
	if w.stopped {
		return nil
	}
	if idle {
		return ts.deadlock()
	}
	if limit > 0 && until > limit {
		w.now = limit
		return fmt.Errorf("%w: RunUntil(%v) is after Config.TimeLimit %v", ErrTimeLimit, until, limit)
	}
	if until > w.now {
		w.now = until
	}
	return nil
}

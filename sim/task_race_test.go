package sim

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A task that blocks outside the simulator before it ever parks: the
// watchdog reads the goroutine id that the task's goroutine recorded when it
// started, with no simulator hand-off in between (issue 10, item 14; run with
// -race).
func TestTaskWatchdogFirstRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := New(Config{Watchdog: time.Second})
		release := make(chan struct{})
		w.Spawn("first-run-blocker", func(tk *Task) {
			<-release // blocks outside the simulator on its first run
		})
		err := w.Run()
		var se *StuckError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want *StuckError", err)
		}
		if se.Task != "first-run-blocker" || !strings.Contains(string(se.Stack), "TestTaskWatchdogFirstRun") {
			t.Fatalf("StuckError %q, stack not the task's:\n%s", se.Task, se.Stack)
		}
		close(release)
		synctest.Wait()
	})
}

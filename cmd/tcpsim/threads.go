package main

import "runtime"

// oneThread limits Go to one OS thread running Go code for a simulated run
// and returns the function that restores the previous setting.
//
// The virtual driver runs one event or one task at a time, by design, so a
// second thread adds nothing but hand-offs: each switch between the
// scheduler and a task (a channel send and receive) then wakes a parked
// thread. With GOMAXPROCS 1, `tcpsim transfer --size 100MB --rate 10mbit
// --delay 25ms` made about 108 context switches instead of 2,000–3,200 and
// ran in 0.08 s instead of 0.08–0.13 s (docs/performance.md). Output does not
// depend on the setting (TestDeterminism runs both). The TUN commands run
// on the wall clock with reader goroutines and keep the default.
func oneThread() (restore func()) {
	prev := runtime.GOMAXPROCS(1)
	return func() { runtime.GOMAXPROCS(prev) }
}

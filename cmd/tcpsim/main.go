// Command tcpsim runs simulated TCP transfers over an impaired link and
// explains them packet by packet.
//
//	tcpsim get http://server.example/index.html --loss 5% --seed 3
//	tcpsim transfer --size 100MB --rate 10mbit --delay 25ms
//
// Everything runs on the simulator's virtual clock in one process: no real
// network, no root. The same flags and seed give byte-identical output and
// capture. See docs/cli.md for every flag.
//
// Exit status: 0 on success, 1 when the simulated transfer fails (for
// example it cannot complete within --timeout), 2 for bad flags or
// arguments.
package main

import (
	"io"
	"os"

	"golang.org/x/term"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// isTerminal reports whether w is a terminal; progress is drawn only then.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

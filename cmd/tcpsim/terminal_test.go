package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The built command draws progress on stderr when stderr is a terminal
// (here a pseudo-terminal that script(1) makes) and writes nothing to
// stderr when it is a pipe; stdout is the same either way.
func TestProgressOnlyOnTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) (util-linux) not installed: cannot give the command a terminal")
	}
	bin := filepath.Join(t.TempDir(), "tcpsim")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go") // the go that runs this test
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	args := []string{"transfer", "--size", "20MB", "--rate", "1gbit", "--delay", "1ms"}

	// stderr a pipe: no progress.
	cmd := exec.Command(bin, args...)
	var piped strings.Builder
	cmd.Stderr = &piped
	plainOut, err := cmd.Output()
	if err != nil {
		t.Fatalf("tcpsim %v: %v", args, err)
	}
	if piped.Len() != 0 {
		t.Errorf("stderr is a pipe, yet tcpsim wrote %q", piped.String())
	}

	// stderr a terminal, stdout redirected to a file: progress only on the
	// terminal, then cleared.
	outFile := filepath.Join(t.TempDir(), "stdout")
	typescript := filepath.Join(t.TempDir(), "typescript")
	line := bin + " " + strings.Join(args, " ") + " > " + outFile
	if out, err := exec.Command(script, "-q", "-e", "-c", line, typescript).CombinedOutput(); err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	tty, err := os.ReadFile(typescript)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tty), "acknowledged") || !strings.Contains(string(tty), "\r\033[K") {
		t.Errorf("no progress line drawn and cleared on the terminal:\n%q", tty)
	}
	ttyOut, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(ttyOut) != string(plainOut) {
		t.Errorf("stdout differs with a terminal on stderr:\n%s\nwithout:\n%s", ttyOut, plainOut)
	}
}

package simnet_test

import (
	"bufio"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tcpsim/tcpsim/simnet"
)

func echo(t *testing.T, a, b io.ReadWriter) {
	t.Helper()
	go func() {
		r := bufio.NewReader(b)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			b.Write([]byte(line))
		}
	}()
	r := bufio.NewReader(a)
	for i := range 50 {
		msg := "hello " + string(rune('a'+i%26)) + "\n"
		if _, err := a.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil || got != msg {
			t.Fatalf("line %d: got %q, %v; want %q", i, got, err, msg)
		}
	}
}

func TestPipeReal(t *testing.T) {
	a, b := simnet.Pipe(t, simnet.Link{Delay: time.Millisecond, Loss: 0.05})
	echo(t, a, b)
}

func TestPipeSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := simnet.Pipe(t, simnet.Link{Delay: 10 * time.Millisecond, Loss: 0.05})
		start := time.Now()
		echo(t, a, b)
		if d := time.Since(start); d < time.Second {
			t.Errorf("50 round trips of 20 ms took %v of fake time", d)
		}
	})
}

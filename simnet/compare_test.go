package simnet_test

import (
	"bytes"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tcpsim/tcpsim/simnet"
)

// The comparison in docs/kit.md: one echo of "hello, world", first over
// net.Pipe (no network at all), then over the kit with loss.

func TestCompareNetPipe(t *testing.T) {
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	go io.Copy(s, s)
	c.Write([]byte("hello, world"))
	buf := make([]byte, 12)
	if _, err := io.ReadFull(c, buf); err != nil || !bytes.Equal(buf, []byte("hello, world")) {
		t.Fatalf("%q, %v", buf, err)
	}
}

func TestCompareKit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := simnet.Pipe(t, simnet.Link{Delay: 10 * time.Millisecond, Loss: 0.05})
		go io.Copy(s, s)
		c.Write([]byte("hello, world"))
		buf := make([]byte, 12)
		if _, err := io.ReadFull(c, buf); err != nil || !bytes.Equal(buf, []byte("hello, world")) {
			t.Fatalf("%q, %v", buf, err)
		}
	})
}

// The same under the Tasks driver, inside a bubble.
func TestTasksDriverSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(t, simnet.Options{Driver: simnet.Tasks, Link: simnet.Link{Delay: 10 * time.Millisecond, Loss: 0.05}})
		c, s, err := n.Pipe("client", "server")
		if err != nil {
			t.Fatal(err)
		}
		echo(t, c, s)
	})
}

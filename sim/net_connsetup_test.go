package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// WithConnSetup runs before the handshake completes: the dialled
// connection runs the algorithm it set, while the host's default stays for
// the next dial; a setup error aborts the connection and fails the dial.
func TestWithConnSetup(t *testing.T) {
	p := newNetPair(t, Config{}, DirConfig{Delay: time.Millisecond})
	sn, cn := NewTaskNet(p.w, p.server), NewTaskNet(p.w, p.client)
	var states []stack.State
	var got, plain string
	var failed error
	p.w.Spawn("server", func(tk *Task) {
		ln, _ := sn.Listen("tcp", ":80")
		for range 2 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
		ln.Close()
	})
	p.w.Spawn("client", func(tk *Task) {
		ctx := WithConnSetup(context.Background(), func(c *stack.Conn) error {
			states = append(states, c.State())
			return c.SetCongestionControl(stack.CCCubic)
		})
		c, err := cn.DialContext(ctx, "tcp", "server.example:80")
		if err != nil {
			t.Error(err)
			return
		}
		got = c.(*Conn).Stack().CongestionControl()
		c.Close()
		c, err = cn.Dial("tcp", "server.example:80")
		if err != nil {
			t.Error(err)
			return
		}
		plain = c.(*Conn).Stack().CongestionControl()
		c.Close()
		bad := WithConnSetup(context.Background(), func(c *stack.Conn) error { return errors.New("no such option") })
		_, failed = cn.DialContext(bad, "tcp", "server.example:80")
	})
	if err := p.w.Run(); err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states[0] != stack.StateSynSent {
		t.Errorf("setup saw states %v, want one SYN-SENT", states)
	}
	if got != stack.CCCubic || plain != stack.CCNewReno {
		t.Errorf("congestion control with setup %q, without %q; want cubic, newreno", got, plain)
	}
	if failed == nil || !strings.Contains(failed.Error(), "no such option") {
		t.Errorf("dial with a failing setup: %v", failed)
	}
}

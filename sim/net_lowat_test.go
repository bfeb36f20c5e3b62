package sim

import (
	"testing"
	"time"
)

// TestConnNotSentLowat: with TCP_NOTSENT_LOWAT, a task writing a large
// stream in pieces keeps little unsent data in the stack (about the mark
// plus one chunk), where without it the send buffer fills; every byte still
// arrives, as writers are woken by WriteReady.
func TestConnNotSentLowat(t *testing.T) {
	const total, lowat = 600_000, 16 << 10
	for i, mark := range []int{0, lowat, lowat, lowat} {
		// Several seeds: different ISNs, so chunk bookkeeping across the
		// sequence space is exercised from different starting points.
		p := newNetPair(t, Config{Seed: uint64(i + 1)}, DirConfig{Delay: 5 * time.Millisecond, Rate: 10e6})
		maxNotSent, got := 0, 0
		p.w.Spawn("server", func(*Task) {
			ln, _ := NewTaskNet(p.w, p.server).Listen("tcp", ":80")
			c, err := ln.Accept()
			if err != nil {
				t.Error(err)
				return
			}
			sc := c.(*Conn)
			if err := sc.SetNotSentLowat(mark); err != nil {
				t.Error(err)
				return
			}
			piece := payload(4000)
			for sent := 0; sent < total; sent += len(piece) {
				if _, err := c.Write(piece); err != nil {
					t.Error(err)
					return
				}
				maxNotSent = max(maxNotSent, sc.Stack().Info().NotSent)
			}
			c.Close()
			ln.Close()
		})
		p.w.Spawn("client", func(*Task) {
			c, err := NewTaskNet(p.w, p.client).Dial("tcp", "server.example:80")
			if err != nil {
				t.Error(err)
				return
			}
			buf := make([]byte, 8192)
			for {
				n, err := c.Read(buf)
				got += n
				if err != nil {
					break
				}
			}
			c.Close()
		})
		if err := p.w.Run(); err != nil {
			t.Fatal(err)
		}
		t.Logf("mark %d: max unsent %d", mark, maxNotSent)
		if got != total {
			t.Fatalf("mark %d: client read %d of %d bytes", mark, got, total)
		}
		limit := lowat + 64<<10 // the mark plus one chunk at most
		if mark > 0 && maxNotSent > limit {
			t.Errorf("mark %d: up to %d bytes unsent, want at most %d", mark, maxNotSent, limit)
		}
		if mark == 0 && maxNotSent <= limit {
			t.Errorf("no mark: only %d bytes ever unsent; the test does not load the buffer", maxNotSent)
		}
	}
}

package sim

import (
	"testing"
	"time"
)

// Config.StreamOnly hands every event with its packet bytes to OnEvent and
// keeps nothing, which the CLI relies on for long transfers.
func TestStreamOnlyLog(t *testing.T) {
	var n, withData, drops int
	last := -1
	cfg := Config{Seed: 3, StreamOnly: true, OnEvent: func(e *Event) {
		n++
		if e.Index != last+1 {
			t.Errorf("event index %d after %d", e.Index, last)
		}
		last = e.Index
		if e.Data != nil && len(e.Data) == e.Len {
			withData++
		}
		if e.Verdict == Dropped {
			drops++
		}
	}}
	p := newNetPair(t, cfg, DirConfig{Delay: time.Millisecond, Rate: 10e6, Faults: []Fault{Loss{P: 0.05}}})
	p.w.Spawn("server", func(*Task) {
		ln, _ := NewTaskNet(p.w, p.server).Listen("tcp", ":80")
		c, _ := ln.Accept()
		c.Write(payload(100_000))
		c.Close()
		ln.Close()
	})
	p.w.Spawn("client", func(*Task) {
		c, err := NewTaskNet(p.w, p.client).Dial("tcp", "server.example:80")
		if err != nil {
			t.Error(err)
			return
		}
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		c.Close()
	})
	if err := p.w.Run(); err != nil {
		t.Fatal(err)
	}
	if p.w.Log().Len() != 0 {
		t.Errorf("StreamOnly log kept %d events", p.w.Log().Len())
	}
	if n < 100 || withData != n || drops == 0 {
		t.Errorf("%d events, %d with data, %d drops; want every event with its bytes and some drops", n, withData, drops)
	}
}

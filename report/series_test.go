package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/flows"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// seriesRun sends size bytes on each of nflows connections over a 10 Mbit/s
// link with qd as its queue, sampling with a Series every `every`.
func seriesRun(t *testing.T, seed uint64, nflows int, size int64, qd sim.Qdisc, ecn int, every time.Duration) (*Series, *sim.Link, time.Duration) {
	t.Helper()
	var conns []*stack.Conn
	an := flows.New()
	var link *sim.Link
	s := NewSeries(SeriesOptions{Every: every, Flows: an, Conns: func() []*stack.Conn { return conns },
		Links: func() []*sim.Link { return []*sim.Link{link} }})
	w := sim.New(sim.Config{Seed: seed, TimeLimit: 5 * time.Minute, StreamOnly: true, OnEvent: func(e *sim.Event) { an.Event(e); s.Event(e) }})
	defer w.Close()
	var err error
	link, err = w.NewLink(sim.LinkConfig{Name: "wire", AB: sim.DirConfig{Delay: 10 * time.Millisecond, Rate: 10e6, Qdisc: qd}, BA: sim.DirConfig{Delay: 10 * time.Millisecond, Rate: 10e6}})
	if err != nil {
		t.Fatal(err)
	}
	tcp, _ := stack.Profile("linux")
	tcp.ECN = ecn
	var hosts [2]*stack.Host
	for i, name := range []string{"client", "server"} {
		env := w.NewHostEnv()
		h, err := stack.NewHost(stack.HostConfig{Name: name, Env: env, Seed: w.SeedFor("host", name), TCP: tcp})
		if err != nil {
			t.Fatal(err)
		}
		env.Bind(h)
		if err := w.AddNode(name, h); err != nil {
			t.Fatal(err)
		}
		idx, err := h.AddInterface(netip.MustParsePrefix(fmt.Sprintf("10.0.0.%d/24", i+1)), link.End(i), 1500)
		if err != nil {
			t.Fatal(err)
		}
		link.End(i).Attach(name, h, idx)
		hosts[i] = h
	}
	ln, _ := hosts[1].Listen(5001, nflows)
	ln.SetNotify(func(stack.Event) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			drain := func() {
				for {
					if _, err := c.Discard(64 << 10); err != nil {
						if errors.Is(err, io.EOF) {
							c.Close()
						}
						return
					}
				}
			}
			c.SetNotify(func(stack.Event) { drain() })
			drain()
		}
	})
	cnet := sim.NewTaskNet(w, hosts[0])
	left := nflows
	for i := range nflows {
		w.Spawn("flow", func(tk *sim.Task) {
			defer func() {
				if left--; left == 0 {
					w.Spawn("settle", func(tk *sim.Task) {
						for _, c := range conns {
							for c.State() != stack.StateClosed && c.State() != stack.StateTimeWait {
								tk.Sleep(time.Millisecond)
							}
						}
						w.Stop()
					})
				}
			}()
			tk.Sleep(time.Duration(i) * 5 * time.Millisecond)
			c, err := cnet.Dial("tcp", "10.0.0.2:5001")
			if err != nil {
				t.Error(err)
				return
			}
			conns = append(conns, c.(*sim.Conn).Stack())
			defer c.Close()
			buf := make([]byte, 32<<10)
			for done := int64(0); done < size; {
				m, err := c.Write(buf[:min(int64(len(buf)), size-done)])
				done += int64(m)
				if err != nil {
					t.Error(err)
					return
				}
			}
			c.(*sim.Conn).CloseWrite()
			io.Copy(io.Discard, c)
		})
	}
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	s.Finish(w.Now())
	return s, link, w.Now()
}

// The per-interval counts add up to the link's and the connections' own
// totals, the boundaries are every period, and the queue limit is never
// exceeded.
func TestSeriesAddsUp(t *testing.T) {
	const size = 400_000
	every := 10 * time.Millisecond
	s, link, end := seriesRun(t, 3, 3, size, sim.DropTail{Packets: 20}, stack.ECNOff, every)
	if len(s.Links()) != 2 || s.Links()[0].From != "client" || s.Links()[0].To != "server" {
		t.Fatalf("links: %+v", s.Links())
	}
	ab := s.Links()[0]
	st := link.Stats(0)
	var sent, drops, dq uint64
	maxQ := 0
	for i, p := range ab.Points {
		want := time.Duration(i+1) * every
		if i == len(ab.Points)-1 {
			want = end
		}
		if p.At != want {
			t.Fatalf("point %d at %v, want %v", i, p.At, want)
		}
		sent, drops, dq = sent+p.Sent, drops+p.Drops, dq+p.DropsQueue
		maxQ = max(maxQ, p.QueuePackets)
	}
	if sent != st.Sent || drops != st.DropQueue+st.DropFault+st.DropMTU+st.DropOther || dq != st.DropQueue {
		t.Errorf("interval sums: sent %d drops %d queue drops %d; the link's counters %d, %d, %d", sent, drops, dq, st.Sent, st.DropQueue+st.DropFault, st.DropQueue)
	}
	if dq == 0 || maxQ == 0 || maxQ > 20 {
		t.Errorf("queue: %d drops, most waiting %d (limit 20): three flows into a 20-packet queue should overflow it", dq, maxQ)
	}
	senders := 0
	for _, c := range s.Conns() {
		var deliv uint64
		for _, p := range c.Points {
			deliv += p.Delivered
		}
		if c.FlowIndex() == 0 || c.Node() == "" {
			t.Errorf("connection %v–%v: flow %d node %q", c.Local, c.Remote, c.FlowIndex(), c.Node())
		}
		last := c.Points[len(c.Points)-1]
		if deliv != last.BytesAcked {
			t.Errorf("connection %v: intervals deliver %d bytes, acked in all %d", c.Local, deliv, last.BytesAcked)
		}
		if deliv == size {
			senders++
			if c.Node() != "client" {
				t.Errorf("sender %v on %q", c.Local, c.Node())
			}
		}
	}
	if senders != 3 {
		t.Errorf("%d connections delivered %d bytes, want the 3 clients", senders, size)
	}
}

// With a marking CoDel and ECN on, the series counts CE marks; the CSV and
// JSON forms agree with the values, and the same seed writes the same bytes.
func TestSeriesMarksAndFormats(t *testing.T) {
	run := func() (*Series, []byte, []byte) {
		s, link, _ := seriesRun(t, 5, 2, 600_000, sim.CoDel{Target: 2 * time.Millisecond, Interval: 20 * time.Millisecond, Limit: 200, ECN: true}, stack.ECNOn, 20*time.Millisecond)
		var marks uint64
		for _, p := range s.Links()[0].Points {
			marks += p.Marks
		}
		if st := link.Stats(0); marks != st.ECNMarked || marks == 0 {
			t.Errorf("marks: series %d, link %d (want the same, and some)", marks, st.ECNMarked)
		}
		var c, j bytes.Buffer
		if err := s.WriteCSV(&c); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteJSON(&j); err != nil {
			t.Fatal(err)
		}
		return s, c.Bytes(), j.Bytes()
	}
	s, c1, j1 := run()
	_, c2, j2 := run()
	if !bytes.Equal(c1, c2) || !bytes.Equal(j1, j2) {
		t.Error("the same seed wrote different series")
	}
	recs, err := csv.NewReader(bytes.NewReader(c1)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	n := 0
	for _, c := range s.Conns() {
		n += len(c.Points)
	}
	for _, l := range s.Links() {
		n += len(l.Points)
	}
	if len(recs)-1 != n {
		t.Fatalf("%d CSV records, %d points", len(recs)-1, n)
	}
	// The first connection's rows carry its values.
	c0 := s.Conns()[0]
	for i, p := range c0.Points {
		r := recs[1+i]
		if r[col["kind"]] != "conn" || r[col["cwnd_bytes"]] != strconv.Itoa(int(p.Cwnd)) || r[col["delivered_bytes"]] != strconv.FormatUint(p.Delivered, 10) {
			t.Fatalf("row %d: %v, point %+v", i, r, p)
		}
	}
	last := recs[len(recs)-1]
	if last[col["kind"]] != "link" || last[col["link"]] != "wire" || last[col["from"]] != "server" {
		t.Errorf("last row %v", last)
	}
	var doc struct {
		Sample float64 `json:"sample_s"`
		Conns  []struct {
			Flow int       `json:"flow"`
			T    []float64 `json:"t_s"`
			Cwnd []uint32  `json:"cwnd_bytes"`
		} `json:"conns"`
		Links []struct {
			Marks []uint64 `json:"ecn_marks"`
		} `json:"links"`
	}
	if err := json.Unmarshal(j1, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Sample != 0.02 || len(doc.Conns) != len(s.Conns()) || len(doc.Conns[0].Cwnd) != len(c0.Points) || doc.Conns[0].Cwnd[0] != c0.Points[0].Cwnd {
		t.Errorf("JSON: %+v", doc)
	}
}

package sim

import (
	"errors"
	"os"
	"testing"
	"time"
)

// Ping's round trip on an idle link is the two delays plus the request's
// and the reply's serialisation at the link's rate; with every packet
// lost it times out; a reply is matched to its own request when two
// tasks ping at once.
func TestNetPing(t *testing.T) {
	const rate = 1e6 // bit/s
	p := newNetPair(t, Config{}, DirConfig{Delay: 10 * time.Millisecond, Rate: rate})
	cn, sn := NewTaskNet(p.w, p.client), NewTaskNet(p.w, p.server)
	data := make([]byte, 56)
	wire := 20 + 8 + len(data)
	ser := time.Duration(float64(wire*8) / rate * float64(time.Second))
	want := 2*10*time.Millisecond + 2*ser
	var got []PingReply
	p.w.Spawn("pinger", func(tk *Task) {
		for seq := uint16(1); seq <= 3; seq++ {
			r, err := cn.Ping(netServerAddr.Addr(), 7, seq, data, time.Second)
			if err != nil {
				t.Errorf("ping %d: %v", seq, err)
				return
			}
			got = append(got, r)
			tk.Sleep(time.Second)
		}
	})
	// The server pings the client at the same moments, with the same id
	// and sequence numbers: each host's replies go to its own waiter.
	var back []PingReply
	p.w.Spawn("back", func(tk *Task) {
		for seq := uint16(1); seq <= 3; seq++ {
			r, err := sn.Ping(netClientAddr.Addr(), 7, seq, data[:8], time.Second)
			if err != nil {
				t.Errorf("ping back %d: %v", seq, err)
				return
			}
			back = append(back, r)
			tk.Sleep(time.Second)
		}
	})
	if err := p.w.Run(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(back) != 3 {
		t.Fatalf("%d and %d replies, want 3 each", len(got), len(back))
	}
	for _, r := range got {
		// The server's request (36 bytes, sent at 0) has left the
		// link's transmitter long before the reply needs it: no wait.
		if r.RTT != want {
			t.Errorf("seq %d: rtt %v, want %v (20 ms + 2 × %v serialisation)", r.Seq, r.RTT, want, ser)
		}
		if r.Len != len(data) || r.From != netServerAddr.Addr() || r.TTL == 0 {
			t.Errorf("reply %+v: want %d bytes from %v with a TTL", r, len(data), netServerAddr.Addr())
		}
	}
	for _, r := range back {
		if r.Len != 8 || r.From != netClientAddr.Addr() {
			t.Errorf("reply to the server %+v: want 8 bytes from %v", r, netClientAddr.Addr())
		}
	}
}

func TestNetPingTimeoutAndErrors(t *testing.T) {
	p := newNetPair(t, Config{}, DirConfig{Delay: 10 * time.Millisecond, Faults: []Fault{Loss{P: 1}}})
	cn := NewTaskNet(p.w, p.client)
	var err, bad, big error
	var at time.Duration
	p.w.Spawn("pinger", func(tk *Task) {
		_, err = cn.Ping(netServerAddr.Addr(), 1, 1, nil, 2*time.Second)
		at = tk.Now()
		_, bad = cn.Ping(netServerAddr.Addr(), 1, 2, nil, 0)
		_, big = cn.Ping(netServerAddr.Addr(), 1, 3, make([]byte, 2000), time.Second)
	})
	if err := p.w.Run(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || at != 2*time.Second {
		t.Errorf("all lost: %v at %v, want a deadline error at 2s", err, at)
	}
	if !errors.Is(bad, ErrInvalid) {
		t.Errorf("timeout 0: %v, want ErrInvalid", bad)
	}
	if big == nil {
		t.Errorf("a request larger than the MTU was sent")
	}
	// Outside a task.
	if _, err := cn.Ping(netServerAddr.Addr(), 1, 4, nil, time.Second); !errors.Is(err, ErrNotInTask) {
		t.Errorf("outside a task: %v, want ErrNotInTask", err)
	}
}

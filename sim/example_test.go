package sim_test

import (
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// printer is a node that prints what arrives.
type printer struct{ w *sim.World }

func (p printer) Deliver(_ int, pkt []byte) {
	s, _ := segment.ParsePacket(pkt)
	fmt.Printf("%v arrived: %v\n", p.w.Now(), s.TCP.Flags)
}

func (p printer) AddInterface(netip.Prefix, stack.Link, int) (int, error) { return 0, nil }

// A link with delay and rate: two SYNs sent together arrive one
// serialisation time apart; the event log records every step.
func ExampleWorld_Connect() {
	w := sim.New(sim.Config{Log: true})
	w.AddNode("a", printer{w})
	w.AddNode("b", printer{w})
	l, err := w.Connect("a", netip.MustParsePrefix("10.0.0.1/24"), "b", netip.MustParsePrefix("10.0.0.2/24"),
		sim.LinkConfig{AB: sim.DirConfig{Delay: 10 * time.Millisecond, Rate: 1_000_000}})
	if err != nil {
		panic(err)
	}
	var p segment.Packet
	p.IP.TTL, p.IP.Src, p.IP.Dst = 64, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	p.TCP.SrcPort, p.TCP.DstPort, p.TCP.Flags, p.TCP.Window = 49152, 80, segment.FlagSYN, 65535
	syn, _ := p.Encode(nil) // 40 bytes: 320 µs at 1 Mbit/s
	w.At(0, func() {
		l.End(0).Send(syn)
		l.End(0).Send(syn)
	})
	w.Run()
	w.Log().WriteTo(os.Stdout)
	// Output:
	// 10.32ms arrived: [S]
	// 10.64ms arrived: [S]
	// 0.000000000 a a-b#0 out sent #1 len 40
	// 0.000000000 a a-b#0 out sent #2 len 40
	// 0.000000000 a a-b#0 out queued +320µs #2 len 40
	// 0.010320000 b a-b#1 in delivered #1 len 40
	// 0.010640000 b a-b#1 in delivered #2 len 40
}

// A task is straight-line code on virtual time.
func ExampleWorld_Spawn() {
	w := sim.New(sim.Config{})
	done := sim.NewWaitQueue("done")
	w.Spawn("worker", func(t *sim.Task) {
		t.Sleep(time.Second)
		fmt.Println(t.Now(), "work finished")
		done.WakeAll()
	})
	w.Spawn("waiter", func(t *sim.Task) {
		ok := t.Wait(done, 5*time.Second)
		fmt.Println(t.Now(), "woken:", ok)
	})
	if err := w.Run(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 1s work finished
	// 1s woken: true
}

// Scripted faults: drop the 2nd data segment, delay every SYN by 1 s.
func ExampleRule() {
	faults := []sim.Fault{
		sim.Rule{Name: "drop-2nd-data", Match: sim.DataSegment, Nth: 2, Action: sim.RuleDrop},
		sim.Rule{Name: "slow-syn", Match: sim.FlagsExactly(segment.FlagSYN), Action: sim.RuleDelay, Delay: time.Second},
	}
	w := sim.New(sim.Config{})
	_, err := w.NewLink(sim.LinkConfig{Name: "wire", AB: sim.DirConfig{Faults: faults}})
	fmt.Println(err)
	_, err = w.NewLink(sim.LinkConfig{Name: "bad", AB: sim.DirConfig{Faults: []sim.Fault{sim.Loss{P: 2}}}})
	fmt.Println(err)
	// Output:
	// <nil>
	// sim: invalid setting: link "bad" A→B: Faults[0] (loss): Loss.P = 2 (must be in [0, 1])
}

package tcptest_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/sim/tcptest"
	"github.com/tcpsim/tcpsim/stack"
)

// A transfer of 100 kB over a link that loses 5% of packets in each
// direction, then assertions on the headers the event log recorded: the
// handshake's options and IP fields, the drops and their reason, and that
// every lost data segment was sent again.
func Example_lossyTransfer() {
	w := sim.New(sim.Config{Seed: 7, LogData: true, TimeLimit: time.Minute})
	client, _ := w.AddHost("client", netip.MustParsePrefix("10.0.0.1/24"), stack.TCPConfig{})
	server, _ := w.AddHost("server", netip.MustParsePrefix("10.0.0.2/24"), stack.TCPConfig{})
	lossy := sim.DirConfig{Delay: 5 * time.Millisecond, Rate: 10_000_000, Faults: []sim.Fault{sim.Loss{P: 0.05}}}
	if _, err := w.Connect("client", netip.MustParsePrefix("10.0.0.1/24"), "server",
		netip.MustParsePrefix("10.0.0.2/24"), sim.Symmetric("wire", lossy)); err != nil {
		panic(err)
	}

	// The server accepts one connection and reads everything.
	var got bytes.Buffer
	ln, _ := server.Listen(80, 16)
	ln.SetNotify(func(stack.Event) {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 4096)
		c.SetNotify(func(stack.Event) {
			for {
				n, err := c.Read(buf)
				got.Write(buf[:n])
				if err != nil {
					if err != stack.ErrWouldBlock {
						c.Close()
					}
					return
				}
			}
		})
	})

	// The client writes 100 kB as the send buffer allows, then closes.
	payload := bytes.Repeat([]byte("tcpsim "), 100000/7+1)[:100000]
	conn, _ := client.Connect(netip.Addr{}, netip.MustParseAddrPort("10.0.0.2:80"))
	sent := 0
	conn.SetNotify(func(stack.Event) {
		for sent < len(payload) {
			n, err := conn.Write(payload[sent:])
			sent += n
			if err != nil {
				return
			}
		}
		conn.Close()
	})
	if err := w.Run(); err != nil && !errors.Is(err, sim.ErrTimeLimit) {
		panic(err)
	}
	fmt.Println("received intact:", bytes.Equal(got.Bytes(), payload))

	// Headers, from the event log.
	c, err := tcptest.Connection(w.Log(), conn.LocalAddr(), netip.MustParseAddrPort("10.0.0.2:80"))
	if err != nil {
		panic(err)
	}
	syn, synAck, ack, err := c.Handshake()
	if err != nil {
		panic(err)
	}
	synWant := tcptest.Match(tcptest.Flags(segment.FlagSYN), tcptest.RelSeq(0), tcptest.MSS(1460),
		tcptest.IPHeaderLen(20), tcptest.TTL(64), tcptest.DF(true), tcptest.PayloadLen(0))
	fmt.Println("SYN:", synWant.CheckISN(&syn.Packet, c.OutISN()) == nil)
	fmt.Println("SYN-ACK:", tcptest.Match(tcptest.Flags(segment.FlagSYN|segment.FlagACK), tcptest.RelSeq(0),
		tcptest.RelAck(1), tcptest.MSS(1460)).CheckISN(&synAck.Packet, c.InISN()) == nil)
	fmt.Println("ACK:", tcptest.Match(tcptest.Flags(segment.FlagACK), tcptest.RelSeq(1),
		tcptest.RelAck(1)).CheckISN(&ack.Packet, c.OutISN()) == nil)

	first, _ := tcptest.FirstPayload(c.Out)
	fmt.Println("first data segment: seq", uint32(first.Packet.TCP.Seq-syn.Packet.TCP.Seq),
		"length", len(first.Packet.Payload), "total length", first.Packet.IP.TotalLen)

	// Every dropped data segment was dropped by the loss fault and sent
	// again later.
	drops := tcptest.Drops(c.Out)
	resent := true
	for _, d := range drops {
		if d.DropReason != "loss" {
			resent = false
		}
		if len(d.Packet.Payload) == 0 {
			continue
		}
		again := tcptest.Select(c.Out, tcptest.Match(tcptest.Seq(uint32(d.Packet.TCP.Seq))), tcptest.ISN{})
		if len(again) < 2 || again[len(again)-1].Time() <= d.Time() {
			resent = false
		}
	}
	fmt.Println("data segments lost:", len(drops) > 0, "all resent:", resent,
		"retransmissions seen:", len(tcptest.Retransmissions(c.Out)) > 0)
	// Output:
	// received intact: true
	// SYN: true
	// SYN-ACK: true
	// ACK: true
	// first data segment: seq 1 length 1448 total length 1500
	// data segments lost: true all resent: true retransmissions seen: true
}

// A Peer drives a host directly from Go: inject a SYN, expect the SYN-ACK
// at the same virtual instant, complete the handshake and check the
// delayed ACK of a data segment 40 ms later.
func ExamplePeer() {
	p, err := tcptest.NewPeer(tcptest.PeerConfig{TCP: stack.TCPConfig{DisableWindowScale: true, RecvBuffer: 64000}})
	if err != nil {
		panic(err)
	}
	if _, err := p.Host().Listen(8080, 1); err != nil {
		panic(err)
	}
	must := func(_ any, err error) {
		if err != nil {
			panic(err)
		}
	}
	must(p.Inject(&tcptest.SegSpec{Flags: segment.FlagSYN, HasWin: true, Win: 65535,
		Options: segment.Options{HasMSS: true, MSS: 1460}}))
	s, err := p.Expect(0, tcptest.Match(tcptest.Flags(segment.FlagSYN|segment.FlagACK),
		tcptest.RelSeq(0), tcptest.RelAck(1), tcptest.MSS(1460)))
	if err != nil {
		panic(err)
	}
	fmt.Println(tcptest.FormatPacket(&s.Packet, tcptest.ISN{}) != "")
	must(nil, p.AdvanceTo(10*time.Millisecond))
	must(p.Inject(&tcptest.SegSpec{Flags: segment.FlagACK, Seq: 1, HasAck: true, Ack: 1, HasWin: true, Win: 65535}))
	must(p.Inject(&tcptest.SegSpec{Flags: segment.FlagPSH | segment.FlagACK, Seq: 1, Len: 100,
		HasAck: true, Ack: 1, HasWin: true, Win: 65535}))
	must(nil, p.ExpectNothingUntil(49*time.Millisecond))
	s, err = p.Expect(50*time.Millisecond, tcptest.Match(tcptest.Flags(segment.FlagACK), tcptest.RelAck(101),
		tcptest.Window(63900), tcptest.NoOptions()))
	if err != nil {
		panic(err)
	}
	isn, _ := p.HostISN()
	fmt.Println(tcptest.FormatPacket(&s.Packet, tcptest.ISN{Src: isn, SrcKnown: true, Dst: p.PeerISN(), DstKnown: true}))
	// Output:
	// true
	// 192.0.2.1.8080 > 192.0.2.2.40000: Flags [.], seq 1, ack 101, win 63900, length 0
}

// A script, as it would live in testdata/*.pkt, parsed and run; in a test
// use tcptest.RunScripts(t, "testdata/*.pkt") to run each file as a subtest.
func ExampleRunScript() {
	src := `
// RFC 9293 §3.10.7.4: an out-of-order segment draws an immediate
// duplicate ACK; the segment filling the hole is acknowledged at once.
set config window_scale off
set config recv_buffer 64000
0     listen
+0    < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 win 64000 <mss 1460>
+0.01 < . 1:1(0) ack 1 win 65535
+0    accept
+0.1  < . 101:201(100) ack 1 win 65535
+0    > . 1:1(0) ack 1 win 64000
+0.01 < P. 1:101(100) ack 1 win 65535
+0    > . 1:1(0) ack 201 win 63800
+0    read 200
`
	s, err := tcptest.ParseScript("reassembly.pkt", []byte(src))
	if err != nil {
		panic(err)
	}
	p, err := tcptest.RunScript(s)
	fmt.Println("error:", err)
	fmt.Print(p.TraceString(5))
	// Output:
	// error: <nil>
	// 0.110000 < 192.0.2.2.40000 > 192.0.2.1.8080: Flags [.], seq 101:201, ack 1, win 65535, length 100
	// 0.110000 > 192.0.2.1.8080 > 192.0.2.2.40000: Flags [.], seq 1, ack 1, win 64000, length 0
	// 0.120000 < 192.0.2.2.40000 > 192.0.2.1.8080: Flags [P.], seq 1:101, ack 1, win 65535, length 100
	// 0.120000 > 192.0.2.1.8080 > 192.0.2.2.40000: Flags [.], seq 1, ack 201, win 63800, length 0
	// 0.120000 read 200
}

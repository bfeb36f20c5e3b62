package interop

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/stack"
)

// fixedEnv is a clock that never moves, for the scripted exchange below.
type fixedEnv struct{}

func (fixedEnv) Now() time.Duration     { return time.Millisecond }
func (fixedEnv) WakeAt(t time.Duration) {}

// sink records the packets a host sends.
type sink struct{ pkts [][]byte }

func (s *sink) Send(p []byte) { s.pkts = append(s.pkts, append([]byte(nil), p...)) }

// TestActiveOpenWindowWithinBuffer: after an active open, the window a
// tcpsim client advertises must not exceed its receive buffer, whatever the
// peer's initial sequence number. Found against the Linux kernel: with an
// IRS in the upper half of the sequence space the client advertised
// 65535<<wscale (524280 bytes with a 256 KiB buffer) for the whole
// connection, the kernel overran the buffer, and a 20 MB download crawled
// and then stalled. Fixed in the engine (commit 722e343); kept here as the
// interop-level regression test.
func TestActiveOpenWindowWithinBuffer(t *testing.T) {
	for _, irs := range []segment.Seq{0x10000000, 0x90000000, 0xfffffff0} {
		h, err := stack.NewHost(stack.HostConfig{Name: "client", Env: fixedEnv{}, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		link := &sink{}
		if _, err := h.AddInterface(netip.MustParsePrefix("10.0.0.1/24"), link, 1500); err != nil {
			t.Fatal(err)
		}
		c, err := h.Connect(netip.Addr{}, netip.MustParseAddrPort("10.0.0.2:80"))
		if err != nil {
			t.Fatal(err)
		}
		var syn segment.Packet
		if err := syn.Decode(link.pkts[0], true); err != nil {
			t.Fatal(err)
		}
		sa := segment.Packet{IP: syn.IP, TCP: segment.Header{
			SrcPort: syn.TCP.DstPort, DstPort: syn.TCP.SrcPort, Seq: irs, Ack: syn.TCP.Seq.Add(1),
			Flags: segment.FlagSYN | segment.FlagACK, Window: 65535,
		}}
		sa.IP.Src, sa.IP.Dst = syn.IP.Dst, syn.IP.Src
		sa.TCP.Options.HasMSS, sa.TCP.Options.MSS = true, 1460
		sa.TCP.Options.HasWindowScale, sa.TCP.Options.WindowScale = true, 7
		b, err := sa.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		h.Deliver(0, b)
		var ack segment.Packet
		if err := ack.Decode(link.pkts[len(link.pkts)-1], true); err != nil {
			t.Fatal(err)
		}
		info := c.Info()
		adv := int(ack.TCP.Window) << info.RcvWndScale
		if adv > h.Config().RecvBuffer {
			t.Errorf("IRS %#x: the ACK of the handshake advertises %d bytes (window %d << %d), more than the %d-byte receive buffer; Info().RcvWnd = %d",
				uint32(irs), adv, ack.TCP.Window, info.RcvWndScale, h.Config().RecvBuffer, info.RcvWnd)
		}
	}
}

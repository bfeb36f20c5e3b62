package segment_test

import (
	"fmt"
	"net/netip"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
)

// A client's SYN, encoded into a buffer and decoded again.
func Example() {
	syn := segment.Packet{
		IP: ippacket.Header{
			TTL: 64, Flags: ippacket.FlagDF, Protocol: ippacket.ProtocolTCP,
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
		},
		TCP: segment.Header{
			SrcPort: 49152, DstPort: 80, Seq: 1000, Flags: segment.FlagSYN, Window: 65535,
			Options: segment.Options{
				HasMSS: true, MSS: 1460, SACKPermitted: true,
				HasTimestamps: true, TSVal: 1,
				HasWindowScale: true, WindowScale: 7,
			},
		},
	}
	wire, err := syn.Encode(make([]byte, 0, 1500))
	if err != nil {
		panic(err)
	}
	got, err := segment.ParsePacket(wire)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(wire), "bytes:", got.IP.Len(), "of IP header,", got.TCP.Len(), "of TCP header")
	fmt.Println(got)
	// Output:
	// 60 bytes: 20 of IP header, 40 of TCP header
	// 10.0.0.1.49152 > 10.0.0.2.80: Flags [S], seq 1000, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
}

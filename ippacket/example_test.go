package ippacket_test

import (
	"fmt"
	"net/netip"

	"github.com/tcpsim/tcpsim/ippacket"
)

// Encode a header in front of a payload, parse it back, and forward it as a
// router would.
func Example() {
	h := ippacket.Header{
		TTL: 64, Flags: ippacket.FlagDF, Protocol: ippacket.ProtocolUDP, ID: 1,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
	}
	payload := []byte("hello")
	pkt, err := h.Encode(make([]byte, 0, 64), len(payload))
	if err != nil {
		panic(err)
	}
	pkt = append(pkt, payload...)

	got, data, err := ippacket.Parse(pkt)
	fmt.Println(got, err)
	fmt.Printf("payload %q\n", data)

	v := ippacket.View(pkt)
	v.DecTTL()
	fmt.Println("ttl", v.TTL(), "still valid:", v.Check(true) == nil)
	// Output:
	// IP 10.0.0.1 > 10.0.0.2: proto 17, ttl 64, id 1, DF, length 25 <nil>
	// payload "hello"
	// ttl 63 still valid: true
}

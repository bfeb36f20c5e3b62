//go:build linux

package tun_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/sim/tun"
	"github.com/tcpsim/tcpsim/sim/tun/tuntest"
)

var (
	kernelPrefix = netip.MustParsePrefix("192.0.2.1/24")
	simAddr      = netip.MustParseAddr("192.0.2.2")
)

// TestOpenErrors checks that each way a device can be unusable gives its own
// error, and that the message says how to fix it.
func TestOpenErrors(t *testing.T) {
	ns := tuntest.NewNamespace(t)
	ns.IP("tuntap", "add", "dev", "down0", "mode", "tun")
	ns.IP("tuntap", "add", "dev", "tap0", "mode", "tap")
	ns.AddTUN("busy0", kernelPrefix, 0)
	busy, err := ns.OpenTUN("busy0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	for _, tc := range []struct {
		dev  string
		want error
		fix  string
	}{
		{"nosuch0", tun.ErrNotFound, "ip tuntap add dev nosuch0 mode tun"},
		{"down0", tun.ErrDown, "ip link set down0 up"},
		{"tap0", tun.ErrNotTUN, "ip tuntap add dev tap0 mode tun"},
		{"lo", tun.ErrNotTUN, "not a single-queue TUN device"},
		{"busy0", tun.ErrBusy, "another program has it open"},
		{"", nil, "must be 1 to 15 bytes"},
		{"a-name-that-is-too-long", nil, "must be 1 to 15 bytes"},
	} {
		d, err := ns.OpenTUN(tc.dev)
		if err == nil {
			d.Close()
			t.Errorf("Open(%q) succeeded, want an error", tc.dev)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("Open(%q) = %v, want errors.Is %v", tc.dev, err, tc.want)
		}
		if !strings.Contains(err.Error(), tc.fix) {
			t.Errorf("Open(%q) = %q, want it to say %q", tc.dev, err, tc.fix)
		}
	}
}

// TestNamespaceErrors checks the error for a namespace that does not exist.
func TestNamespaceErrors(t *testing.T) {
	_, err := tun.OpenInNamespace("/var/run/netns/tcpsim-test-does-not-exist", "tun0")
	if err == nil || !strings.Contains(err.Error(), "tcpsim-test-does-not-exist") {
		t.Fatalf("OpenInNamespace(missing) = %v, want an error naming the namespace", err)
	}
}

// TestMTU checks that the MTU is read from the device.
func TestMTU(t *testing.T) {
	ns := tuntest.NewNamespace(t)
	for i, mtu := range []int{1280, 1500, 9000, 65535} {
		name := fmt.Sprintf("mtu%d", mtu)
		ns.AddTUN(name, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}), 32), mtu)
		d, err := ns.OpenTUN(name)
		if err != nil {
			t.Fatal(err)
		}
		if d.MTU() != mtu || d.Name() != name {
			t.Errorf("%s: MTU %d name %q, want %d %q", name, d.MTU(), d.Name(), mtu, name)
		}
		d.Close()
	}
}

// udpPacket builds an IPv4/UDP packet (UDP checksum 0: none, RFC 768).
func udpPacket(t *testing.T, src, dst netip.AddrPort, payload []byte) []byte {
	h := ippacket.Header{TTL: 64, Protocol: ippacket.ProtocolUDP, Src: src.Addr(), Dst: dst.Addr(), Flags: ippacket.FlagDF}
	b, err := h.Encode(nil, 8+len(payload))
	if err != nil {
		t.Fatal(err)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
	b = binary.BigEndian.AppendUint16(b, 0)
	return append(b, payload...)
}

// TestReadWrite exchanges UDP datagrams with a kernel socket in the
// namespace through the device, both ways, and checks that Close wakes a
// blocked read.
func TestReadWrite(t *testing.T) {
	ns := tuntest.NewNamespace(t)
	ns.AddTUN("tun0", kernelPrefix, 0)
	d, err := ns.OpenTUN("tun0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := ns.ListenPacket("udp4", "192.0.2.1:7000")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()

	// Kernel → device. The device's carrier comes up asynchronously after
	// it is opened, and the kernel drops what it routes to a device without
	// carrier, so the datagram is sent again until it is read (the kernel
	// may also send other packets, such as IPv6 router solicitations, which
	// are skipped). A watchdog closes the device rather than let the test
	// hang if nothing ever arrives.
	to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(simAddr, 9))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			pc.WriteTo([]byte("hello tun"), to)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	watchdog := time.AfterFunc(20*time.Second, func() { d.Close() })
	buf := make([]byte, d.MTU())
	var h ippacket.Header
	var payload []byte
	for {
		n, err := d.ReadPacket(buf)
		if err != nil {
			t.Fatalf("no datagram from the kernel within 20 s: %v", err)
		}
		h, payload, err = ippacket.Parse(buf[:n])
		if err == nil && h.Protocol == ippacket.ProtocolUDP {
			break
		}
	}
	watchdog.Stop()
	stop <- struct{}{}
	if h.Src != kernelPrefix.Addr() || h.Dst != simAddr || len(payload) != 8+9 || string(payload[8:]) != "hello tun" {
		t.Fatalf("read %v payload %q, want UDP 192.0.2.1 > 192.0.2.2 \"hello tun\"", h, payload)
	}

	// Device → kernel.
	pkt := udpPacket(t, netip.AddrPortFrom(simAddr, 9), netip.MustParseAddrPort("192.0.2.1:7000"), []byte("hello kernel"))
	if err := d.WritePacket(pkt); err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 100)
	n, from, err := pc.ReadFrom(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[:n]) != "hello kernel" || from.String() != "192.0.2.2:9" {
		t.Fatalf("kernel got %q from %v, want \"hello kernel\" from 192.0.2.2:9", got[:n], from)
	}

	// Close wakes a reader blocked on an idle device.
	errc := make(chan error, 1)
	go func() {
		_, err := d.ReadPacket(buf)
		errc <- err
	}()
	d.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("ReadPacket after Close = %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not wake a blocked ReadPacket")
	}
}

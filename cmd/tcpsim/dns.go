package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/miekg/dns"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/simdns"
)

// Step 2 of get as packets: the client asks a DNS server for the URL's
// host name over the simulated link (UDP, package simdns), the way a
// browser's resolver does, and a lost query is sent again after Go's
// resolver's 5 s timeout. get's network is one link, so the server host
// also answers DNS on port 53. --dns off looks the name up in the hosts
// table instead, at no cost.

// dnsInfo is what the client's lookup did.
type dnsInfo struct {
	server netip.AddrPort
	tries  []simdns.Attempt
	done   time.Duration // virtual time the lookup ended
	err    error
}

func (d *dnsInfo) queries() string {
	if len(d.tries) == 1 {
		return "1 query"
	}
	return fmt.Sprintf("%d queries (one every %s until an answer)", len(d.tries), dnsTimeout)
}

// failure is step 2's text when the lookup gave no address: why, and when
// (now is the time the run ended, for a lookup still waiting then).
func (d *dnsInfo) failure(name string, now time.Duration) (time.Duration, string) {
	var de *net.DNSError
	switch {
	case d.done == 0 && d.err == nil:
		return now, fmt.Sprintf("DNS: asked %v for %s (A): no answer yet when the run ended", d.server, name)
	case errors.As(d.err, &de) && de.IsTimeout:
		return d.done, fmt.Sprintf("DNS: asked %v for %s (A): timed out, %d queries sent %s apart and none answered",
			d.server, name, len(d.tries), dnsTimeout)
	}
	return d.done, fmt.Sprintf("DNS: asked %v for %s (A): failed after %s: %v", d.server, name, d.queries(), d.err)
}

// lookupError is get's error for a failed lookup.
func (d *dnsInfo) lookupError(name string) error {
	var de *net.DNSError
	if errors.As(d.err, &de) && de.IsTimeout {
		return fmt.Errorf("DNS lookup of %s timed out: %d queries to %v, none answered within %s", name, len(d.tries), d.server, dnsTimeout)
	}
	return fmt.Errorf("DNS: %w", d.err)
}

// dnsTimeout is how long the client waits for each answer: Go's resolver's
// default (resolv.conf's timeout:5).
const dnsTimeout = 5 * time.Second

// startDNS serves name → addr on the server host's UDP port 53 in a task
// of its own; stop closes the socket, which ends the task.
func startDNS(n *network, name string, addr netip.Addr, info *dnsInfo) (stop func(), err error) {
	var pc net.PacketConn
	srv := &simdns.Server{Records: map[string]netip.Addr{name: addr}}
	n.w.Spawn("dns server", func(*sim.Task) {
		var lerr error
		if pc, lerr = n.snet.ListenPacket("udp", fmt.Sprintf(":%d", simdns.Port)); lerr != nil {
			info.err = fmt.Errorf("the DNS server could not open port %d: %w", simdns.Port, lerr)
			return
		}
		srv.Serve(pc)
	})
	return func() {
		if pc != nil {
			pc.Close()
		}
	}, nil
}

// resolveDNS looks name up from a client task.
func resolveDNS(n *network, name string, info *dnsInfo) (netip.Addr, error) {
	if info.err != nil {
		return netip.Addr{}, info.err
	}
	addr, tries, err := simdns.Lookup(context.Background(), n.cnet, info.server, name,
		simdns.LookupOptions{Timeout: dnsTimeout, ID: uint16(n.w.SeedFor("dns", name))})
	info.tries, info.done, info.err = tries, n.w.Now(), err
	return addr, err
}

// appendOther appends the tcpdump-style text of a packet that is not TCP:
// UDP (with DNS decoded as tcpdump shows it) and ICMP. ok is false for
// anything else.
func appendOther(b []byte, pkt []byte) ([]byte, bool) {
	var h ippacket.Header
	payload, err := h.Decode(pkt, false)
	if err != nil {
		return b, false
	}
	switch h.Protocol {
	case ippacket.ProtocolUDP:
		if len(payload) < 8 {
			return b, false
		}
		sport, dport := uint16(payload[0])<<8|uint16(payload[1]), uint16(payload[2])<<8|uint16(payload[3])
		b = fmt.Appendf(b, "%v.%d > %v.%d: ", h.Src, sport, h.Dst, dport)
		data := payload[8:]
		if sport == simdns.Port || dport == simdns.Port {
			var m dns.Msg
			if m.Unpack(data) == nil && len(m.Question) == 1 {
				return appendDNS(b, &m, len(data)), true
			}
		}
		return fmt.Appendf(b, "UDP, length %d", len(data)), true
	case ippacket.ProtocolICMP:
		if len(payload) < 8 {
			return b, false
		}
		b = fmt.Appendf(b, "%v > %v: ICMP ", h.Src, h.Dst)
		if payload[0] == 3 && payload[1] == 3 {
			// The quoted datagram is cut after its first 8 bytes, so its
			// header's total length is more than is there: read the fields
			// by hand rather than decode it as a whole packet.
			q := payload[8:]
			if len(q) >= 20 && q[0]>>4 == 4 {
				ihl := int(q[0]&0x0f) * 4
				if ihl >= 20 && len(q) >= ihl+4 && q[9] == ippacket.ProtocolUDP {
					dst := netip.AddrFrom4([4]byte(q[16:20]))
					return fmt.Appendf(b, "%v udp port %d unreachable, length %d", dst, uint16(q[ihl+2])<<8|uint16(q[ihl+3]), len(payload)), true
				}
			}
		}
		if (payload[0] == 8 || payload[0] == 0) && payload[1] == 0 {
			// tcpdump's words for an echo.
			kind := "request"
			if payload[0] == 0 {
				kind = "reply"
			}
			return fmt.Appendf(b, "echo %s, id %d, seq %d, length %d", kind, uint16(payload[4])<<8|uint16(payload[5]), uint16(payload[6])<<8|uint16(payload[7]), len(payload)), true
		}
		return fmt.Appendf(b, "type %d, code %d, length %d", payload[0], payload[1], len(payload)), true
	}
	return b, false
}

// tcpdumpRcodes are the names tcpdump gives the response codes.
var tcpdumpRcodes = map[int]string{
	dns.RcodeFormatError:    "FormErr",
	dns.RcodeServerFailure:  "ServFail",
	dns.RcodeNameError:      "NXDomain",
	dns.RcodeNotImplemented: "NotImp",
	dns.RcodeRefused:        "Refused",
}

// appendDNS writes a DNS message as tcpdump does: "7+ A? server.example.
// (32)" for a query, "7*- 1/0/0 A 10.0.0.2 (62)" for an authoritative
// answer from a server that offers no recursion.
func appendDNS(b []byte, m *dns.Msg, n int) []byte {
	q := m.Question[0]
	if !m.Response {
		rd := ""
		if m.RecursionDesired {
			rd = "+"
		}
		// tcpdump shows a query's additional records (Go's resolver
		// sends an EDNS0 OPT record) as [Nau].
		if len(m.Extra) > 0 {
			rd += fmt.Sprintf(" [%dau]", len(m.Extra))
		}
		return fmt.Appendf(b, "%d%s %s? %s (%d)", m.Id, rd, dns.TypeToString[q.Qtype], q.Name, n)
	}
	// tcpdump's order: the rcode unless NOERROR, "*" authoritative, "-"
	// recursion not available, "|" truncated.
	flags := ""
	if m.Rcode != dns.RcodeSuccess {
		name, ok := tcpdumpRcodes[m.Rcode]
		if !ok {
			name = "Resp" + strconv.Itoa(m.Rcode)
		}
		flags = " " + name
	}
	if m.Authoritative {
		flags += "*"
	}
	if !m.RecursionAvailable {
		flags += "-"
	}
	if m.Truncated {
		flags += "|"
	}
	b = fmt.Appendf(b, "%d%s %d/%d/%d", m.Id, flags, len(m.Answer), len(m.Ns), len(m.Extra))
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok {
			b = fmt.Appendf(b, " A %v", a.A)
		}
	}
	return fmt.Appendf(b, " (%d)", n)
}

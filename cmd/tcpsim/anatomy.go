package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The packet's anatomy (-X): each packet's bytes as hex, cut where the IPv4
// header, the TCP (or UDP) header and the payload meet, with every field of both
// headers and every TCP option named below its bytes, and an HTTP payload's
// header lines as text. It reads the raw bytes at fixed offsets (RFC 791
// §3.1, RFC 9293 §3.1) rather than a decoded packet, so that it can show
// what a corrupted packet really holds; where the bytes run short it says so.

const (
	anatomyIndent  = "    "
	anatomyLabel   = "          "
	anatomyMaxData = 64 // payload bytes shown as hex
	anatomyMaxText = 12 // HTTP lines shown
)

// appendAnatomy appends the anatomy of pkt to b.
func appendAnatomy(b []byte, pkt []byte) []byte {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		b = fmt.Appendf(b, "%s%d bytes, not an IPv4 packet\n", anatomyIndent, len(pkt))
		return appendHex(b, pkt, 0, len(pkt))
	}
	ihl := int(pkt[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(pkt[2:]))
	ipEnd := min(max(ihl, 20), len(pkt))
	b = fmt.Appendf(b, "%sIPv4 header, %d bytes\n", anatomyIndent, ipEnd)
	b = appendHex(b, pkt, 0, ipEnd)
	flags := pkt[6] >> 5
	var fl []string
	if flags&0b010 != 0 {
		fl = append(fl, "DF")
	}
	if flags&0b001 != 0 {
		fl = append(fl, "MF")
	}
	if len(fl) == 0 {
		fl = append(fl, "none")
	}
	b = fmt.Appendf(b, "%sversion 4 · header length %d words (%d bytes) · DSCP %d · ECN %d (%s)\n",
		anatomyLabel, ihl/4, ihl, pkt[1]>>2, pkt[1]&3, ecnName(pkt[1]&3))
	b = fmt.Appendf(b, "%stotal length %d · identification %d · flags %s · fragment offset %d\n",
		anatomyLabel, total, binary.BigEndian.Uint16(pkt[4:]), strings.Join(fl, " "), binary.BigEndian.Uint16(pkt[6:])&0x1fff)
	b = fmt.Appendf(b, "%sTTL %d · protocol %d%s · header checksum 0x%04x\n",
		anatomyLabel, pkt[8], pkt[9], protoName(pkt[9]), binary.BigEndian.Uint16(pkt[10:]))
	b = fmt.Appendf(b, "%ssource %v · destination %v\n", anatomyLabel,
		netip.AddrFrom4([4]byte(pkt[12:16])), netip.AddrFrom4([4]byte(pkt[16:20])))
	if ipEnd >= len(pkt) {
		return b
	}
	end := len(pkt)
	if total >= ipEnd && total < end {
		end = total
	}
	switch pkt[9] {
	case 6:
	case 17:
		return appendUDPAnatomy(b, pkt, ipEnd, end)
	default:
		// ICMP and the rest: the bytes after the header, unnamed.
		b = fmt.Appendf(b, "%spayload, %d bytes%s\n", anatomyIndent, end-ipEnd, protoName(pkt[9]))
		return appendHex(b, pkt, ipEnd, min(end, ipEnd+anatomyMaxData))
	}
	t := pkt[ipEnd:end]
	if len(t) < 20 {
		b = fmt.Appendf(b, "%sTCP header, %d bytes (cut short: a TCP header has at least 20)\n", anatomyIndent, len(t))
		return appendHex(b, pkt, ipEnd, end)
	}
	doff := int(t[12]>>4) * 4
	tcpEnd := min(max(doff, 20), len(t))
	b = fmt.Appendf(b, "%sTCP header, %d bytes (20 fixed + %d of options)\n", anatomyIndent, tcpEnd, tcpEnd-20)
	b = appendHex(b, pkt, ipEnd, ipEnd+tcpEnd)
	b = fmt.Appendf(b, "%ssource port %d · destination port %d\n", anatomyLabel, binary.BigEndian.Uint16(t[0:]), binary.BigEndian.Uint16(t[2:]))
	b = fmt.Appendf(b, "%ssequence number %d · acknowledgment number %d\n", anatomyLabel, binary.BigEndian.Uint32(t[4:]), binary.BigEndian.Uint32(t[8:]))
	b = fmt.Appendf(b, "%sdata offset %d words (%d bytes) · flags %s · window %d\n", anatomyLabel, doff/4, doff, tcpFlagNames(t[13]), binary.BigEndian.Uint16(t[14:]))
	b = fmt.Appendf(b, "%schecksum 0x%04x · urgent pointer %d\n", anatomyLabel, binary.BigEndian.Uint16(t[16:]), binary.BigEndian.Uint16(t[18:]))
	if tcpEnd > 20 {
		b = fmt.Appendf(b, "%soptions (%d bytes):\n", anatomyLabel, tcpEnd-20)
		for _, o := range optionNames(t[20:tcpEnd]) {
			b = fmt.Appendf(b, "%s  %s\n", anatomyLabel, o)
		}
	}
	payload := t[tcpEnd:]
	if len(payload) == 0 {
		return b
	}
	http := looksHTTP(payload)
	kind := ""
	if http {
		kind = ", HTTP"
	}
	b = fmt.Appendf(b, "%spayload, %d bytes%s\n", anatomyIndent, len(payload), kind)
	shown := min(len(payload), anatomyMaxData)
	start := ipEnd + tcpEnd
	b = appendHex(b, pkt, start, start+shown)
	if shown < len(payload) {
		b = fmt.Appendf(b, "%s... %d more bytes\n", anatomyIndent, len(payload)-shown)
	}
	if http {
		b = appendHTTPText(b, payload)
	}
	return b
}

// appendUDPAnatomy appends the UDP header (RFC 768) of pkt, which starts
// at from, its fields named, and the payload's first bytes as hex (a DNS
// message when either port is 53; -v's line decodes it).
func appendUDPAnatomy(b []byte, pkt []byte, from, end int) []byte {
	u := pkt[from:end]
	if len(u) < 8 {
		b = fmt.Appendf(b, "%sUDP header, %d bytes (cut short: a UDP header has 8)\n", anatomyIndent, len(u))
		return appendHex(b, pkt, from, end)
	}
	b = fmt.Appendf(b, "%sUDP header, 8 bytes\n", anatomyIndent)
	b = appendHex(b, pkt, from, from+8)
	sport, dport := binary.BigEndian.Uint16(u[0:]), binary.BigEndian.Uint16(u[2:])
	b = fmt.Appendf(b, "%ssource port %d · destination port %d\n", anatomyLabel, sport, dport)
	b = fmt.Appendf(b, "%slength %d · checksum 0x%04x\n", anatomyLabel, binary.BigEndian.Uint16(u[4:]), binary.BigEndian.Uint16(u[6:]))
	payload := u[8:]
	if len(payload) == 0 {
		return b
	}
	kind := ""
	if sport == 53 || dport == 53 {
		kind = ", DNS"
	}
	b = fmt.Appendf(b, "%spayload, %d bytes%s\n", anatomyIndent, len(payload), kind)
	shown := min(len(payload), anatomyMaxData)
	b = appendHex(b, pkt, from+8, from+8+shown)
	if shown < len(payload) {
		b = fmt.Appendf(b, "%s... %d more bytes\n", anatomyIndent, len(payload)-shown)
	}
	return b
}

// appendHex writes pkt[from:to] as tcpdump -X does: the offset in the
// packet, 16 bytes of hex in two groups, and the bytes as ASCII.
func appendHex(b []byte, pkt []byte, from, to int) []byte {
	for off := from; off < to; off += 16 {
		row := pkt[off:min(off+16, to)]
		b = fmt.Appendf(b, "%s%04x  ", anatomyIndent, off)
		for i := range 16 {
			switch {
			case i < len(row):
				b = fmt.Appendf(b, "%02x ", row[i])
			default:
				b = append(b, "   "...)
			}
			if i == 7 {
				b = append(b, ' ')
			}
		}
		b = append(b, ' ')
		for _, c := range row {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			b = append(b, c)
		}
		b = append(b, '\n')
	}
	return b
}

func ecnName(e byte) string {
	return [...]string{"not ECT", "ECT(1)", "ECT(0)", "CE"}[e&3]
}

func protoName(p byte) string {
	switch p {
	case 6:
		return " (TCP)"
	case 17:
		return " (UDP)"
	case 1:
		return " (ICMP)"
	}
	return ""
}

func tcpFlagNames(f byte) string {
	names := []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
	var out []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, " ")
}

// optionNames walks the option bytes (RFC 9293 §3.2) and names each one
// with its size.
func optionNames(o []byte) []string {
	var out []string
	for i := 0; i < len(o); {
		kind := o[i]
		switch kind {
		case 0:
			return append(out, "end of option list (1 byte)")
		case 1:
			out = append(out, "no-operation (1 byte)")
			i++
			continue
		}
		if i+1 >= len(o) || int(o[i+1]) < 2 || i+int(o[i+1]) > len(o) {
			return append(out, fmt.Sprintf("kind %d with a malformed length: the rest is not parsed", kind))
		}
		n := int(o[i+1])
		v := o[i+2 : i+n]
		switch {
		case kind == 2 && n == 4:
			out = append(out, fmt.Sprintf("MSS %d (4 bytes)", binary.BigEndian.Uint16(v)))
		case kind == 3 && n == 3:
			out = append(out, fmt.Sprintf("window scale %d (3 bytes)", v[0]))
		case kind == 4 && n == 2:
			out = append(out, "SACK permitted (2 bytes)")
		case kind == 5 && (n-2)%8 == 0:
			var blocks []string
			for j := 0; j+8 <= len(v); j += 8 {
				blocks = append(blocks, fmt.Sprintf("%d:%d", binary.BigEndian.Uint32(v[j:]), binary.BigEndian.Uint32(v[j+4:])))
			}
			out = append(out, fmt.Sprintf("SACK %s (%d bytes)", strings.Join(blocks, " "), n))
		case kind == 8 && n == 10:
			out = append(out, fmt.Sprintf("timestamps TSval %d TSecr %d (10 bytes)", binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])))
		default:
			out = append(out, fmt.Sprintf("kind %d (%d bytes)", kind, n))
		}
		i += n
	}
	return out
}

// printable replaces control and non-ASCII bytes with dots.
func printable(s []byte) string {
	out := make([]byte, len(s))
	for i, c := range s {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}

var httpStarts = [][]byte{[]byte("GET "), []byte("HEAD "), []byte("POST "), []byte("PUT "), []byte("DELETE "), []byte("OPTIONS "), []byte("HTTP/1.")}

// looksHTTP reports whether a payload starts an HTTP/1 request or response.
func looksHTTP(p []byte) bool {
	for _, s := range httpStarts {
		if bytes.HasPrefix(p, s) {
			return true
		}
	}
	return false
}

// appendHTTPText writes the start line and header lines of an HTTP
// message, up to the blank line that ends them.
func appendHTTPText(b []byte, p []byte) []byte {
	lines := 0
	for len(p) > 0 && lines < anatomyMaxText {
		line, rest, found := bytes.Cut(p, []byte("\r\n"))
		if !found {
			b = fmt.Appendf(b, "%s| %s (continues in the next segment)\n", anatomyLabel, strconv.Quote(string(line)))
			return b
		}
		if len(line) == 0 {
			b = fmt.Appendf(b, "%s| (blank line: end of the header; %d bytes of body follow in this segment)\n", anatomyLabel, len(rest))
			return b
		}
		b = fmt.Appendf(b, "%s| %s\n", anatomyLabel, printable(line))
		p = rest
		lines++
	}
	if len(p) > 0 {
		b = fmt.Appendf(b, "%s| ...\n", anatomyLabel)
	}
	return b
}

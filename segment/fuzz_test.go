package segment

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzParse: Parse of a TCP segment never panics, and whatever it accepts
// re-encodes (always: the packed layout fits whatever a parsed header held)
// to bytes that parse to the same header and payload. Only the computed
// fields, data offset and checksum, may change, since option order and NOPs
// are ours.
func FuzzParse(f *testing.F) {
	f.Add(goldenSYN[20:])
	f.Add(goldenData)
	f.Add(tcpWith(6, 0x02, 0x04, 0x05, 0xb4))
	f.Add(tcpWith(15, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2,
		0x03, 0x03, 0x07, 0xfe, 21, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19))
	f.Add(tcpWith(14, 0x01, 0x01, 0x05, 0x22, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
		0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8))
	// Timestamps and three SACK blocks fill the 40 bytes (an ACK with timestamps on).
	f.Add(tcpWith(15, 0x01, 0x01, 0x08, 0x0a, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 1, 0x01, 0x01, 0x05, 0x1a,
		0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x10))
	f.Add(tcpWith(7, 0x1e, 0x03, 0xaa, 0x02, 0x04, 0x00, 0x09, 0x00))
	f.Add(tcpWith(6, 0xfd, 0x01, 0, 0))
	f.Add([]byte{})
	f.Add(tcpWith(8, 34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1))        // Fast Open, 8-byte cookie
	f.Add(tcpWith(8, 254, 12, 0xf9, 0x89, 1, 2, 3, 4, 5, 6, 7, 8)) // experimental Fast Open
	f.Add(tcpWith(8, 34, 5, 1, 2, 3, 1, 1, 1, 1, 1, 1, 1))         // odd cookie length
	f.Fuzz(func(t *testing.T, data []byte) {
		h, payload, err := Parse(data)
		if err != nil {
			return
		}
		_ = h.AppendString(nil, len(payload))
		if fo, err := h.Options.FastOpen(); err == nil && fo.Present && len(fo.Cookie) > FastOpenCookieMax {
			t.Fatalf("Fast Open cookie of %d bytes accepted", len(fo.Cookie))
		}
		h2 := h
		h2.Options.Unknown = bytes.Clone(h.Options.Unknown) // do not alias data
		b, err := h2.Encode(nil, addrA, addrB, payload)
		if err != nil {
			t.Fatalf("re-encode of %+v: %v", h, err)
		}
		if len(b) != h2.Len()+len(payload) {
			t.Fatalf("Len %d, wrote %d header bytes", h2.Len(), len(b)-len(payload))
		}
		if !VerifyChecksum(addrA, addrB, b) {
			t.Fatal("re-encoded segment does not verify")
		}
		got, gotPayload, err := Parse(b)
		if err != nil {
			t.Fatalf("parse of re-encoded bytes: %v\n% x", err, b)
		}
		want := h
		want.DataOffset, want.Checksum = got.DataOffset, got.Checksum
		if len(want.Options.Unknown) == 0 {
			want.Options.Unknown = nil
		}
		if !reflect.DeepEqual(got, want) || !bytes.Equal(gotPayload, payload) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
		}
	})
}

// FuzzParsePacket: the same property for whole IPv4+TCP packets, decoded
// without checksum verification (as a capture is) and re-encoded with
// lengths and checksums computed.
func FuzzParsePacket(f *testing.F) {
	f.Add(goldenSYN)
	f.Add(goldenSYN[:40])
	f.Add(append([]byte{0x46, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x94, 4, 0, 0}, goldenData[:20]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Packet
		if err := p.Decode(data, false); err != nil {
			return
		}
		_ = p.String()
		q := p
		q.IP.Options = bytes.Clone(p.IP.Options)
		q.TCP.Options.Unknown = bytes.Clone(p.TCP.Options.Unknown)
		b, err := q.Encode(nil)
		if err != nil {
			t.Fatalf("re-encode of %v: %v", p, err)
		}
		got, err := ParsePacket(b)
		if err != nil {
			t.Fatalf("parse of re-encoded bytes: %v\n% x", err, b)
		}
		want := p
		want.IP.Checksum, want.IP.TotalLen = got.IP.Checksum, got.IP.TotalLen
		want.TCP.DataOffset, want.TCP.Checksum = got.TCP.DataOffset, got.TCP.Checksum
		if len(want.IP.Options) == 0 {
			want.IP.Options = nil
		}
		if len(want.TCP.Options.Unknown) == 0 {
			want.TCP.Options.Unknown = nil
		}
		if !bytes.Equal(got.Payload, p.Payload) {
			t.Fatalf("payload differs")
		}
		got.Payload, want.Payload = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
		}
	})
}

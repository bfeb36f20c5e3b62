package ippacket

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics, and whatever it accepts re-encodes to
// bytes that parse to the same header (the checksum may change between its
// two encodings of zero, 0x0000 and 0xffff, so it is compared separately);
// a Raw re-encode reproduces the header bytes exactly.
func FuzzParse(f *testing.F) {
	f.Add(append(append([]byte(nil), goldenPlain...), make([]byte, 95)...))
	f.Add(goldenOptions)
	f.Add(goldenOptions[:20])
	f.Add([]byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0x4f})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, verify := range []bool{true, false} {
			var h Header
			payload, err := h.Decode(data, verify)
			if err != nil {
				continue
			}
			_ = h.String()
			v := View(data)
			_ = v.Options()
			hl := h.Len()
			if hl != int(h.IHL)*4 || len(payload) != int(h.TotalLen)-hl {
				t.Fatalf("Len %d, IHL %d, payload %d, total %d", hl, h.IHL, len(payload), h.TotalLen)
			}

			raw := h
			raw.Raw = true
			rb, err := raw.Encode(nil, len(payload))
			if err != nil {
				t.Fatalf("Raw re-encode of %+v: %v", h, err)
			}
			if !bytes.Equal(rb, data[:hl]) {
				t.Fatalf("Raw re-encode\n got % x\nwant % x", rb, data[:hl])
			}

			h2 := h
			h2.Options = append([]byte(nil), h.Options...) // do not alias data
			b, err := h2.Encode(nil, len(payload))
			if err != nil {
				t.Fatalf("re-encode of %+v: %v", h, err)
			}
			b = append(b, payload...)
			got, gotPayload, err := Parse(b)
			if err != nil {
				t.Fatalf("parse of re-encoded bytes: %v\n% x", err, b)
			}
			want := h
			want.Checksum = got.Checksum
			if verify && got.Checksum != h.Checksum && got.Checksum^h.Checksum != 0xffff {
				t.Fatalf("checksum %#04x became %#04x", h.Checksum, got.Checksum)
			}
			if len(want.Options) == 0 {
				want.Options = nil
			}
			if !reflect.DeepEqual(got, want) || !bytes.Equal(gotPayload, payload) {
				t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
			}
		}
	})
}

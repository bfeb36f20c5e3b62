package segment

import (
	"bytes"
	"reflect"
	"testing"
)

// TestTimestampsOnlyFastPath: the shortcut parse and encode take for the
// options of nearly every established segment (NOP, NOP, TS) give what the
// general code gives.
func TestTimestampsOnlyFastPath(t *testing.T) {
	ts := []byte{OptTimestamps, 10, 1, 2, 3, 4, 0xf5, 6, 7, 0x88}
	var fast, slow Options
	fast.Unknown = []byte{9} // parse must clear what was there
	if err := fast.parse(append([]byte{OptNOP, OptNOP}, ts...)); err != nil {
		t.Fatal(err)
	}
	// The same option after the NOPs' position changes: the loop decodes it.
	if err := slow.parse(append(append([]byte{}, ts...), OptNOP, OptNOP)); err != nil {
		t.Fatal(err)
	}
	if fast.HasTimestamps != true || fast.TSVal != 0x01020304 || fast.TSEcr != 0xf5060788 || fast.Unknown != nil {
		t.Fatalf("fast path parsed %+v", fast)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fast %+v, loop %+v", fast, slow)
	}
	// Encoding: the shortcut against the Linux layout written out by hand.
	got := fast.encode(nil)
	want := append([]byte{OptNOP, OptNOP}, ts...)
	if !bytes.Equal(got, want) || fast.Len() != 12 {
		t.Fatalf("encode %x (Len %d), want %x", got, fast.Len(), want)
	}
	// Any other option leaves the shortcut: SACK blocks after the TS.
	fast.AddSACK(SACKBlock{10, 20})
	if got := fast.encode(nil); len(got) != 24 || !bytes.Equal(got[:12], want) || got[12] != OptNOP || got[14] != OptSACK {
		t.Fatalf("with SACK: %x", got)
	}
}

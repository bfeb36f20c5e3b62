package segment

import "testing"

// TestFlagsString covers the forms tcpdump prints, in tcpdump's letter
// order F S R P . U E W.
func TestFlagsString(t *testing.T) {
	for _, tc := range []struct {
		f    Flags
		want string
	}{
		{FlagSYN, "[S]"},
		{FlagSYN | FlagACK, "[S.]"},
		{FlagACK, "[.]"},
		{FlagPSH | FlagACK, "[P.]"},
		{FlagFIN | FlagACK, "[F.]"},
		{FlagRST, "[R]"},
		{FlagRST | FlagACK, "[R.]"},
		{FlagFIN | FlagPSH | FlagACK, "[FP.]"},
		{0, "[none]"},
		{FlagSYN | FlagECE | FlagCWR, "[SEW]"}, // ECN-setup SYN (RFC 3168 §6.1.1)
		{FlagSYN | FlagACK | FlagECE, "[S.E]"}, // ECN-setup SYN-ACK
		{FlagACK | FlagCWR, "[.W]"},
		{FlagACK | FlagECE, "[.E]"},
		{FlagURG | FlagACK, "[.U]"},
		{0xff, "[FSRP.UEW]"},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("Flags(%#02x).String() = %q, want %q", uint8(tc.f), got, tc.want)
		}
	}
	if !(FlagSYN | FlagACK).Has(FlagSYN) || FlagSYN.Has(FlagSYN|FlagACK) {
		t.Error("Has")
	}
	// The bits sit where RFC 9293 §3.1 and RFC 3168 put them.
	if FlagFIN != 0x01 || FlagSYN != 0x02 || FlagRST != 0x04 || FlagPSH != 0x08 ||
		FlagACK != 0x10 || FlagURG != 0x20 || FlagECE != 0x40 || FlagCWR != 0x80 {
		t.Error("flag bit values differ from the RFC layout")
	}
}

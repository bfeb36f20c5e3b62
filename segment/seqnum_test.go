package segment

import "testing"

// TestSeqCompare checks every comparison on pairs that straddle the 2^32
// wrap, where plain integer comparison gives the wrong answer.
func TestSeqCompare(t *testing.T) {
	for _, tc := range []struct {
		s, t Seq
		less bool // s before t
		eq   bool
	}{
		{1, 2, true, false},
		{2, 1, false, false},
		{7, 7, false, true},
		{0xffffffff, 0, true, false},          // 2^32-1 is just before 0
		{0, 0xffffffff, false, false},         // and 0 just after it
		{0xfffffff0, 0x10, true, false},       // 32 apart across the wrap
		{0x10, 0xfffffff0, false, false},      //
		{0x7fffffff, 0x80000000, true, false}, // the middle of the space is no wrap
		{0, 0x7fffffff, true, false},          // 2^31-1 ahead is still after
		{0x80000002, 0x00000001, true, false}, // 1 is 2^31-1 ahead of it
		{0xffffffff, 0xffffffff, false, true},
	} {
		if got := tc.s.LessThan(tc.t); got != tc.less {
			t.Errorf("%d.LessThan(%d) = %v, want %v", tc.s, tc.t, got, tc.less)
		}
		if got := tc.s.LessThanEq(tc.t); got != (tc.less || tc.eq) {
			t.Errorf("%d.LessThanEq(%d) = %v", tc.s, tc.t, got)
		}
		if got := tc.s.GreaterThan(tc.t); got != (!tc.less && !tc.eq) {
			t.Errorf("%d.GreaterThan(%d) = %v", tc.s, tc.t, got)
		}
		if got := tc.s.GreaterThanEq(tc.t); got != !tc.less {
			t.Errorf("%d.GreaterThanEq(%d) = %v", tc.s, tc.t, got)
		}
		wantMax, wantMin := tc.t, tc.s
		if !tc.less {
			wantMax, wantMin = tc.s, tc.t
		}
		if got := tc.s.Max(tc.t); got != wantMax {
			t.Errorf("%d.Max(%d) = %d, want %d", tc.s, tc.t, got, wantMax)
		}
		if got := tc.s.Min(tc.t); got != wantMin {
			t.Errorf("%d.Min(%d) = %d, want %d", tc.s, tc.t, got, wantMin)
		}
	}
}

func TestSeqArithmetic(t *testing.T) {
	if got := Seq(0xfffffff0).Add(0x20); got != 0x10 {
		t.Errorf("Add across the wrap = %#x, want 0x10", got)
	}
	if got := Seq(0x10).Sub(0xfffffff0); got != 0x20 {
		t.Errorf("Sub across the wrap = %#x, want 0x20", got)
	}
	if got := Seq(5).Sub(5); got != 0 {
		t.Errorf("Sub of equal = %d", got)
	}
	// Add then Sub gives the distance back for any start.
	for _, s := range []Seq{0, 1, 0x7fffffff, 0x80000000, 0xffffffff} {
		for _, n := range []uint32{0, 1, 1460, 0x7fffffff} {
			if s.Add(n).Sub(s) != n || !s.Add(n).GreaterThanEq(s) {
				t.Errorf("%#x.Add(%d) breaks Sub or ordering", s, n)
			}
		}
	}
}

func TestSeqWindows(t *testing.T) {
	for _, tc := range []struct {
		s, a, b Seq
		in      bool
	}{
		{5, 5, 10, true},                           // left edge is in
		{9, 5, 10, true},                           //
		{10, 5, 10, false},                         // right edge is out
		{4, 5, 10, false},                          //
		{5, 5, 5, false},                           // empty range
		{0, 0xfffffff0, 0x10, true},                // range straddling the wrap
		{0xfffffff0, 0xfffffff0, 0x10, true},       //
		{0x10, 0xfffffff0, 0x10, false},            //
		{0xffffffef, 0xfffffff0, 0x10, false},      //
		{0x7fffffd0, 0xfffffff0, 0x7fffffe0, true}, // a window just under 2^31
	} {
		if got := tc.s.InRange(tc.a, tc.b); got != tc.in {
			t.Errorf("%#x.InRange(%#x, %#x) = %v, want %v", tc.s, tc.a, tc.b, got, tc.in)
		}
		if got := tc.s.InWindow(tc.a, tc.b.Sub(tc.a)); got != tc.in {
			t.Errorf("%#x.InWindow(%#x, %d) = %v, want %v", tc.s, tc.a, tc.b.Sub(tc.a), got, tc.in)
		}
	}
	if Seq(3).InWindow(3, 0) {
		t.Error("an empty window holds its own start")
	}
	if !Seq(2).InWindow(0xffffffff, 4) {
		t.Error("InWindow across the wrap")
	}
}

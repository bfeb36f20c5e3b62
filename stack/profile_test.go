package stack

import (
	"strings"
	"testing"
	"time"
)

// The profiles are valid configs with their defining settings, transfers
// under each survive loss and reordering intact, and an unknown name is an
// error naming the known ones.
func TestProfiles(t *testing.T) {
	if got := strings.Join(Profiles(), ","); got != "linux,rfc" {
		t.Fatalf("profiles %s", got)
	}
	lin, err := Profile(ProfileLinux)
	if err != nil || lin.CongestionControl != CCCubic || lin.QuickAcks != 16 || lin.RTOMax != 120*time.Second || lin.RTOMin != 200*time.Millisecond {
		t.Fatalf("linux: %+v %v", lin, err)
	}
	rfc, err := Profile(ProfileRFC)
	if err != nil || rfc.CongestionControl != CCNewReno || rfc.QuickAcks != 0 || rfc.RTOMin != time.Second || rfc.MSL != 2*time.Minute {
		t.Fatalf("rfc: %+v %v", rfc, err)
	}
	if _, err := Profile("bsd"); err == nil || !strings.Contains(err.Error(), "linux") {
		t.Fatalf("unknown profile: %v", err)
	}
	for _, name := range Profiles() {
		cfg, _ := Profile(name)
		for seed := uint64(1); seed <= 5; seed++ {
			transfer(t, seed, 100000, faults{loss: 0.03, reorder: 0.03, reorderDelay: 5 * time.Millisecond}, cfg)
		}
	}
}

package interop

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: gVisor's, the
// loop's, the TUN readers, net/http's.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

package tcptest

import "testing"

// TestScripts runs every conformance script in testdata as a subtest.
func TestScripts(t *testing.T) {
	RunScripts(t, "testdata/*.pkt")
}

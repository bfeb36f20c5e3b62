package tcptest

import (
	"testing"

	"github.com/tcpsim/tcpsim/internal/doctest"
)

// Every Go block in docs/testing.md is quoted, line for line, from this
// package's test files, which go test compiles and runs: the page's
// examples cannot drift from working code.
func TestDocsQuoteTests(t *testing.T) {
	n, missing, err := doctest.Unquoted("../../docs/testing.md", "*_test.go", false)
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("docs/testing.md has %d Go blocks, want the lossy-link test, the Peer test and the script test", n)
	}
	for _, b := range missing {
		t.Errorf("docs/testing.md quotes code found in no test file of sim/tcptest:\n%s", b)
	}
}

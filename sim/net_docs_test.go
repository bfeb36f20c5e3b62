package sim

import (
	"testing"

	"github.com/tcpsim/tcpsim/internal/doctest"
)

// Every Go block in docs/http.md is quoted, line for line (comments
// aside), from this package's test files, which go test compiles and runs.
func TestDocsHTTPQuoteTests(t *testing.T) {
	n, missing, err := doctest.Unquoted("../docs/http.md", "*_test.go", true)
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("docs/http.md has %d Go blocks, want at least 3", n)
	}
	for _, b := range missing {
		t.Errorf("docs/http.md quotes code found in no test file of sim:\n%s", b)
	}
}

package report

import (
	"testing"

	"github.com/tcpsim/tcpsim/internal/doctest"
)

// Every Go block in docs/report.md is quoted, line for line (comments
// aside), from this package's test files, which go test compiles and runs.
func TestDocsReportQuoteTests(t *testing.T) {
	n, missing, err := doctest.Unquoted("../docs/report.md", "*_test.go", true)
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Fatalf("docs/report.md has %d Go blocks, want at least 1", n)
	}
	for _, b := range missing {
		t.Errorf("docs/report.md quotes code found in no test file of report:\n%s", b)
	}
}

package tcptest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// codeLines returns the non-empty lines of Go source with leading and
// trailing space removed, so that a quote indented differently still
// matches.
func codeLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// containsLines reports whether want appears in have as consecutive lines.
func containsLines(have, want []string) bool {
	for i := 0; i+len(want) <= len(have); i++ {
		ok := true
		for j := range want {
			if have[i+j] != want[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Every Go block in docs/testing.md is quoted, line for line, from this
// package's test files, which go test compiles and runs: the page's
// examples cannot drift from working code.
func TestDocsQuoteTests(t *testing.T) {
	doc, err := os.ReadFile("../../docs/testing.md")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var sources [][]string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, codeLines(string(b)))
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 3 {
		t.Fatalf("docs/testing.md has %d Go blocks, want the lossy-link test, the Peer test and the script test", len(blocks))
	}
	for _, b := range blocks {
		want := codeLines(b[1])
		found := false
		for _, src := range sources {
			if containsLines(src, want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("docs/testing.md quotes code found in no test file of sim/tcptest:\n%s", b[1])
		}
	}
}

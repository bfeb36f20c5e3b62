package sim

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docLines returns the code lines of s: trimmed, without blank lines and
// without comment-only lines (a quote may add its own comments).
func docLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "//") {
			out = append(out, l)
		}
	}
	return out
}

// Every Go block in docs/http.md is quoted, line for line (comments
// aside), from this package's test files, which go test compiles and runs.
func TestDocsHTTPQuoteTests(t *testing.T) {
	doc, err := os.ReadFile("../docs/http.md")
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
		sources = append(sources, docLines(string(b)))
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 3 {
		t.Fatalf("docs/http.md has %d Go blocks, want at least 3", len(blocks))
	}
	for _, b := range blocks {
		want := docLines(b[1])
		found := false
		for _, src := range sources {
			for i := 0; i+len(want) <= len(src) && !found; i++ {
				found = true
				for j := range want {
					if src[i+j] != want[j] {
						found = false
						break
					}
				}
			}
		}
		if !found {
			t.Errorf("docs/http.md quotes code found in no test file of sim:\n%s", b[1])
		}
	}
}

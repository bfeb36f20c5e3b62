// Package doctest checks that the Go code blocks of a Markdown page are
// quoted from real test files, so the examples in the docs cannot drift
// from code that go test compiles and runs.
//
// It is a test helper for this module only; it knows nothing about Go
// syntax beyond comparing trimmed lines.
package doctest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// Lines returns the non-blank lines of s with surrounding space trimmed, so
// a quote indented differently still matches. With dropComments, lines
// that are only a // comment are left out as well (a quote may then add or
// omit its own comments).
func Lines(s string, dropComments bool) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || dropComments && strings.HasPrefix(l, "//") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// Contains reports whether want appears in have as consecutive lines.
func Contains(have, want []string) bool {
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

// Unquoted reads the Markdown page doc and the files matching srcGlob, and
// returns how many ```go blocks the page has and the text of those found,
// line for line (see Lines), in none of the files.
func Unquoted(doc, srcGlob string, dropComments bool) (blocks int, missing []string, err error) {
	page, err := os.ReadFile(doc)
	if err != nil {
		return 0, nil, err
	}
	files, err := filepath.Glob(srcGlob)
	if err != nil {
		return 0, nil, err
	}
	var sources [][]string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, nil, err
		}
		sources = append(sources, Lines(string(b), dropComments))
	}
	found := goBlock.FindAllStringSubmatch(string(page), -1)
	for _, b := range found {
		want := Lines(b[1], dropComments)
		ok := false
		for _, src := range sources {
			if Contains(src, want) {
				ok = true
				break
			}
		}
		if !ok {
			missing = append(missing, b[1])
		}
	}
	return len(found), missing, nil
}

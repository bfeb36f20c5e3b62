package tcptest

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestScripts runs every conformance script in testdata as a subtest.
func TestScripts(t *testing.T) {
	RunScripts(t, "testdata/*.pkt")
}

// TestKnownBugs runs the scripts in testdata/known-bugs, each of which
// records an engine bug, and requires each to fail on a script line (not
// to be unparseable). When one passes, the bug is fixed and the script
// belongs in testdata/.
func TestKnownBugs(t *testing.T) {
	files, err := filepath.Glob("testdata/known-bugs/*.pkt")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".pkt"), func(t *testing.T) {
			err := RunScriptFile(f)
			var re *RunError
			switch {
			case err == nil:
				t.Errorf("%s passes now: the bug it records is fixed; move it to testdata/ and drop its KNOWN BUG note", f)
			case !errors.As(err, &re):
				t.Errorf("%s fails for the wrong reason (not a script line): %v", f, err)
			default:
				first, _, _ := strings.Cut(err.Error(), "\n")
				t.Logf("still failing as recorded: %s", first)
			}
		})
	}
}

// TestScriptsCiteRFC requires every conformance script to name the RFC
// section it checks in a comment, and the suite to keep at least 40
// scripts.
func TestScriptsCiteRFC(t *testing.T) {
	files, err := filepath.Glob("testdata/*.pkt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Errorf("%d conformance scripts, want at least 40", len(files))
	}
	cite := regexp.MustCompile(`(?m)^\s*(//|#).*RFC \d+ §\d`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !cite.Match(b) {
			t.Errorf("%s names no RFC section (want a comment such as \"// RFC 9293 §3.10.7.4: ...\")", f)
		}
	}
}

package tcptest

import (
	"errors"
	"path/filepath"
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

package tcptest

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The upstream packetdrill corpus (google/packetdrill, gtests/net/tcp) is
// GPLv2 and is not copied into this repository; the tests read it from a
// checkout named by -tcpsim.packetdrill or $TCPSIM_PACKETDRILL (the
// gtests/net/tcp directory). sim/tcptest/fetch-packetdrill.sh makes one.
var (
	pdCorpus      = flag.String("tcpsim.packetdrill", "", "directory of the upstream packetdrill corpus (gtests/net/tcp of google/packetdrill)")
	pdUpdateSlice = flag.Bool("tcpsim.packetdrill.update", false, "rewrite testdata/packetdrill/slice.txt with today's outcomes")
)

func pdCorpusDir(t *testing.T) string {
	dir := *pdCorpus
	if dir == "" {
		dir = os.Getenv("TCPSIM_PACKETDRILL")
	}
	if dir == "" {
		t.Skip("no packetdrill corpus: set -tcpsim.packetdrill=DIR or TCPSIM_PACKETDRILL (see sim/tcptest/fetch-packetdrill.sh)")
	}
	return dir
}

// pdOutcome classifies a run: "pass", "fail" or "unsupported", with the
// first mismatch or the construct.
func pdOutcome(path string) (string, string) {
	_, err := RunPacketdrillFile(path)
	var ue *UnsupportedError
	var pe *ParseError
	switch {
	case err == nil:
		return "pass", ""
	case errors.As(err, &ue):
		return "unsupported", ue.Construct
	case errors.As(err, &pe):
		return "fail", "parse error: " + pe.Msg
	}
	msg, _, _ := strings.Cut(err.Error(), "\ntranscript")
	return "fail", msg
}

// TestUpstream runs every .pkt under the corpus directory and prints a
// table: passed, failed (first mismatch), unsupported (construct). It
// fails only if a script panics; the figures are the output. Given a file
// instead of a directory, it runs that script and shows its transcript.
//
//	go test ./sim/tcptest -run TestUpstream -tcpsim.packetdrill=DIR -v
func TestUpstream(t *testing.T) {
	dir := pdCorpusDir(t)
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		// One script: show its whole outcome, transcript included.
		_, err := RunPacketdrillFile(dir)
		o, _ := pdOutcome(dir)
		t.Logf("%s: %s\n%v", dir, o, err)
		return
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".pkt") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatalf("no .pkt files under %s", dir)
	}
	type row struct{ file, outcome, why string }
	var rows []row
	count := map[string]int{}
	core := map[string]int{}
	reasons := map[string]int{}
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		o, why := pdOutcome(f)
		rows = append(rows, row{rel, o, why})
		count[o]++
		if !regexp.MustCompile(`^(fastopen|zerocopy|psp)/`).MatchString(rel) {
			core[o]++
			key := o + ": " + pdReasonKey(why)
			if o != "pass" {
				reasons[key]++
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-62s %-12s %s\n", "script", "outcome", "first mismatch / construct")
	for _, r := range rows {
		why := strings.ReplaceAll(r.why, "\n", " | ")
		if len(why) > 220 {
			why = why[:220] + "..."
		}
		fmt.Fprintf(&b, "%-62s %-12s %s\n", r.file, r.outcome, why)
	}
	fmt.Fprintf(&b, "\nall %d: passed %d, failed %d, unsupported %d\n", len(files), count["pass"], count["fail"], count["unsupported"])
	n := core["pass"] + core["fail"] + core["unsupported"]
	fmt.Fprintf(&b, "outside fastopen, psp and zerocopy, %d: passed %d, failed %d, unsupported %d\n", n, core["pass"], core["fail"], core["unsupported"])
	var keys []string
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if reasons[keys[i]] != reasons[keys[j]] {
			return reasons[keys[i]] > reasons[keys[j]]
		}
		return keys[i] < keys[j]
	})
	b.WriteString("\nreasons outside fastopen, psp and zerocopy:\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%4d  %s\n", reasons[k], k)
	}
	t.Log("\n" + b.String())
}

var pdNumRe = regexp.MustCompile(`[0-9][0-9.:]*`)

// pdReasonKey shortens a reason so that similar ones group together.
func pdReasonKey(why string) string {
	first, _, _ := strings.Cut(why, "\n")
	if i := strings.Index(first, ": "); i >= 0 && strings.Contains(first[:i], ".pkt") {
		first = first[i+2:]
	}
	first = pdNumRe.ReplaceAllString(first, "N")
	if len(first) > 100 {
		first = first[:100]
	}
	return first
}

// TestPacketdrillSlice runs the upstream scripts listed in
// testdata/packetdrill/slice.txt and checks that each has the outcome
// recorded there, so that a change of outcome (a regression or a newly
// passing script) shows.
func TestPacketdrillSlice(t *testing.T) {
	dir := pdCorpusDir(t)
	f, err := os.Open("testdata/packetdrill/slice.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	var out strings.Builder
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			out.WriteString(sc.Text() + "\n")
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			t.Fatalf("slice.txt: bad line %q", line)
		}
		path, want := fields[0], fields[1]
		n++
		if *pdUpdateSlice {
			got, _ := pdOutcome(filepath.Join(dir, path))
			fmt.Fprintf(&out, "%-62s %s\n", path, got)
			continue
		}
		t.Run(path, func(t *testing.T) {
			got, why := pdOutcome(filepath.Join(dir, path))
			t.Logf("%s: %s %s", path, got, why)
			if got != want {
				t.Errorf("%s: outcome %s (%s), slice.txt records %s", path, got, why, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("slice.txt lists no script")
	}
	if *pdUpdateSlice {
		if err := os.WriteFile("testdata/packetdrill/slice.txt", []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

package main

import (
	"bytes"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// tutorialCommand is one `$ tcpsim ...` of docs/tutorial.md with the
// excerpt shown under it and the exit status its `$ echo $?` gives.
type tutorialCommand struct {
	args    []string
	excerpt []string
	status  int
}

// parseTutorial returns the commands of docs/tutorial.md's console blocks
// and the blocks marked <!-- tutorial: in FILE --> (FILE -> lines, each
// following the command that wrote it).
type tutorialFileCheck struct {
	after int // index of the command that writes the file
	file  string
	lines []string
}

func parseTutorial(t *testing.T, doc string) ([]tutorialCommand, []tutorialFileCheck) {
	t.Helper()
	block := regexp.MustCompile("(?s)(<!-- tutorial: in ([^ ]+) -->\n)?```[a-z]*\n(.*?)```")
	var cmds []tutorialCommand
	var files []tutorialFileCheck
	for _, m := range block.FindAllStringSubmatch(doc, -1) {
		body := strings.Split(strings.TrimSuffix(m[3], "\n"), "\n")
		if m[2] != "" {
			if len(cmds) == 0 {
				t.Fatalf("the check of %s comes before any command", m[2])
			}
			files = append(files, tutorialFileCheck{after: len(cmds) - 1, file: m[2], lines: body})
			continue
		}
		if !strings.HasPrefix(body[0], "$ ") {
			continue // not a console block (the build command)
		}
		for i := 0; i < len(body); i++ {
			line := body[i]
			switch {
			case strings.HasPrefix(line, "$ tcpsim "):
				if strings.ContainsAny(line, `'"\|;&<>`) {
					t.Fatalf("tutorial command %q needs a shell; keep commands to plain words", line)
				}
				cmds = append(cmds, tutorialCommand{args: strings.Fields(strings.TrimPrefix(line, "$ tcpsim "))})
			case line == "$ echo $?":
				if len(cmds) == 0 || i+1 == len(body) {
					t.Fatalf("`$ echo $?` without a command before it or a status after it")
				}
				i++
				n, err := strconv.Atoi(body[i])
				if err != nil {
					t.Fatalf("`$ echo $?` followed by %q, not a status", body[i])
				}
				cmds[len(cmds)-1].status = n
			case strings.HasPrefix(line, "$ "):
				t.Fatalf("tutorial console line %q is not a tcpsim command", line)
			default:
				if len(cmds) == 0 {
					t.Fatalf("output line %q before any command", line)
				}
				c := &cmds[len(cmds)-1]
				c.excerpt = append(c.excerpt, line)
			}
		}
	}
	return cmds, files
}

// matchInOrder reports the first excerpt line not found in lines after the
// previous one: "…" skips nothing (gaps are allowed everywhere), a line
// ending in " …" matches a line it begins.
func matchInOrder(excerpt, lines []string) (string, bool) {
	j := 0
	for _, want := range excerpt {
		if want == "…" {
			continue
		}
		prefix, cut := strings.CutSuffix(want, " …")
		found := false
		for ; j < len(lines); j++ {
			got := lines[j]
			if got == want || cut && strings.HasPrefix(got, prefix) {
				found = true
				j++
				break
			}
		}
		if !found {
			return want, false
		}
	}
	return "", true
}

// Every `$ tcpsim ...` in docs/tutorial.md runs, exits with the status the
// page shows (0 unless a `$ echo $?` follows), and prints the lines shown
// under it in that order; the blocks marked <!-- tutorial: in FILE -->
// appear, in order, in the file the command before them wrote.
func TestTutorialCommands(t *testing.T) {
	doc, err := os.ReadFile("../../docs/tutorial.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds, files := parseTutorial(t, string(doc))
	if len(cmds) < 15 || len(files) == 0 {
		t.Fatalf("docs/tutorial.md has %d commands and %d file checks; the parser found too few", len(cmds), len(files))
	}
	docs, err := filepath.Abs("../../docs")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(docs, filepath.Join(dir, "docs")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir) // files the commands write land here; docs/examples is reachable
	for i, c := range cmds {
		name := "tcpsim " + strings.Join(c.args, " ")
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		if code != c.status {
			t.Errorf("%s: exit status %d, the tutorial shows %d\nstderr: %s", name, code, c.status, stderr.String())
			continue
		}
		out := strings.Split(strings.TrimSuffix(stdout.String()+stderr.String(), "\n"), "\n")
		if line, ok := matchInOrder(c.excerpt, out); !ok {
			t.Errorf("%s: the tutorial shows the line\n\t%s\nwhich is not in the output (in that order):\n%s", name, line, stdout.String()+stderr.String())
		}
		for _, f := range files {
			if f.after != i {
				continue
			}
			b, err := os.ReadFile(f.file)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			text, pos := html.UnescapeString(string(b)), 0
			for _, line := range f.lines {
				k := strings.Index(text[pos:], line)
				if k < 0 {
					t.Errorf("%s: the tutorial shows %q from %s, which is not in it (in that order)", name, line, f.file)
					break
				}
				pos += k + len(line)
			}
		}
	}
}

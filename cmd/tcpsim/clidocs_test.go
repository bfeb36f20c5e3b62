package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every `$ tcpsim ...` shown in docs/cli.md's examples runs, exits with the
// status a following `$ echo $?` shows (0 without one), and prints the
// lines shown under it, in that order ("..." and "…" stand for lines left
// out), so that the page's figures stay those of the code.
func TestCLIDocsCommands(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	type example struct {
		args    []string
		excerpt []string
		status  int
	}
	var ex []example
	for _, m := range regexp.MustCompile("(?s)```[a-z]*\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		lines := strings.Split(strings.TrimSuffix(m[1], "\n"), "\n")
		first := len(ex) // a block's lines belong to its own commands only
		for i := 0; i < len(lines); i++ {
			line := lines[i]
			switch {
			case strings.HasPrefix(line, "$ tcpsim "):
				ex = append(ex, example{args: strings.Fields(strings.TrimPrefix(line, "$ tcpsim "))})
			case line == "$ echo $?":
				if len(ex) == first || i+1 == len(lines) {
					t.Fatalf("docs/cli.md: `$ echo $?` without a command before it or a status after it")
				}
				n, err := strconv.Atoi(lines[i+1])
				if err != nil {
					t.Fatalf("docs/cli.md: `$ echo $?` followed by %q", lines[i+1])
				}
				ex[len(ex)-1].status = n
				i++
			case strings.HasPrefix(line, "$ "):
				t.Fatalf("docs/cli.md: example line %q is not a tcpsim command", line)
			case len(ex) > first && strings.TrimSpace(line) != "" && line != "..." && line != "…":
				ex[len(ex)-1].excerpt = append(ex[len(ex)-1].excerpt, line)
			}
		}
	}
	if len(ex) < 6 {
		t.Fatalf("found %d examples in docs/cli.md; the parser found too few", len(ex))
	}
	t.Chdir("../..") // docs/examples/... as the page writes it
	for _, e := range ex {
		name := "tcpsim " + strings.Join(e.args, " ")
		var stdout, stderr bytes.Buffer
		if code := run(e.args, &stdout, &stderr); code != e.status {
			t.Errorf("%s: exit status %d, docs/cli.md shows %d\nstderr: %s", name, code, e.status, stderr.String())
			continue
		}
		out := strings.Split(stdout.String()+stderr.String(), "\n")
		if line, ok := matchInOrder(e.excerpt, out); !ok {
			t.Errorf("%s: docs/cli.md shows the line\n\t%s\nwhich is not in the output (in that order):\n%s", name, line, stdout.String()+stderr.String())
		}
	}
}

package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// docs/cli.md describes every flag of every command, each in a table row
// whose last cell is an example using it, and no flag that does not exist.
func TestDocsDescribeEveryFlag(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	// Table rows whose first cell names a flag: | `--name` | ... |
	row := regexp.MustCompile("(?m)^\\| `(-[a-zA-Z]`, `)?--([a-z-]+)` \\|(.*)\\|\\s*$")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented[m[2]] += m[3]
	}
	root := newRootCommand(io.Discard, io.Discard)
	exists := map[string]bool{"help": true}
	for _, name := range []string{"get", "transfer", "serve", "run", "sweep", "merge", "ping"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			exists[f.Name] = true
			cells, ok := documented[f.Name]
			if !ok {
				t.Errorf("%s --%s has no row in docs/cli.md", name, f.Name)
				return
			}
			// The last cell is the example: it uses the flag.
			example := cells[strings.LastIndex(cells, "|")+1:]
			if !regexp.MustCompile(`(^|[ `+"`"+`])--`+f.Name+`\b`).MatchString(example) && !(f.Shorthand != "" && strings.Contains(example, "`-"+f.Shorthand+"`")) {
				t.Errorf("docs/cli.md row of --%s has no example using it: %s", f.Name, cells)
			}
		})
	}
	for name := range documented {
		if !exists[name] {
			t.Errorf("docs/cli.md describes --%s, which no command has", name)
		}
	}
}

// README.md shows the output of its first command; the test runs that
// command and requires the same text, so the README stays true to the code.
func TestReadmeFirstCommand(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmdRe := regexp.MustCompile("(?m)^go run \\./cmd/tcpsim (get .*)$")
	m := cmdRe.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no `go run ./cmd/tcpsim get ...` line")
	}
	args := strings.Fields(string(m[1]))
	const head = "## What the first command prints\n\n```\n"
	i := strings.Index(string(readme), head)
	if i < 0 {
		t.Fatalf("README.md has no section %q", strings.TrimSpace(head))
	}
	shown := string(readme[i+len(head):])
	shown = shown[:strings.Index(shown, "```")]
	got := runOK(t, args...)
	if got != shown {
		t.Errorf("README.md shows for `tcpsim %s`:\n%s\nbut it prints:\n%s", strings.Join(args, " "), shown, got)
	}
	if !strings.Contains(got, "and 1 retransmission(s)") {
		t.Errorf("the README's first command no longer shows a retransmission:\n%s", got)
	}
}

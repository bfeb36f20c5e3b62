package doctest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLines(t *testing.T) {
	in := "  a := 1\n\n\t// note\n\tb()  \n"
	if got := Lines(in, false); len(got) != 3 || got[0] != "a := 1" || got[1] != "// note" || got[2] != "b()" {
		t.Errorf("Lines(keep comments) = %q", got)
	}
	if got := Lines(in, true); len(got) != 2 || got[1] != "b()" {
		t.Errorf("Lines(drop comments) = %q", got)
	}
}

func TestContains(t *testing.T) {
	have := []string{"a", "b", "c"}
	for _, c := range []struct {
		want []string
		ok   bool
	}{{[]string{"b", "c"}, true}, {[]string{"a", "c"}, false}, {nil, true}, {[]string{"c", "d"}, false}} {
		if got := Contains(have, c.want); got != c.ok {
			t.Errorf("Contains(%q, %q) = %v, want %v", have, c.want, got, c.ok)
		}
	}
}

func TestUnquoted(t *testing.T) {
	dir := t.TempDir()
	src := "package x\n\nfunc f() {\n\tx := 1\n\t// why\n\tuse(x)\n}\n"
	doc := "# Page\n\n```go\nx := 1\nuse(x)\n```\n\n```go\nnot(there)\n```\n"
	if err := os.WriteFile(filepath.Join(dir, "a_test.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "page.md"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	n, missing, err := Unquoted(filepath.Join(dir, "page.md"), filepath.Join(dir, "*_test.go"), true)
	if err != nil || n != 2 || len(missing) != 1 || missing[0] != "not(there)\n" {
		t.Errorf("dropping comments: n=%d missing=%q err=%v", n, missing, err)
	}
	// Keeping comments, the source's "// why" splits the quoted run.
	_, missing, _ = Unquoted(filepath.Join(dir, "page.md"), filepath.Join(dir, "*_test.go"), false)
	if len(missing) != 2 {
		t.Errorf("keeping comments: missing=%q, want both blocks", missing)
	}
	if _, _, err := Unquoted(filepath.Join(dir, "nope.md"), "*_test.go", false); err == nil {
		t.Error("missing page: no error")
	}
}

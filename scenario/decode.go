package scenario

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Error is one problem in a scenario: where (the file, line and column when
// the scenario came from a file), which field (a path such as
// "links[1].rate") and what is wrong or expected.
type Error struct {
	File         string
	Line, Column int // 0 when the scenario was not decoded from a file
	Field        string
	Msg          string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", e.Line, e.Column)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a scenario, in file order.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// source remembers where each field of a decoded scenario was written.
type source struct {
	file  string
	pos   map[string]*token.Position // field path → position of its value
	byOff map[int]string             // token offset → field path
	tag   *token.Token               // the first YAML tag, if any
}

// Load reads and decodes a scenario file (see Parse).
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse decodes a YAML scenario. Unknown fields, duplicate keys, values of
// the wrong type and bad units are errors naming the file (name), line,
// column and field. It does not validate: call Validate (Run does).
func Parse(name string, data []byte) (s *Scenario, err error) {
	src := &source{file: name, pos: map[string]*token.Position{}, byOff: map[int]string{}}
	defer func() {
		// The YAML library is not ours: a panic in it on strange input
		// (FuzzParse found one) is an error, not a crash.
		if p := recover(); p != nil {
			s, err = nil, Errors{{File: name, Msg: fmt.Sprintf("the YAML decoder failed on this file (%v); check its syntax", p)}}
		}
	}()
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Errors{src.yamlError(err)}
	}
	for _, d := range f.Docs {
		src.walk(d.Body, "")
	}
	if src.tag != nil {
		return nil, Errors{{File: name, Line: src.tag.Position.Line, Column: src.tag.Position.Column, Field: src.pathOf(src.tag),
			Msg: fmt.Sprintf("YAML tag %s: scenario files use no tags", src.tag.Value)}}
	}
	var sc Scenario
	if len(f.Docs) > 1 {
		return nil, Errors{{File: name, Line: f.Docs[1].Body.GetToken().Position.Line, Column: 1, Msg: "a scenario file holds one YAML document"}}
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil, Errors{{File: name, Msg: "empty scenario"}}
	}
	if _, ok := f.Docs[0].Body.(*ast.MappingNode); !ok {
		tk := f.Docs[0].Body.GetToken()
		return nil, Errors{{File: name, Line: tk.Position.Line, Column: tk.Position.Column, Msg: "want a mapping with hosts, links, flows… at the top"}}
	}
	if err := yaml.NodeToValue(f.Docs[0].Body, &sc, yaml.DisallowUnknownField(), yaml.Strict()); err != nil {
		return nil, Errors{src.yamlError(err)}
	}
	sc.src = src
	return &sc, nil
}

// walk records the position of every value under n.
func (s *source) walk(n ast.Node, path string) {
	if n == nil {
		return
	}
	if tk := n.GetToken(); tk != nil {
		if _, ok := s.pos[path]; !ok && path != "" {
			s.pos[path] = tk.Position
		}
		if _, ok := s.byOff[tk.Position.Offset]; !ok {
			s.byOff[tk.Position.Offset] = path
		}
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		for _, mv := range v.Values {
			s.walkPair(mv, path)
		}
	case *ast.MappingValueNode:
		s.walkPair(v, path)
	case *ast.SequenceNode:
		for i, e := range v.Values {
			s.walk(e, fmt.Sprintf("%s[%d]", path, i))
		}
	case *ast.AnchorNode:
		s.walk(v.Value, path)
	case *ast.TagNode:
		if s.tag == nil {
			s.tag = v.Start
		}
		s.walk(v.Value, path)
	}
}

func (s *source) walkPair(mv *ast.MappingValueNode, path string) {
	key := strings.Trim(mv.Key.String(), `"'`)
	p := key
	if path != "" {
		p = path + "." + key
	}
	if tk := mv.Key.GetToken(); tk != nil {
		s.byOff[tk.Position.Offset] = p
	}
	// A key with no value points at the key.
	if _, isNull := mv.Value.(*ast.NullNode); isNull {
		s.pos[p] = mv.Key.GetToken().Position
	}
	s.walk(mv.Value, p)
}

// at returns an Error for field path, positioned at the field's value or,
// when the field is absent, at the nearest enclosing one.
func (s *source) at(path, msg string) *Error {
	e := &Error{Field: path, Msg: msg}
	if s == nil {
		return e
	}
	e.File = s.file
	for p := path; ; {
		if pos, ok := s.pos[p]; ok {
			e.Line, e.Column = pos.Line, pos.Column
			return e
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return e
		}
		p = p[:i]
	}
}

// pathOf returns the field path of the token at tk, or "".
func (s *source) pathOf(tk *token.Token) string {
	if tk == nil || tk.Position == nil {
		return ""
	}
	return s.byOff[tk.Position.Offset]
}

// yamlError turns an error of the YAML parser or decoder into an *Error.
func (s *source) yamlError(err error) *Error {
	var ve *valueError
	if errors.As(err, &ve) {
		tk := ve.node.GetToken()
		return &Error{File: s.file, Line: tk.Position.Line, Column: tk.Position.Column, Field: s.pathOf(tk), Msg: ve.msg}
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		tk := ye.GetToken()
		e := &Error{File: s.file, Msg: ye.GetMessage()}
		if tk != nil && tk.Position != nil {
			e.Line, e.Column = tk.Position.Line, tk.Position.Column
			e.Field = s.pathOf(tk)
		}
		var te *yaml.TypeError
		var ue *yaml.UnknownFieldError
		var ne *yaml.UnexpectedNodeTypeError
		switch {
		case errors.As(err, &ne):
			w := map[ast.NodeType]string{ast.SequenceType: "want a list", ast.MappingType: "want a mapping"}[ne.Expected]
			if w == "" {
				w = "want a " + strings.ToLower(ne.Expected.String())
			}
			if names := fieldNames(typeAt(e.Field)); len(names) > 0 && ne.Expected == ast.MappingType {
				w += " with " + strings.Join(names, ", ")
			}
			e.Msg = fmt.Sprintf("%s: %s", describeNode(tk), w)
		case errors.As(err, &te):
			e.Msg = fmt.Sprintf("%s: %s", describeNode(tk), want(te.DstType))
		case errors.As(err, &ue):
			field := e.Field
			parent := ""
			if i := strings.LastIndexAny(field, ".["); i >= 0 {
				parent = field[:i]
			}
			e.Msg = fmt.Sprintf("unknown field %q", field[strings.LastIndexAny(field, ".")+1:])
			if names := fieldNames(typeAt(parent)); len(names) > 0 {
				e.Msg += "; want one of: " + strings.Join(names, ", ")
			}
		}
		return e
	}
	return &Error{File: s.file, Msg: err.Error()}
}

func describeNode(tk *token.Token) string {
	if tk == nil {
		return "this value"
	}
	return strconv.Quote(tk.Value)
}

// want says what a Go type expects, in the file's words.
func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "want a whole number"
	case reflect.String:
		return "want a string"
	case reflect.Bool:
		return "want true or false"
	case reflect.Slice:
		return "want a list"
	case reflect.Struct, reflect.Map:
		if names := fieldNames(t); len(names) > 0 {
			return "want a mapping with " + strings.Join(names, ", ")
		}
		return "want a mapping"
	case reflect.Pointer:
		return want(t.Elem())
	}
	return "want a " + t.String()
}

// typeAt returns the Go type of the field at path in a Scenario, or nil.
func typeAt(path string) reflect.Type {
	t := reflect.TypeFor[Scenario]()
	if path == "" {
		return t
	}
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '.' || r == '[' }) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if strings.HasSuffix(part, "]") {
			if t.Kind() != reflect.Slice {
				return nil
			}
			t = t.Elem()
			continue
		}
		ft, ok := yamlField(t, part)
		if !ok {
			return nil
		}
		t = ft
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// yamlField finds the field a YAML key names in struct t (inline structs
// included).
func yamlField(t reflect.Type, key string) (reflect.Type, bool) {
	if t == nil || t.Kind() != reflect.Struct {
		return nil, false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			if ft, ok := yamlField(f.Type, key); ok {
				return ft, true
			}
			continue
		}
		if name == key && f.IsExported() {
			return f.Type, true
		}
	}
	return nil, false
}

// fieldNames lists the YAML keys of struct t, sorted (nil for other types).
func fieldNames(t reflect.Type) []string {
	if t == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			names = append(names, fieldNames(f.Type)...)
			continue
		}
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// FieldNames returns the YAML keys of the scenario format by type name
// ("Scenario", "Host", "Link", "Dir", …), for tools and the schema test.
func FieldNames() map[string][]string {
	out := map[string][]string{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[Scenario]().PkgPath() {
			return
		}
		if _, ok := out[t.Name()]; ok {
			return
		}
		out[t.Name()] = fieldNames(t)
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				visit(t.Field(i).Type)
			}
		}
	}
	visit(reflect.TypeFor[Scenario]())
	// Dir is inline in Link; it is also a type of its own (ab, ba).
	return out
}

package scenario

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// Set changes one field of s, named by its path in the file's words, to
// value written as in the file: Set("links[2].rate", "5mbit"),
// Set("flows[0].size", "1MB"), Set("seed", "7"). A list element is chosen
// by its index or by its name ("links[bottleneck].delay",
// "hosts[server].tcp.rcvbuf"). Setting a field of a link's ab or ba that
// the file does not have starts that direction from the link's own
// settings. tcpsim sweep's --set uses it; the result is checked by
// Validate like any scenario.
func (s *Scenario) Set(path, value string) error {
	if s == nil {
		return fmt.Errorf("%s: no scenario (nil *Scenario)", path)
	}
	segs, err := splitPath(path)
	if err != nil {
		return err
	}
	v := reflect.ValueOf(s).Elem()
	var parent reflect.Value // the struct holding v, for ab and ba
	done := ""
	for _, sg := range segs {
		where := strings.TrimPrefix(done, ".")
		if sg.field != "" {
			for v.Kind() == reflect.Pointer {
				if v.IsNil() {
					nv := reflect.New(v.Type().Elem())
					if d, ok := parent.Addr().Interface().(*Link); ok && v.Type() == reflect.TypeFor[*Dir]() {
						nv.Elem().Set(reflect.ValueOf(d.Dir))
					}
					v.Set(nv)
				}
				v = v.Elem()
			}
			if v.Kind() != reflect.Struct {
				return fmt.Errorf("%s: %s is a value, it has no field %q", path, where, sg.field)
			}
			f, ok := fieldByYAML(v, sg.field)
			if !ok {
				return fmt.Errorf("%s: %q: unknown field of %s; want one of: %s", path, sg.field, orTop(where), strings.Join(fieldNames(v.Type()), ", "))
			}
			parent, v = v, f
			done += "." + sg.field
			continue
		}
		if v.Kind() != reflect.Slice {
			return fmt.Errorf("%s: %s is not a list", path, where)
		}
		i, err := strconv.Atoi(sg.key)
		if err != nil {
			i = -1
			for j := range v.Len() {
				e := v.Index(j)
				if n := e.FieldByName("Name"); n.IsValid() && n.Kind() == reflect.String && n.String() == sg.key {
					i = j
					break
				}
			}
			if i < 0 {
				return fmt.Errorf("%s: %s has no element named %q", path, where, sg.key)
			}
		} else if i < 0 || i >= v.Len() {
			return fmt.Errorf("%s: %s has %d elements (index from 0)", path, where, v.Len())
		}
		parent, v = v.Index(i), v.Index(i)
		done += "[" + sg.key + "]"
	}
	if t := v.Type(); t.Kind() == reflect.Struct || t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		return fmt.Errorf("%s: a %s, not a value: set one of its fields", path, strings.TrimPrefix(strings.TrimPrefix(t.String(), "*"), "scenario."))
	} else if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
		return fmt.Errorf("%s: a list, not a value: set a field of one of its elements, such as %s[0].name", path, path)
	}
	nv := reflect.New(v.Type())
	if err := yaml.UnmarshalWithOptions([]byte(value), nv.Interface(), yaml.Strict()); err != nil {
		msg := err.Error()
		var ve *valueError
		if errors.As(err, &ve) {
			return fmt.Errorf("%s: %s", path, ve.msg)
		}
		if i := strings.LastIndex(msg, "] "); i >= 0 {
			msg = msg[i+2:]
		}
		return fmt.Errorf("%s: %q: %s", path, value, strings.TrimSpace(firstLine(msg)))
	}
	v.Set(nv.Elem())
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func orTop(where string) string {
	if where == "" {
		return "the scenario"
	}
	return where
}

type pathSeg struct{ field, key string }

// splitPath cuts "links[2].ab.rate" into links, [2], ab, rate.
func splitPath(path string) ([]pathSeg, error) {
	var out []pathSeg
	rest := path
	for rest != "" {
		switch {
		case rest[0] == '[':
			j := strings.IndexByte(rest, ']')
			if j < 2 {
				return nil, fmt.Errorf("%s: want [index] or [name] after a list", path)
			}
			out = append(out, pathSeg{key: rest[1:j]})
			rest = rest[j+1:]
		case rest[0] == '.' && len(out) > 0:
			rest = rest[1:]
		default:
			j := strings.IndexAny(rest, ".[")
			if j < 0 {
				j = len(rest)
			}
			if j == 0 {
				return nil, fmt.Errorf("%s: empty field name", path)
			}
			out = append(out, pathSeg{field: rest[:j]})
			rest = rest[j:]
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty path: want a field such as links[0].rate")
	}
	return out, nil
}

// fieldByYAML finds the field whose YAML key is name, looking into inline
// structs (Link's Dir).
func fieldByYAML(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		key, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			if x, ok := fieldByYAML(v.Field(i), name); ok {
				return x, true
			}
			continue
		}
		if key == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

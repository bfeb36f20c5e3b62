package scenario

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"testing"
)

// docs/scenario.schema.json and the Go structs name the same fields: the
// schema's top level is Scenario, and each object in $defs is the Go type of
// that name, with exactly the YAML keys of its fields.
func TestSchemaMatchesStructs(t *testing.T) {
	data, err := os.ReadFile("../docs/scenario.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	type object struct {
		Properties           map[string]json.RawMessage `json:"properties"`
		AdditionalProperties *bool                      `json:"additionalProperties"`
	}
	var schema struct {
		object
		Defs map[string]object `json:"$defs"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("the schema is not JSON: %v", err)
	}
	keys := func(o object) []string {
		var k []string
		for name := range o.Properties {
			k = append(k, name)
		}
		sort.Strings(k)
		return k
	}
	types := FieldNames()
	check := func(name string, o object) {
		want, ok := types[name]
		if !ok {
			t.Errorf("schema object %s is no Go type of package scenario", name)
			return
		}
		if got := keys(o); !slices.Equal(got, want) {
			t.Errorf("%s: schema has %v, the Go struct %v", name, got, want)
		}
		if o.AdditionalProperties == nil || *o.AdditionalProperties {
			t.Errorf("%s: the schema allows other properties; the decoder does not", name)
		}
	}
	check("Scenario", schema.object)
	for name, o := range schema.Defs {
		if o.Properties != nil {
			check(name, o)
		}
	}
	for name := range types {
		if _, ok := schema.Defs[name]; !ok && name != "Scenario" {
			t.Errorf("Go type %s has no object in the schema's $defs", name)
		}
	}
}

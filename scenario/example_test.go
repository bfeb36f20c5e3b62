package scenario_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/internal/doctest"
	"github.com/tcpsim/tcpsim/scenario"
)

// A scenario is a Go value as much as a file: two hosts, one link, one
// bulk flow.
func ExampleRun() {
	s := &scenario.Scenario{
		Hosts: []scenario.Host{{Name: "a"}, {Name: "b", Listen: []scenario.Listen{{Port: 9}}}},
		Links: []scenario.Link{{A: "a", B: "b", Dir: scenario.Dir{Rate: 100e6, Delay: scenario.Duration(time.Millisecond)}}},
		Flows: []scenario.Flow{{From: "a", To: "b", Port: 9, Size: 50e3, CC: "cubic"}},
	}
	res, err := scenario.Run(s, scenario.Options{}) // err: the scenario is invalid
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range res.Flows {
		fct, _ := f.Flow.CompletionTime() // package flows' view of the connection
		fmt.Println(f.Name, f.CC, f.Bytes, f.Err, fct)
	}
	s.Flows[0].To = "c"
	fmt.Println(s.Validate())
	// Output:
	// flow1 cubic 50000 <nil> 8.08352ms
	// flows[0].to: "c": no host has this name (known: a, b)
}

// Every Go block in docs/scenarios.md is quoted from this package's tests.
func TestDocsScenariosQuoteTests(t *testing.T) {
	n, missing, err := doctest.Unquoted("../docs/scenarios.md", "*_test.go", true)
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Fatalf("docs/scenarios.md has %d Go blocks", n)
	}
	for _, b := range missing {
		t.Errorf("docs/scenarios.md quotes code found in no test file of scenario:\n%s", b)
	}
}

//go:build race

package stack

// raceEnabled reports a -race build: a few long runs skip themselves there
// (they run in the plain go test ./...).
const raceEnabled = true

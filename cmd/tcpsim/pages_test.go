package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pageFetch runs one strategy on the default link (25 ms each way,
// 10 Mbit/s) with n objects of size bytes; args are more get flags'
// effects on the options.
func pageFetch(t *testing.T, rawURL, strat string, par, n int, size int64, set func(*options)) *pageRun {
	t.Helper()
	o := defaultOptions()
	o.dns = true
	for i := 1; i <= n; i++ {
		o.pages.objs = append(o.pages.objs, pageObject{path: fmt.Sprintf("/objects/%d.bin", i), size: size})
	}
	if set != nil {
		set(o)
	}
	u, err := parseGetURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer oneThread()()
	p, err := fetchPage(o, u, strat, par, nil)
	if err != nil {
		t.Fatalf("%s: %v", strat, err)
	}
	if err := p.failure(); err != nil {
		t.Fatalf("%s: %v", strat, err)
	}
	if got := len(p.fetches); got != n+1 {
		t.Fatalf("%s: %d responses, want the page and %d objects", strat, got, n)
	}
	return p
}

// persistent opens one connection and, on a loss-free link, saves one
// round trip per object over serial: serial's every object waits for a
// three-way handshake first, and nothing else differs (each object fits
// in the initial window, so slow start costs both the same). The
// tolerance, 5% of an RTT per object, covers the handshake segments'
// transmission times and the closes.
func TestPagePersistentBeatsSerial(t *testing.T) {
	const n = 10
	serial := pageFetch(t, "http://server.example/", stSerial, 0, n, 10240, nil)
	pers := pageFetch(t, "http://server.example/", stPersistent, 0, n, 10240, nil)
	if len(pers.flows) != 1 {
		t.Fatalf("persistent opened %d connections, want 1", len(pers.flows))
	}
	if len(serial.flows) != n+1 {
		t.Fatalf("serial opened %d connections, want %d (the page and each object)", len(serial.flows), n+1)
	}
	for _, f := range pers.fetches {
		if f.local != pers.flows[0].Client {
			t.Errorf("persistent: %s came on %v, not the one connection %v", f.path, f.local, pers.flows[0].Client)
		}
	}
	f := pers.flows[0]
	rtt := f.SYNACKDeliveredAt - f.SYNAt // the SYN's round trip
	saved := serial.done - pers.done
	want := n * rtt
	if tol := n * rtt / 20; saved < want-tol || saved > want+tol {
		t.Errorf("persistent finished %v before serial (%v against %v); want %d RTTs of %v = %v ± %v", saved, pers.done, serial.done, n, rtt, want, tol)
	}
}

// concurrent is the most connections open at once, a connection counting
// from its SYN to the client's FIN (when the client closed it).
func concurrent(p *pageRun) int {
	most := 0
	for _, a := range p.flows {
		open := 0
		for _, b := range p.flows {
			if b.SYNAt <= a.SYNAt && (b.Dir[0].FINs == 0 || b.Dir[0].FINAt > a.SYNAt) {
				open++
			}
		}
		most = max(most, open)
	}
	return most
}

func TestPageParallelAtMostN(t *testing.T) {
	for _, par := range []int{2, 6} {
		p := pageFetch(t, "http://server.example/", stParallel, par, 20, 10240, nil)
		if len(p.flows) != 21 {
			t.Errorf("parallel %d: %d connections, want 21 (one per response)", par, len(p.flows))
		}
		for _, f := range p.flows {
			if f.Dir[0].FINs == 0 {
				t.Errorf("parallel %d: connection %v never closed by the client", par, f.Client)
			}
		}
		if got := concurrent(p); got != par {
			t.Errorf("parallel %d: at most %d connections open at once (from the SYN and FIN times), want exactly %d", par, got, par)
		}
	}
	// The check can fail: serial never has two open, persistent one.
	if got := concurrent(pageFetch(t, "http://server.example/", stSerial, 0, 5, 10240, nil)); got != 1 {
		t.Errorf("serial: %d connections open at once, want 1", got)
	}
}

// firstObjectResponse is when the first byte of the server's second
// response (the first object's) reached the client, and when the client's
// last data segment left.
func pipelineTimes(t *testing.T, p *pageRun) (lastRequest, firstObject time.Duration) {
	t.Helper()
	c := p.flows[0].Client
	ends := p.respEnds[c]
	if len(ends) != len(p.fetches) {
		t.Fatalf("server wrote %d responses, want %d", len(ends), len(p.fetches))
	}
	firstObject = -1
	for _, s := range p.segs {
		switch {
		case s.client != c:
		case !s.fromSrv && !s.delivered:
			lastRequest = max(lastRequest, s.at)
		case s.fromSrv && s.delivered && s.off+s.len > ends[0] && firstObject < 0:
			firstObject = s.at
		}
	}
	if firstObject < 0 {
		t.Fatal("no object response byte was delivered")
	}
	return lastRequest, firstObject
}

func TestPagePipelinedRequestsBeforeResponses(t *testing.T) {
	p := pageFetch(t, "http://server.example/", stPipelined, 0, 10, 10240, nil)
	if len(p.flows) != 1 {
		t.Fatalf("pipelined opened %d connections, want 1", len(p.flows))
	}
	last, first := pipelineTimes(t, p)
	if last >= first {
		t.Errorf("pipelined: the client's last request segment left at %v, after the first object response arrived at %v", last, first)
	}
	// Persistent waits for each response: its last request leaves after.
	q := pageFetch(t, "http://server.example/", stPersistent, 0, 10, 10240, nil)
	if last, first := pipelineTimes(t, q); last < first {
		t.Errorf("persistent: last request at %v before the first object response at %v", last, first)
	}
}

func TestPageH2OneConnectionInterleaved(t *testing.T) {
	p := pageFetch(t, "https://server.example/", stH2, 0, 4, 40000, nil)
	if len(p.flows) != 1 || p.tlsHS != 1 {
		t.Fatalf("h2: %d connections, %d TLS handshakes; want 1 and 1", len(p.flows), p.tlsHS)
	}
	streams := map[uint32]bool{}
	for _, f := range p.fetches {
		if f.local != p.flows[0].Client {
			t.Errorf("h2: %s on %v, not the connection %v", f.path, f.local, p.flows[0].Client)
		}
		if streams[f.stream] || f.stream%2 != 1 {
			t.Errorf("h2: %s on stream %d (repeated, or not a client stream)", f.path, f.stream)
		}
		streams[f.stream] = true
	}
	// Interleaving: some stream's DATA frames are not all adjacent.
	interleaved := false
	last := map[uint32]int{}
	for i, id := range p.h2Data {
		if j, ok := last[id]; ok && j != i-1 {
			interleaved = true
		}
		last[id] = i
	}
	if !interleaved {
		t.Errorf("h2: DATA frames by stream %v: no response interleaves with another", p.h2Data)
	}
	// The objects' requests all left before the first object's headers.
	for _, f := range p.fetches[1:] {
		if f.requested > p.fetches[1].headers {
			t.Errorf("h2: %s requested at %v, after the first object's headers at %v", f.path, f.requested, p.fetches[1].headers)
		}
	}
}

func TestPageH2OnHTTPCompare(t *testing.T) {
	// --compare on http:// runs h2 over TLS on port 443.
	p := pageFetch(t, "http://server.example/", stH2, 0, 2, 1000, nil)
	if p.flows[0].Server.Port() != 443 || p.tlsHS != 1 {
		t.Errorf("h2 from an http:// URL: server %v, %d TLS handshakes; want port 443 and 1", p.flows[0].Server, p.tlsHS)
	}
}

var totalsRE = regexp.MustCompile(`totals: time ([0-9.]+) s, (\d+) connection\(s\), (\d+) TCP handshake\(s\), (\d+) TLS handshake\(s\), (\d+) round trip\(s\) in slow start, (\d+) bytes on the wire in (\d+) packets, (\d+) retransmission\(s\)`)

// --compare's rows are the single-strategy runs' totals.
func TestPageCompareAgreesWithRuns(t *testing.T) {
	base := []string{"get", "https://server.example/", "--objects", "5", "--loss", "2%", "--seed", "3", "--parallel", "3"}
	table := runOK(t, append(base, "--compare")...)
	for _, s := range strategies {
		args := append(append([]string{}, base...), "--strategy", s)
		if s != stParallel {
			args = append(args[:len(base)-2], args[len(base):]...)
		}
		out := runOK(t, args...)
		m := totalsRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%s: no totals line in\n%s", s, out)
		}
		name := s
		if s == stParallel {
			name = "parallel 3"
		}
		row := regexp.MustCompile(`(?m)^  ` + name + ` +(.*)$`).FindStringSubmatch(table)
		if row == nil {
			t.Fatalf("no row for %s in\n%s", name, table)
		}
		got := strings.Fields(row[1])
		if want := m[1:]; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: --compare row %v, the run's totals %v", name, got, want)
		}
	}
	if !strings.Contains(table, "retrans") || strings.Count(table, "\n  ") < 6 {
		t.Errorf("table looks wrong:\n%s", table)
	}
}

func TestPageSameSeedSameOutput(t *testing.T) {
	for _, args := range [][]string{
		{"get", "http://server.example/", "--objects", "6", "--compare", "--loss", "3%", "--seed", "5"},
		{"get", "https://server.example/", "--objects", "3", "--strategy", "h2", "-v"},
	} {
		a, b := runOK(t, args...), runOK(t, args...)
		if a != b {
			t.Errorf("%v: two runs differ:\n%s\n---\n%s", args, a, b)
		}
		other := runOK(t, append(args, "--seed", "9")...)
		if strings.Contains(strings.Join(args, " "), "loss") && other == a {
			t.Errorf("%v: seed 9 gave the same output as the seed given", args)
		}
	}
}

func TestPageManifest(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "site.txt")
	os.WriteFile(file, []byte("# a small site\n/style.css 4KB\n\n/img/logo.png   20KiB\n/app.js 1\n"), 0o644)
	out := runOK(t, "get", "http://server.example/", "--page", file, "--strategy", "persistent", "--dns", "off")
	for _, want := range []string{`/style.css +4000 +1 `, `/img/logo.png +20480 +1 `, `/app.js +1 +1 `, `4 response\(s\)`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

func TestPageBadInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		f := filepath.Join(dir, name)
		os.WriteFile(f, []byte(text), 0o644)
		return f
	}
	oneField := write("one.txt", "/a.css 1KB\n/b.css\n")
	badSize := write("size.txt", "# c\n/a.css 1KB\n\n/b.css big\n")
	relative := write("rel.txt", "a.css 1KB\n")
	dup := write("dup.txt", "/a.css 1KB\n/a.css 2KB\n")
	own := write("own.txt", "/ 1KB\n")
	u := "http://server.example/"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--objects", "-1"}, `"-1" for "--objects"`},
		{[]string{"--objects", "3", "--strategy", "fast"}, `unknown strategy "fast"`},
		{[]string{"--objects", "3", "--strategy", "parallel", "--parallel", "0"}, `"0" for "--parallel"`},
		{[]string{"--objects", "3", "--strategy", "h2"}, "--strategy h2 needs an https:// URL"},
		{[]string{"--objects", "3", "--parallel", "4"}, "--parallel 4 needs --strategy parallel"},
		{[]string{"--object-size", "1KB"}, "--object-size needs --objects"},
		{[]string{"--objects", "3", "--compare", "--strategy", "serial"}, "exclusive"},
		{[]string{"--objects", "3", "--compare", "-v"}, "--compare runs several fetches"},
		{[]string{"--objects", "3", "--size", "1MB"}, "--size is for a single page"},
		{[]string{"--objects", "3", "--repeat", "2"}, "--repeat is not offered with a page of objects"},
		{[]string{"--compare", "--split-request"}, "--split-request is not offered with a page of objects"},
		{[]string{"--objects", "3", "--ladder"}, "--ladder is not offered"},
		{[]string{"--objects", "3", "--tun", "tun0"}, "--objects is not offered with --tun"},
		{[]string{"--objects", "3", "--page", oneField}, "exclusive"},
		{[]string{"--page", oneField}, oneField + `:2: want "PATH SIZE" (two fields), got 1`},
		{[]string{"--page", badSize}, badSize + `:4: size "big"`},
		{[]string{"--page", relative}, relative + `:1: path "a.css"`},
		{[]string{"--page", dup}, dup + ":2: path /a.css already listed at line 1"},
		{[]string{"--page", own}, own + ":1: path / is the page's own path"},
		{[]string{"--page", filepath.Join(dir, "missing.txt")}, "missing.txt: no such file"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"get", u}, c.args...), &stdout, &stderr)
		first, _, _ := strings.Cut(stderr.String(), "\n")
		if code != exitUsage || !strings.Contains(first, c.want) {
			t.Errorf("%v: exit %d, first line %q; want 2 and %q", c.args, code, first, c.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: printed %q", c.args, stdout.String())
		}
	}
}

// The slow-start count on a loss-free link: every connection of serial
// has one round trip of data per response that fits the initial window,
// and a response of 200 KB on a fresh connection takes the rounds of
// doubling from 10 segments.
func TestPageSlowStartRounds(t *testing.T) {
	p := pageFetch(t, "http://server.example/", stSerial, 0, 4, 10240, nil)
	if got := p.slowRounds(); got != 5 {
		t.Errorf("serial, 4 objects of 10 KiB: %d slow-start round trips, want 5 (one per connection)", got)
	}
	q := pageFetch(t, "http://server.example/", stSerial, 0, 1, 200000, nil)
	// 1 for the page; the object: 10, 20, 40, 80 segments cover
	// 150 × 1448 bytes ≥ 200 KB, so 4 rounds.
	if got := q.slowRounds(); got != 1+4 {
		t.Errorf("serial, one object of 200 KB: %d slow-start round trips, want 5 (page 1, object 4)", got)
	}
}

// docs/http.md's pages section shows commands with their output: each
// block that starts with "$ tcpsim ARGS" holds what the command prints.
func TestDocsPagesOutput(t *testing.T) {
	const path = "../../docs/http.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```\n\\$ tcpsim ([^\n]*)\n(.*?)```")
	n := 0
	out := block.ReplaceAllStringFunc(string(doc), func(b string) string {
		m := block.FindStringSubmatch(b)
		n++
		got := runOK(t, strings.Fields(m[1])...)
		if !*update && got != m[2] {
			t.Errorf("docs/http.md shows for `tcpsim %s`:\n%s\nbut it prints:\n%s", m[1], m[2], got)
		}
		return "```\n$ tcpsim " + m[1] + "\n" + got + "```"
	})
	if n < 4 {
		t.Fatalf("docs/http.md has %d `$ tcpsim` blocks, want at least 4", n)
	}
	if *update && out != string(doc) {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// With windows smaller than the responses, the server must stop at the
// windows and the client give them back (WINDOW_UPDATE) for the page to
// finish.
func TestPageH2FlowControl(t *testing.T) {
	defer func(w int64) { h2Window = w }(h2Window)
	h2Window = 40000
	p := pageFetch(t, "https://server.example/", stH2, 0, 3, 150000, nil)
	if len(p.flows) != 1 {
		t.Fatalf("%d connections, want 1", len(p.flows))
	}
	// 3 × 150,000 bytes through 40,000-byte stream windows: each stream
	// needs at least three updates of its own.
	if p.h2Updates < 9 {
		t.Errorf("the client sent %d WINDOW_UPDATEs, want at least 9", p.h2Updates)
	}
	big := pageFetch(t, "https://server.example/", stH2, 0, 3, 150000, func(*options) { h2Window = 1 << 30 })
	if big.h2Updates != 0 || big.done >= p.done {
		t.Errorf("with 1 GiB windows: %d updates, done at %v; with 40 kB ones done at %v (want none, and sooner)", big.h2Updates, big.done, p.done)
	}
}

// --compare lists after its table each strategy's connections by their
// 4-tuples: serial one per response (the page's and each object's), every
// one to the server's port 80 from a client port of its own; persistent
// one; each strategy as many as its row's conns column.
func TestPageCompareListsConnections(t *testing.T) {
	const objects = 4
	out := runOK(t, "get", "http://server.example/", "--objects", strconv.Itoa(objects), "--compare")
	const head = "connections (4-tuple: client address:port -> server address:port) of each strategy, numbered in the order of their SYNs:\n"
	i := strings.Index(out, head)
	if i < 0 {
		t.Fatalf("no %q heading in\n%s", strings.TrimSpace(head), out)
	}
	line := regexp.MustCompile(`^  (\S.{11}|\s{12}) +(\d+)  (\S+) -> (\S+)$`)
	tuples := map[string][][2]netip.AddrPort{}
	name := ""
	for _, l := range strings.Split(strings.TrimRight(out[i+len(head):], "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not a numbered 4-tuple", l)
		}
		if s := strings.TrimSpace(m[1]); s != "" {
			name = s
		}
		c, err1 := netip.ParseAddrPort(m[3])
		s, err2 := netip.ParseAddrPort(m[4])
		if err1 != nil || err2 != nil || name == "" {
			t.Fatalf("line %q: %v %v", l, err1, err2)
		}
		if n, _ := strconv.Atoi(m[2]); n != len(tuples[name])+1 {
			t.Errorf("%s: connection numbered %d after %d", name, n, len(tuples[name]))
		}
		tuples[name] = append(tuples[name], [2]netip.AddrPort{c, s})
	}
	serial := tuples[stSerial]
	if len(serial) != objects+1 {
		t.Errorf("serial lists %d connections, want %d (the page and %d objects): %v", len(serial), objects+1, objects, serial)
	}
	ports := map[uint16]bool{}
	for _, tu := range serial {
		if tu[1] != netip.MustParseAddrPort("10.0.0.2:80") || tu[0].Addr() != netip.MustParseAddr("10.0.0.1") {
			t.Errorf("serial connection %v -> %v, want 10.0.0.1:* -> 10.0.0.2:80", tu[0], tu[1])
		}
		if ports[tu[0].Port()] {
			t.Errorf("serial: client port %d used twice: %v", tu[0].Port(), serial)
		}
		ports[tu[0].Port()] = true
	}
	if p := tuples[stPersistent]; len(p) != 1 || p[0][1].Port() != 80 {
		t.Errorf("persistent lists %v, want one connection to port 80", p)
	}
	for _, s := range strategies {
		name := strategyName(s, 6)
		row := regexp.MustCompile(`(?m)^  ` + name + ` +\S+ +(\d+) `).FindStringSubmatch(out)
		if row == nil {
			t.Fatalf("no row for %s", name)
		}
		if n, _ := strconv.Atoi(row[1]); n != len(tuples[name]) {
			t.Errorf("%s: the table says %d connections, the list has %d", name, n, len(tuples[name]))
		}
	}
}

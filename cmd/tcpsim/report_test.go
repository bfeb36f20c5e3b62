package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"image"
	_ "image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	rpt "github.com/tcpsim/tcpsim/report"
)

// wellFormed decodes the whole page as XML (it is written as XHTML-style
// HTML so that this works) and checks it refers to nothing outside itself.
func wellFormed(t *testing.T, page []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the report is not well-formed: %v", err)
		}
	}
	low := strings.ToLower(string(page))
	for _, bad := range []string{"http://", "https://", "<link", "<script", "src="} {
		if strings.Contains(low, bad) {
			t.Errorf("the report contains %q", bad)
		}
	}
}

// --report writes the page and changes nothing else: the same run prints
// the same text with and without it, and writes the same page twice.
func TestReportFlag(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"get", getArgs, []string{`id="ladder"`, `id="tsg-1"`, `id="cwnd-1"`, "three-way handshake", `class="cross"`, `class="pkt rtx"`}},
		{"transfer", []string{"transfer", "--size", "200KB", "--flows", "3", "--loss", "1%", "--seed", "2"}, []string{`id="fct-cdf"`, `id="goodput"`, "<table>", `id="tsg-3"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plain := runOK(t, c.args...)
			file := filepath.Join(dir, c.name+".html")
			with := runOK(t, append(append([]string{}, c.args...), "--report", file, "--report-every", "5ms")...)
			if plain != with {
				t.Errorf("--report changed the output:\nwithout:\n%s\nwith:\n%s", plain, with)
			}
			page, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			wellFormed(t, page)
			for _, s := range c.want {
				if !bytes.Contains(page, []byte(s)) {
					t.Errorf("the report lacks %s", s)
				}
			}
			runOK(t, append(append([]string{}, c.args...), "--report", file+"2", "--report-every", "5ms")...)
			again, _ := os.ReadFile(file + "2")
			if !bytes.Equal(page, again) {
				t.Error("the same run wrote two different reports")
			}
		})
	}
}

func TestReportFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"get", "http://x/", "--report-every", "5ms"},
		{"get", "http://x/", "--report", ""},
		{"transfer", "--report", "/nonexistent-dir/r.html"},
		{"transfer", "--report", "r.html", "--report-every", "0s"},
		{"get", "http://x/", "--tun", "tun9", "--report", "r.html"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != exitUsage {
			t.Errorf("tcpsim %s: status %d, want %d (usage); stderr %s", strings.Join(args, " "), code, exitUsage, errb.String())
		}
		if !strings.Contains(errb.String(), "--report") {
			t.Errorf("tcpsim %s: the message does not name --report: %s", strings.Join(args, " "), errb.String())
		}
	}
}

// The page opens in headless Chromium with no network: it renders, and
// the screenshot is not blank.
func TestReportInChromium(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("no chromium on PATH: the headless rendering check needs it (.ci/run can install Debian's chromium)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "get.html")
	runOK(t, append(append([]string{}, getArgs...), "--report", file)...)
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1400,1600",
		"--enable-logging=stderr", "--v=0", "--screenshot="+shot, "file://"+file)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "Uncaught") || strings.Contains(string(out), ":CONSOLE(") && strings.Contains(string(out), "rror") {
		t.Errorf("console errors:\n%s", out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, out)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Not blank: a fair share of pixels differ from the corner's colour.
	b := img.Bounds()
	bg := img.At(b.Min.X, b.Min.Y)
	r0, g0, b0, _ := bg.RGBA()
	differ := 0
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bb, _ := img.At(x, y).RGBA()
			if r != r0 || g != g0 || bb != b0 {
				differ++
			}
		}
	}
	if total := (b.Dx() / 4) * (b.Dy() / 4); differ < total/200 {
		t.Errorf("the screenshot is nearly blank: %d of %d sampled pixels differ from the background", differ, total)
	}
}

// docs/report.md shows each graph from two seeded runs; the pictures in
// docs/report/ are regenerated with
//
//	go test ./cmd/tcpsim -run TestReportDocsFigures -update
//
// and otherwise must match what the code draws now.
func TestReportDocsFigures(t *testing.T) {
	dir := t.TempDir()
	figures := map[string]string{} // file in docs/report → picture
	for _, c := range []struct {
		args []string
		take map[string]string // picture name → file
	}{
		{[]string{"get", "http://server.example/index.html", "--loss", "5%", "--seed", "47"}, map[string]string{"ladder": "ladder.svg"}},
		{[]string{"transfer", "--size", "2MB", "--flows", "3", "--loss", "0.5%", "--seed", "1"},
			map[string]string{"tsg-1": "tsg.svg", "stevens-1": "stevens.svg", "cwnd-1": "cwnd.svg", "rtt-1": "rtt.svg", "fct-cdf": "fct-cdf.svg", "goodput": "goodput.svg",
				"throughput": "throughput.svg", "fairness": "fairness.svg", "queue-1": "queue.svg", "throughput-1": "rates.svg"}},
	} {
		file := filepath.Join(dir, "r.html")
		runOK(t, append(append([]string{}, c.args...), "--report", file)...)
		page, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range rpt.Pictures(page) {
			if name, ok := c.take[p.Name]; ok {
				figures[name] = string(p.SVG)
			}
		}
	}
	if len(figures) != 11 {
		t.Fatalf("%d figures, want 11", len(figures))
	}
	doc, err := os.ReadFile("../../docs/report.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, svg := range figures {
		path := filepath.Join("..", "..", "docs", "report", name)
		if !bytes.Contains(doc, []byte("(report/"+name+")")) {
			t.Errorf("docs/report.md does not show report/%s", name)
		}
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(svg), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		have, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./cmd/tcpsim -run TestReportDocsFigures -update writes it)", err)
		}
		if string(have) != svg {
			t.Errorf("docs/report/%s is not what the code draws now (go test ./cmd/tcpsim -run TestReportDocsFigures -update)", name)
		}
	}
}

// tcpsim run's ladder has a lane for each router on the path, and a
// packet a router forwards is one arrow per link, each in its sender's
// colour: the dumbbell's first 300 packets hold no retransmission (before
// routers' copies were recognised, 140 of them were drawn red).
func TestRunReportRouterLanes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "r.html")
	runOK(t, "run", "../../docs/examples/dumbbell.yaml", "--report", file)
	lad := reportLadder(t, file)
	var lanes []string
	for _, m := range regexp.MustCompile(`class="lanename"[^>]*>([^<]*)<`).FindAllStringSubmatch(lad, -1) {
		lanes = append(lanes, m[1])
	}
	if got := strings.Join(lanes[:min(4, len(lanes))], ","); got != "cubic1,left,right,server" {
		t.Errorf("first lanes %v, want cubic1, left, right, server", lanes)
	}
	arrows := regexp.MustCompile(`<line [^>]*class="pkt (\w+)"`).FindAllStringSubmatch(lad, -1)
	n := map[string]int{}
	for _, a := range arrows {
		n[a[1]]++
	}
	if len(arrows) != 300 || n["rtx"] != 0 || n["data"] == 0 {
		t.Errorf("%d arrows %v: want 300, data, no retransmission", len(arrows), n)
	}
}

// reportLadder is the ladder SVG of the report page in file.
func reportLadder(t *testing.T, file string) string {
	t.Helper()
	page, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rpt.Pictures(page) {
		if p.Name == "ladder" {
			return string(p.SVG)
		}
	}
	t.Fatalf("%s has no ladder", file)
	return ""
}

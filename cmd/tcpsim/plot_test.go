package main

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	rpt "github.com/tcpsim/tcpsim/report"
)

// --plot writes each graph as its own file, the same bytes for the same
// seed, and changes nothing else the command prints.
func TestPlotFlag(t *testing.T) {
	for _, c := range []struct {
		name    string
		args    []string
		want    []string
		formats []string
	}{
		{"get", getArgs, []string{"ladder", "tsg-1", "stevens-1", "cwnd-1", "rtt-1", "throughput-1", "fct-cdf", "goodput", "throughput", "fairness", "queue-1"}, []string{"png", "svg"}},
		// PNG costs CPU: the transfer is drawn in SVG only.
		{"transfer", []string{"transfer", "--size", "200KB", "--flows", "2", "--loss", "1%", "--seed", "2"},
			[]string{"ladder", "tsg-1", "stevens-1", "cwnd-1", "rtt-1", "throughput-1", "tsg-2", "stevens-2", "cwnd-2", "rtt-2", "throughput-2", "fct-cdf", "goodput", "throughput", "fairness", "queue-1", "queue-2"}, []string{"svg"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plain := runOK(t, c.args...)
			var dirs [2]string
			for i := range dirs {
				dirs[i] = filepath.Join(t.TempDir(), "plots") // made by --out
				with := runOK(t, append(append([]string{}, c.args...), "--plot", "all", "--out", dirs[i], "--plot-format", strings.Join(c.formats, ","))...)
				if with != plain {
					t.Errorf("--plot changed the output:\nwithout:\n%s\nwith:\n%s", plain, with)
				}
			}
			var want []string
			for _, n := range c.want {
				for _, f := range c.formats {
					want = append(want, n+"."+f)
				}
			}
			slices.Sort(want)
			ents, err := os.ReadDir(dirs[0])
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range ents {
				got = append(got, e.Name())
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("files %v, want %v", got, want)
			}
			for _, n := range c.want {
				svg := readBoth(t, dirs, n+".svg")
				if len(c.formats) == 1 {
					continue
				}
				pngb := readBoth(t, dirs, n+".png")
				var root struct {
					XMLName xml.Name
					W       string `xml:"width,attr"`
					H       string `xml:"height,attr"`
				}
				if err := xml.Unmarshal(svg, &root); err != nil || root.XMLName.Local != "svg" {
					t.Fatalf("%s.svg: not an SVG document: %v", n, err)
				}
				img, err := png.Decode(bytes.NewReader(pngb))
				if err != nil {
					t.Fatalf("%s.png: %v", n, err)
				}
				w, _ := strconv.ParseFloat(root.W, 64)
				h, _ := strconv.ParseFloat(root.H, 64)
				if sz := img.Bounds().Size(); sz.X != int(math.Round(w*rpt.PNGScale)) || sz.Y != int(math.Round(h*rpt.PNGScale)) {
					t.Errorf("%s.png is %v, the SVG %vx%v (want %d pixels per unit)", n, sz, w, h, rpt.PNGScale)
				}
			}
		})
	}
}

// readBoth reads name from both directories and fails when they differ.
func readBoth(t *testing.T, dirs [2]string, name string) []byte {
	t.Helper()
	a, err := os.ReadFile(filepath.Join(dirs[0], name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dirs[1], name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs between two runs of the same seed", name)
	}
	return a
}

// --plot with only the PNG format, one graph: one file.
func TestPlotOne(t *testing.T) {
	dir := t.TempDir()
	runOK(t, append(append([]string{}, getArgs...), "--plot", "cwnd", "--out", dir, "--plot-format", "png")...)
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "cwnd-1.png" {
		t.Errorf("files %v, want cwnd-1.png", ents)
	}
}

func TestPlotFlagErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "http://x/", "--plot", "cwnd,bogus"}, `unknown plot "bogus": want a comma-separated list of ` + strings.Join(rpt.PlotNames, ", ") + ", or all"},
		{[]string{"get", "http://x/", "--out", "d"}, "--out needs --plot"},
		{[]string{"transfer", "--plot-format", "png"}, "--plot-format needs --plot"},
		{[]string{"transfer", "--plot", "tsg", "--plot-format", "gif"}, `--plot-format gif: unknown format "gif"`},
		{[]string{"transfer", "--plot", "tsg", "--out", file}, "--out " + file},
		{[]string{"get", "http://x/", "--tun", "tun9", "--plot", "tsg"}, "--plot do not apply with --tun"},
		{[]string{"get", "http://x/", "--report-window", "1s:2s"}, "--report-window needs --report or --plot"},
		{[]string{"get", "http://x/", "--plot", "ladder", "--report-window", "2s"}, "--report-window 2s: want FROM:UNTIL"},
		{[]string{"get", "http://x/", "--plot", "ladder", "--report-window", "2s:1s"}, `UNTIL "1s": want a duration after FROM`},
		{[]string{"get", "http://x/", "--plot", "ladder", "--report-window", "x:"}, `FROM "x"`},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != exitUsage {
			t.Errorf("tcpsim %s: status %d, want %d (usage); stderr %s", strings.Join(c.args, " "), code, exitUsage, errb.String())
		}
		if !strings.Contains(errb.String(), c.want) {
			t.Errorf("tcpsim %s: stderr %q lacks %q", strings.Join(c.args, " "), errb.String(), c.want)
		}
	}
}

// tcpsim run takes --report and --plot too: the scenario's time-sequence
// graphs and flow graphs, the same bytes for the same seed; asked for
// cwnd, which run cannot sample, it says so on stderr and still succeeds.
func TestPlotRun(t *testing.T) {
	args := []string{"run", "../../docs/examples/dumbbell.yaml", "--seed", "3"}
	plain := runOK(t, args...)
	var dirs [2]string
	for i := range dirs {
		dirs[i] = t.TempDir()
		file := filepath.Join(dirs[i], "run.html")
		var out, errb bytes.Buffer
		code := run(append(append([]string{}, args...), "--plot", "tsg,fct,goodput,cwnd", "--out", dirs[i], "--report", file), &out, &errb)
		if code != exitOK || out.String() != plain {
			t.Fatalf("status %d; stdout changed: %v; stderr %s", code, out.String() != plain, errb.String())
		}
		if !strings.Contains(errb.String(), "--plot cwnd: nothing to draw") {
			t.Errorf("stderr %q does not say cwnd had nothing to draw", errb.String())
		}
		page, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		wellFormed(t, page)
	}
	readBoth(t, dirs, "run.html")
	for _, n := range []string{"tsg-1.svg", "tsg-2.svg", "fct-cdf.svg", "goodput.svg"} {
		readBoth(t, dirs, n)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "cwnd-1.svg")); err == nil {
		t.Error("cwnd-1.svg written without samples")
	}
}

// get's ladder shows the socket calls of both programs beside their lanes
// (net/http's server writes the 6,245-byte response through its 4 KiB
// buffer)
// and the server (which closed first) holding TIME_WAIT for 2·MSL; with
// --report-seq absolute the SYN carries the client's ISN.
func TestReportLadderCalls(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "get.html")
	runOK(t, append(append([]string{}, getArgs...), "--report", file)...)
	page, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{">connect()<", ">accept()<", ">write(89)<", ">read() = 89<", ">write(4096)<", ">write(2149)<", ">close()<",
		"server in TIME_WAIT from 0.180028 s", ">2·MSL = 60 s<"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the ladder lacks %s", want)
		}
	}
	if n := bytes.Count(page, []byte(` in TIME_WAIT from `)); n != 1 {
		t.Errorf("%d TIME_WAIT bands, want 1 (the server's)", n)
	}
	abs := filepath.Join(dir, "abs.html")
	runOK(t, append(append([]string{}, getArgs...), "--report", abs, "--report-seq", "absolute")...)
	page, _ = os.ReadFile(abs)
	if bytes.Contains(page, []byte(">S 0 win")) || !regexp.MustCompile(`>S [1-9][0-9]* win`).Match(page) {
		t.Error("--report-seq absolute: the SYN's label is not the ISN")
	}
	var out, errb bytes.Buffer
	if code := run(append(append([]string{}, getArgs...), "--report", abs, "--report-seq", "raw"), &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "--report-seq raw") {
		t.Errorf("--report-seq raw: status %d, %s", code, errb.String())
	}
	// A window: the retransmission and what follows, from 0.12 s.
	win := filepath.Join(dir, "win.html")
	runOK(t, append(append([]string{}, getArgs...), "--report", win, "--report-window", "0.12s:")...)
	page, _ = os.ReadFile(win)
	if !bytes.Contains(page, []byte("the packets sent from 0.120000 s to the end are drawn")) || bytes.Contains(page, []byte(">connect()<")) ||
		!bytes.Contains(page, []byte("[retransmission]")) {
		t.Error("--report-window 0.12s: the ladder is not the window's")
	}
}

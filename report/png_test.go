package report

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpsim/tcpsim/sim"
)

// svgSize reads the width and height of a picture's root element.
func svgSize(t *testing.T, svg []byte) (int, int) {
	t.Helper()
	var root struct {
		W string `xml:"width,attr"`
		H string `xml:"height,attr"`
	}
	if err := xml.Unmarshal(svg, &root); err != nil {
		t.Fatal(err)
	}
	w, err1 := strconv.ParseFloat(root.W, 64)
	h, err2 := strconv.ParseFloat(root.H, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("size %q x %q", root.W, root.H)
	}
	return int(math.Round(w * PNGScale)), int(math.Round(h * PNGScale))
}

// Every plot of a seeded lossy run paints as a PNG of PNGScale pixels per
// SVG unit, with the drawing's colours in it, the same bytes twice.
func TestPlotsPNG(t *testing.T) {
	// Links set: simulate samples its wire for the queue chart.
	rec, _ := simulate(t, 10, 40<<10, 2, 0.05, true, Options{LadderMax: 60, Links: func() []*sim.Link { return nil }})
	pics, missing := rec.Plots(PlotNames, Meta{})
	if len(missing) > 0 {
		t.Errorf("missing plots: %v", missing)
	}
	var names []string
	for _, p := range pics {
		names = append(names, p.Name)
	}
	want := "ladder,tsg-1,stevens-1,cwnd-1,rtt-1,throughput-1,tsg-2,stevens-2,cwnd-2,rtt-2,throughput-2,fct-cdf,goodput,throughput,fairness,queue-1,queue-2"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("plots %s, want %s", got, want)
	}
	for _, p := range pics {
		b, err := PNG(p.SVG)
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		again, _ := PNG(p.SVG)
		if !bytes.Equal(b, again) {
			t.Errorf("%s: two different PNGs of one picture", p.Name)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		w, h := svgSize(t, p.SVG)
		if img.Bounds().Dx() != w || img.Bounds().Dy() != h {
			t.Errorf("%s: PNG %v, want %dx%d", p.Name, img.Bounds().Size(), w, h)
		}
		// The picture's colours are painted: the red of retransmissions
		// and drops on the ladder and the time-sequence graph, the blue of
		// cwnd, and some dark text on every picture.
		red, dark := 0, 0
		for y := 0; y < h; y += 2 {
			for x := 0; x < w; x += 2 {
				r, g, b := rgb(img, x, y)
				if r > 180 && g < 60 && b < 60 {
					red++
				}
				if r < 80 && g < 80 && b < 80 {
					dark++
				}
			}
		}
		if dark < 200 {
			t.Errorf("%s: %d dark pixels sampled, the picture looks empty", p.Name, dark)
		}
		if (p.Name == "ladder" || p.Name == "tsg-1") && red < 10 {
			t.Errorf("%s: no red (retransmissions, drops) painted", p.Name)
		}
	}
}

func rgb(img image.Image, x, y int) (uint8, uint8, uint8) {
	c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
	return c.R, c.G, c.B
}

// The painter follows the style sheet: a class's stroke colour and a
// clip rectangle are honoured.
func TestPNGStyleAndClip(t *testing.T) {
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50">
<line x1="0" y1="10" x2="100" y2="10" class="pkt rtx"/>
<clipPath id="c"><rect x="0" y="0" width="50" height="50"/></clipPath>
<g clip-path="url(#c)"><path class="cwnd" d="M0 30H100"/></g>
</svg>`
	b, err := PNG([]byte(svg))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r, g, bl := rgb(img, 100, 20); r < 180 || g > 60 || bl > 60 {
		t.Errorf("the retransmission line is %d,%d,%d, want red", r, g, bl)
	}
	if r, g, bl := rgb(img, 40, 60); !(bl > 150 && r < 80) {
		t.Errorf("the cwnd line inside the clip is %d,%d,%d, want blue", r, g, bl)
	}
	if r, g, bl := rgb(img, 160, 60); r != 255 || g != 255 || bl != 255 {
		t.Errorf("the cwnd line outside the clip is drawn: %d,%d,%d", r, g, bl)
	}
}

// A picture too large for two pixels per unit is painted at one.
func TestPNGLarge(t *testing.T) {
	defer func(v float64) { pngMaxPixels = v }(pngMaxPixels)
	pngMaxPixels = 100 * 200 * 3 // less than 2x2 per unit, more than 1
	b, err := PNG([]byte(`<svg width="100" height="200"><line x1="0" y1="0" x2="100" y2="200" class="lane"/></svg>`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != 100 || cfg.Height != 200 {
		t.Errorf("%+v, %v; want 100x200", cfg, err)
	}
	if _, err := PNG([]byte(`<svg width="300" height="300"/>`)); err == nil {
		t.Error("a picture beyond the limit even at one pixel per unit: no error")
	}
}

// Bad input is an error, never a panic.
func TestPNGBadInput(t *testing.T) {
	for _, s := range []string{"", "not xml", "<html/>", `<svg width="0" height="10"/>`, `<svg width="1e9" height="1e9"/>`,
		`<svg width="10" height="10"><path class="cwnd" d="M1 2 L x"/><text transform="rotate(">a</text>`} {
		if _, err := PNG([]byte(s)); err == nil && !strings.HasPrefix(s, `<svg width="10"`) {
			t.Errorf("PNG(%q): no error", s)
		}
	}
}

func TestParsePlots(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"cwnd,tsg", "tsg,cwnd"}, {"all", strings.Join(PlotNames, ",")}, {"rtt, rtt", "rtt"},
	} {
		got, err := ParsePlots(c.in)
		if err != nil || strings.Join(got, ",") != c.want {
			t.Errorf("ParsePlots(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
	_, err := ParsePlots("cwnd,bogus")
	if err == nil || !strings.Contains(err.Error(), `"bogus"`) {
		t.Fatalf("ParsePlots(bogus): %v", err)
	}
	if i := slices.IndexFunc(PlotNames, func(n string) bool { return !strings.Contains(err.Error(), n) }); i >= 0 {
		t.Errorf("the error does not list %s: %v", PlotNames[i], err)
	}
}

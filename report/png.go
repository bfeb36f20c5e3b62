package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	xfont "golang.org/x/image/font"
	_ "gonum.org/v1/plot" // registers the Liberation fonts in font.DefaultCache
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
)

// PNG drawing. The pictures are the hand-written SVG of the page (svg.go);
// PNG paints that same drawing through gonum.org/v1/plot's vg layer: its
// vgimg canvas rasterises in pure Go with the Liberation fonts it embeds,
// so a PNG shows exactly what the SVG and the page show, mark for mark,
// and the bytes depend only on the picture. The painter understands the
// small part of SVG the pictures use: line, path (M L H V Z and their
// relative forms), rect, text with rotate/translate transforms, a clip
// rectangle on a group, the arrowhead marker, and the page's style sheet
// (class selectors, fill, stroke, stroke-width, stroke-dasharray,
// font-size, font-weight, font-family).

// PNGScale is how many PNG pixels a unit of the SVG takes on each axis,
// unless that would make more than 60 million pixels (a long ladder):
// then one.
const PNGScale = 2

// pngMaxPixels bounds the image a PNG may need (a very long ladder); a
// variable for the tests.
var pngMaxPixels = 60_000_000.0

// the page's style sheet as rules, parsed once.
var (
	rulesOnce sync.Once
	rules     []cssRule
)

// cssRule is one selector of the style sheet with its declarations. Only
// the last compound selector counts (ancestors are always svg here).
type cssRule struct {
	tag     string
	classes []string
	spec    int // specificity: 10 per class, 1 per type
	order   int
	decls   map[string]string
}

func parseCSS(s string) []cssRule {
	var out []cssRule
	for _, block := range strings.Split(s, "}") {
		sel, body, ok := strings.Cut(block, "{")
		if !ok {
			continue
		}
		decls := map[string]string{}
		for _, d := range strings.Split(body, ";") {
			k, v, ok := strings.Cut(d, ":")
			if ok {
				decls[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		for _, one := range strings.Split(sel, ",") {
			parts := strings.Fields(one)
			if len(parts) == 0 {
				continue
			}
			r := cssRule{order: len(out), decls: decls}
			for _, p := range parts[:len(parts)-1] {
				if !strings.HasPrefix(p, ".") {
					r.spec++
				}
			}
			last := strings.Split(parts[len(parts)-1], ".")
			r.tag = last[0]
			if r.tag != "" {
				r.spec++
			}
			r.classes = last[1:]
			r.spec += 10 * len(r.classes)
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b cssRule) int { return a.spec - b.spec })
	return out
}

// computed is the style of one element.
type computed map[string]string

func styleOf(tag, class string, attrs []xml.Attr) computed {
	rulesOnce.Do(func() { rules = parseCSS(style) })
	cls := strings.Fields(class)
	st := computed{}
	for _, r := range rules {
		if r.tag != "" && r.tag != tag {
			continue
		}
		ok := true
		for _, c := range r.classes {
			if !slices.Contains(cls, c) {
				ok = false
				break
			}
		}
		if ok {
			for k, v := range r.decls {
				st[k] = v
			}
		}
	}
	// Presentation attributes given on the element itself.
	for _, a := range attrs {
		switch a.Name.Local {
		case "fill", "stroke", "stroke-width", "stroke-dasharray":
			st[a.Name.Local] = a.Value
		}
	}
	return st
}

func parseColor(s string) (color.Color, bool) {
	if s == "" || s == "none" || !strings.HasPrefix(s, "#") {
		return nil, false
	}
	h := s[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil || len(h) != 6 {
		return nil, false
	}
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}, true
}

func pxValue(s string, def float64) float64 {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "px"), 64)
	if err != nil {
		return def
	}
	return v
}

// affine is a 2-D transform in SVG's coordinates (y down).
type affine struct{ a, b, c, d, e, f float64 }

var identity = affine{1, 0, 0, 1, 0, 0}

func (m affine) apply(x, y float64) (float64, float64) {
	return m.a*x + m.c*y + m.e, m.b*x + m.d*y + m.f
}

func (m affine) then(n affine) affine { // m first, then n
	return affine{
		n.a*m.a + n.c*m.b, n.b*m.a + n.d*m.b,
		n.a*m.c + n.c*m.d, n.b*m.c + n.d*m.d,
		n.a*m.e + n.c*m.f + n.e, n.b*m.e + n.d*m.f + n.f,
	}
}

// parseTransform reads translate(...) and rotate(...) lists.
func parseTransform(s string) affine {
	m := identity
	for {
		s = strings.TrimSpace(s)
		name, rest, ok := strings.Cut(s, "(")
		if !ok {
			return m
		}
		args, after, _ := strings.Cut(rest, ")")
		s = after
		var v []float64
		for _, f := range strings.FieldsFunc(args, func(r rune) bool { return r == ' ' || r == ',' }) {
			x, _ := strconv.ParseFloat(f, 64)
			v = append(v, x)
		}
		var op affine
		switch strings.TrimSpace(name) {
		case "translate":
			op = identity
			if len(v) > 0 {
				op.e = v[0]
			}
			if len(v) > 1 {
				op.f = v[1]
			}
		case "rotate":
			if len(v) == 0 {
				continue
			}
			r := v[0] * math.Pi / 180
			cs, sn := math.Cos(r), math.Sin(r)
			op = affine{cs, sn, -sn, cs, 0, 0}
			if len(v) == 3 {
				op = affine{1, 0, 0, 1, -v[1], -v[2]}.then(op).then(affine{1, 0, 0, 1, v[1], v[2]})
			}
		default:
			continue
		}
		// SVG applies the list right to left to a point: the last op is
		// innermost.
		m = op.then(m)
	}
}

type pt struct{ x, y float64 }

// parsePath reads a path's d attribute into subpaths of points.
func parsePath(d string) [][]pt {
	var out [][]pt
	var cur []pt
	var x, y, sx, sy float64
	cmd := byte('M')
	i := 0
	num := func() (float64, bool) {
		for i < len(d) && (d[i] == ' ' || d[i] == ',' || d[i] == '\n') {
			i++
		}
		j := i
		for j < len(d) && (d[j] == '-' && j == i || d[j] == '.' || d[j] >= '0' && d[j] <= '9' || d[j] == 'e') {
			j++
		}
		if j == i {
			return 0, false
		}
		v, err := strconv.ParseFloat(d[i:j], 64)
		if err != nil {
			return 0, false
		}
		i = j
		return v, true
	}
	flush := func() {
		if len(cur) > 1 {
			out = append(out, cur)
		}
		cur = nil
	}
	for i < len(d) {
		for i < len(d) && (d[i] == ' ' || d[i] == ',') {
			i++
		}
		if i >= len(d) {
			break
		}
		if c := d[i]; c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
			cmd = c
			i++
			if cmd == 'Z' || cmd == 'z' {
				if len(cur) > 0 {
					cur = append(cur, cur[0])
				}
				x, y = sx, sy
				continue
			}
		}
		switch cmd {
		case 'M', 'm', 'L', 'l':
			a, ok1 := num()
			b, ok2 := num()
			if !ok1 || !ok2 {
				return append(out, cur)
			}
			if cmd == 'm' || cmd == 'l' {
				a, b = x+a, y+b
			}
			x, y = a, b
			if cmd == 'M' || cmd == 'm' {
				flush()
				sx, sy = x, y
				cur = []pt{{x, y}}
				// Further pairs are line-tos.
				if cmd == 'M' {
					cmd = 'L'
				} else {
					cmd = 'l'
				}
				continue
			}
		case 'H', 'h', 'V', 'v':
			a, ok := num()
			if !ok {
				return append(out, cur)
			}
			switch cmd {
			case 'H':
				x = a
			case 'h':
				x += a
			case 'V':
				y = a
			case 'v':
				y += a
			}
		default:
			return append(out, cur) // a command the pictures do not use
		}
		cur = append(cur, pt{x, y})
	}
	flush()
	return out
}

// clipSeg clips the segment p-q to r (Liang–Barsky); ok is false when
// nothing of it is inside.
func clipSeg(p, q pt, r [4]float64) (pt, pt, bool) {
	t0, t1 := 0.0, 1.0
	dx, dy := q.x-p.x, q.y-p.y
	for _, e := range [4][2]float64{{-dx, p.x - r[0]}, {dx, r[2] - p.x}, {-dy, p.y - r[1]}, {dy, r[3] - p.y}} {
		if e[0] == 0 {
			if e[1] < 0 {
				return p, q, false
			}
			continue
		}
		t := e[1] / e[0]
		if e[0] < 0 {
			t0 = max(t0, t)
		} else {
			t1 = min(t1, t)
		}
	}
	if t0 > t1 {
		return p, q, false
	}
	return pt{p.x + t0*dx, p.y + t0*dy}, pt{p.x + t1*dx, p.y + t1*dy}, true
}

// painter draws SVG elements on a vg canvas.
type painter struct {
	c     vg.Canvas
	h     float64               // picture height, to flip y
	clips map[string][4]float64 // clipPath id → x0, y0, x1, y1
	clip  [][4]float64          // active clips (innermost last)
	faces map[string]font.Face  // by family, weight and size
}

func (p *painter) vpt(x, y float64) vg.Point { return vg.Point{X: vg.Length(x), Y: vg.Length(p.h - y)} }

func (p *painter) stroke(st computed, lines [][]pt) {
	col, ok := parseColor(st["stroke"])
	if !ok || len(lines) == 0 {
		return
	}
	w := pxValue(st["stroke-width"], 1)
	p.c.SetColor(col)
	p.c.SetLineWidth(vg.Length(w))
	var dash []vg.Length
	if d := st["stroke-dasharray"]; d != "" && d != "none" {
		for _, f := range strings.FieldsFunc(d, func(r rune) bool { return r == ' ' || r == ',' }) {
			dash = append(dash, vg.Length(pxValue(f, 0)))
		}
	}
	p.c.SetLineDash(dash, 0)
	for _, l := range lines {
		for _, piece := range p.clipLine(l) {
			var path vg.Path
			for i, q := range piece {
				if i == 0 {
					path.Move(p.vpt(q.x, q.y))
				} else {
					path.Line(p.vpt(q.x, q.y))
				}
			}
			p.c.Stroke(path)
		}
	}
	p.c.SetLineDash(nil, 0)
}

// clipLine cuts a polyline to the active clip rectangle.
func (p *painter) clipLine(l []pt) [][]pt {
	if len(p.clip) == 0 {
		return [][]pt{l}
	}
	r := p.clip[len(p.clip)-1]
	var out [][]pt
	var cur []pt
	for i := 1; i < len(l); i++ {
		a, b, ok := clipSeg(l[i-1], l[i], r)
		if !ok {
			if len(cur) > 1 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		if len(cur) == 0 || cur[len(cur)-1] != a {
			if len(cur) > 1 {
				out = append(out, cur)
			}
			cur = []pt{a}
		}
		cur = append(cur, b)
	}
	if len(cur) > 1 {
		out = append(out, cur)
	}
	return out
}

func (p *painter) fill(st computed, poly []pt) {
	col, ok := parseColor(st["fill"])
	if !ok || len(poly) < 3 {
		return
	}
	p.c.SetColor(col)
	var path vg.Path
	for i, q := range poly {
		if i == 0 {
			path.Move(p.vpt(q.x, q.y))
		} else {
			path.Line(p.vpt(q.x, q.y))
		}
	}
	path.Close()
	p.c.Fill(path)
}

// arrowhead draws the ladder's marker at the end of p0-p1: a triangle
// 7 stroke widths long, its tip at the end.
func (p *painter) arrowhead(st computed, p0, p1 pt) {
	w := pxValue(st["stroke-width"], 1)
	dx, dy := p1.x-p0.x, p1.y-p0.y
	l := math.Hypot(dx, dy)
	if l == 0 {
		return
	}
	ux, uy := dx/l, dy/l
	size := 7 * w
	tip := pt{p1.x + ux*size*0.1, p1.y + uy*size*0.1}
	base := pt{tip.x - ux*size, tip.y - uy*size}
	half := size / 2
	head := styleOf("path", "head", nil)
	p.fill(head, []pt{tip, {base.x - uy*half, base.y + ux*half}, {base.x + uy*half, base.y - ux*half}})
}

func (p *painter) face(st computed) font.Face {
	size := pxValue(st["font-size"], 11)
	fam := "Sans"
	if strings.Contains(st["font-family"], "monospace") {
		fam = "Mono"
	}
	bold := st["font-weight"] == "bold"
	key := fmt.Sprint(fam, bold, size)
	if f, ok := p.faces[key]; ok {
		return f
	}
	fnt := font.Font{Typeface: "Liberation", Variant: font.Variant(fam)}
	if bold {
		fnt.Weight = xfont.WeightBold
	}
	face := font.DefaultCache.Lookup(fnt, vg.Length(size))
	p.faces[key] = face
	return face
}

func (p *painter) text(st computed, m affine, x, y float64, anchor, s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	col, ok := parseColor(st["fill"])
	if !ok {
		col = color.Black
	}
	face := p.face(st)
	w := float64(face.Width(s))
	switch anchor {
	case "middle":
		x -= w / 2
	case "end":
		x -= w
	}
	px, py := m.apply(x, y)
	ang := math.Atan2(m.b, m.a)
	p.c.Push()
	p.c.Translate(p.vpt(px, py))
	if ang != 0 {
		p.c.Rotate(-ang)
	}
	p.c.SetColor(col)
	p.c.FillString(face, vg.Point{}, s)
	p.c.Pop()
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func fattr(e xml.StartElement, name string) float64 { return pxValue(attr(e, name), 0) }

// PNG paints a picture (one of Pictures' or Plots' SVG documents) as a
// PNG image of PNGScale pixels per unit (one for a picture too large).
func PNG(svg []byte) ([]byte, error) {
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var root xml.StartElement
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("png: no <svg> element: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "svg" {
				return nil, fmt.Errorf("png: the document is a <%s>, not an <svg>", se.Name.Local)
			}
			root = se
			break
		}
	}
	w, h := fattr(root, "width"), fattr(root, "height")
	scale := PNGScale
	if w*h*PNGScale*PNGScale > pngMaxPixels {
		scale = 1 // a very long ladder: one pixel per unit
	}
	if !(w > 0 && h > 0) || w*h > pngMaxPixels {
		return nil, fmt.Errorf("png: picture of %vx%v cannot be drawn (at most %.0f pixels)", w, h, pngMaxPixels)
	}
	cv := vgimg.NewWith(vgimg.UseWH(vg.Length(w), vg.Length(h)), vgimg.UseDPI(72*scale), vgimg.UseBackgroundColor(color.White))
	p := &painter{c: cv, h: h, clips: map[string][4]float64{}, faces: map[string]font.Face{}}
	if err := p.walk(dec); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: cv}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// walk draws the elements inside the root.
func (p *painter) walk(dec *xml.Decoder) error {
	type open struct {
		name    string
		clipped bool
	}
	var stack []open
	skip := 0 // depth inside an element whose content is not drawn
	var clipID string
	var textEl *xml.StartElement
	var textBuf strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("png: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			o := open{name: t.Name.Local}
			if skip > 0 {
				skip++
				stack = append(stack, o)
				continue
			}
			st := styleOf(t.Name.Local, attr(t, "class"), t.Attr)
			switch t.Name.Local {
			case "title", "style", "defs", "marker":
				skip = 1
			case "clipPath":
				clipID = attr(t, "id")
			case "g":
				if cp := attr(t, "clip-path"); strings.HasPrefix(cp, "url(#") {
					if r, ok := p.clips[strings.TrimSuffix(strings.TrimPrefix(cp, "url(#"), ")")]; ok {
						p.clip = append(p.clip, r)
						o.clipped = true
					}
				}
			case "rect":
				x, y := fattr(t, "x"), fattr(t, "y")
				rw, rh := fattr(t, "width"), fattr(t, "height")
				if strings.HasSuffix(attr(t, "width"), "%") {
					rw, rh = 1e6, 1e6 // the background
				}
				if clipID != "" {
					p.clips[clipID] = [4]float64{x, y, x + rw, y + rh}
					break
				}
				p.fill(st, []pt{{x, y}, {x + rw, y}, {x + rw, y + rh}, {x, y + rh}})
			case "line":
				a := pt{fattr(t, "x1"), fattr(t, "y1")}
				b := pt{fattr(t, "x2"), fattr(t, "y2")}
				p.stroke(st, [][]pt{{a, b}})
				if attr(t, "marker-end") != "" {
					p.arrowhead(st, a, b)
				}
			case "path":
				subs := parsePath(attr(t, "d"))
				for _, s := range subs {
					p.fill(st, s)
				}
				p.stroke(st, subs)
			case "text":
				tt := t
				textEl = &tt
				textBuf.Reset()
			}
			stack = append(stack, o)
		case xml.CharData:
			if textEl != nil && skip == 0 {
				textBuf.Write(t)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				return nil // the root's end
			}
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if skip > 0 {
				skip--
				continue
			}
			switch o.name {
			case "clipPath":
				clipID = ""
			case "g":
				if o.clipped {
					p.clip = p.clip[:len(p.clip)-1]
				}
			case "text":
				if textEl != nil {
					e := *textEl
					st := styleOf("text", attr(e, "class"), e.Attr)
					p.text(st, parseTransform(attr(e, "transform")), fattr(e, "x"), fattr(e, "y"), attr(e, "text-anchor"), textBuf.String())
					textEl = nil
				}
			}
		}
	}
}

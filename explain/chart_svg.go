package explain

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"
)

// SVG writes the chart as a standalone SVG document.
func (c Chart) SVG(w io.Writer) error {
	sc := c.layout()
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		sc.width, sc.height, sc.width, sc.height)
	if c.Title != "" {
		b.WriteString("<title>" + escapeXML(c.Title) + "</title>\n")
	}
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="%s"/>`+"\n", hexColor(colorBackground))
	for _, l := range sc.lines {
		dash := ""
		if l.dashed {
			dash = ` stroke-dasharray="5 4"`
		}
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`+"\n",
			num(l.x1), num(l.y1), num(l.x2), num(l.y2), hexColor(l.color), num(l.width), dash)
	}
	for _, p := range sc.paths {
		pts := make([]string, len(p.points))
		for i, pt := range p.points {
			pts[i] = num(pt[0]) + "," + num(pt[1])
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round"/>`+"\n",
			strings.Join(pts, " "), hexColor(p.color), num(p.width))
	}
	for _, t := range sc.texts {
		attrs := ""
		switch t.anchor {
		case anchorMiddle:
			attrs += ` text-anchor="middle"`
		case anchorEnd:
			attrs += ` text-anchor="end"`
		}
		if t.large {
			attrs += ` font-size="15" font-weight="bold"`
		}
		if t.vertical {
			attrs += fmt.Sprintf(` transform="rotate(-90 %s %s)"`, num(t.x), num(t.y))
		}
		fmt.Fprintf(&b, `<text x="%s" y="%s" fill="%s"%s>%s</text>`+"\n",
			num(t.x), num(t.y), hexColor(t.color), attrs, escapeXML(t.text))
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// num prints a coordinate with one decimal at most, so output is stable and
// small.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func escapeXML(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

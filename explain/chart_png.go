package explain

import (
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"unicode"
)

// PNG writes the chart as a PNG image: the same layout as SVG, rasterized
// without anti-aliasing and labelled with a built-in bitmap font, so the
// bytes depend on nothing but the chart.
func (c Chart) PNG(w io.Writer) error {
	sc := c.layout()
	img := image.NewRGBA(image.Rect(0, 0, sc.width, sc.height))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = colorBackground.R, colorBackground.G, colorBackground.B, colorBackground.A
	}
	for _, l := range sc.lines {
		strokeLine(img, l.x1, l.y1, l.x2, l.y2, l.width, l.color, l.dashed)
	}
	for _, p := range sc.paths {
		for i := 1; i < len(p.points); i++ {
			a, b := p.points[i-1], p.points[i]
			strokeLine(img, a[0], a[1], b[0], b[1], p.width, p.color, false)
		}
	}
	for _, t := range sc.texts {
		drawText(img, t)
	}
	return (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(w, img)
}

// strokeLine draws a line of the given width by stamping a square brush at
// every pixel step; dashed lines alternate 5 pixels on, 4 off.
func strokeLine(img *image.RGBA, x1, y1, x2, y2, width float64, c color.RGBA, dashed bool) {
	length := math.Hypot(x2-x1, y2-y1)
	steps := int(math.Ceil(length))
	half := width / 2
	for i := 0; i <= steps; i++ {
		if dashed && i%9 >= 5 {
			continue
		}
		f := 0.0
		if steps > 0 {
			f = float64(i) / float64(steps)
		}
		cx, cy := x1+(x2-x1)*f, y1+(y2-y1)*f
		for px := int(math.Floor(cx - half + 0.5)); px < int(math.Floor(cx+half+0.5)); px++ {
			for py := int(math.Floor(cy - half + 0.5)); py < int(math.Floor(cy+half+0.5)); py++ {
				img.SetRGBA(px, py, c)
			}
		}
		if width <= 1 {
			img.SetRGBA(int(math.Round(cx)), int(math.Round(cy)), c)
		}
	}
}

// textScale is how many pixels one font pixel takes.
const textScale = 2

// drawText draws t, in capitals where the font has no small letter,
// aligned like the SVG text: y is the baseline.
func drawText(img *image.RGBA, t sceneText) {
	s := []rune(t.text)
	const scale = textScale
	advance := (glyphWidth + 1) * scale
	length := float64(len(s)*advance - scale)
	offset := 0.0
	switch t.anchor {
	case anchorMiddle:
		offset = length / 2
	case anchorEnd:
		offset = length
	}
	for i, r := range s {
		if _, ok := font5x7[r]; !ok {
			r = unicode.ToUpper(r)
		}
		for gy := range glyphHeight {
			for gx := range glyphWidth {
				if !glyphPixel(r, gx, gy) {
					continue
				}
				// Position along the text and across it, from the baseline.
				along := float64(i*advance+gx*scale) - offset
				across := float64((glyphHeight - gy) * scale)
				for dx := range scale {
					for dy := range scale {
						if t.vertical {
							img.SetRGBA(int(t.x-across)+dy, int(t.y-along)-dx, t.color)
						} else {
							img.SetRGBA(int(t.x+along)+dx, int(t.y-across)+dy, t.color)
						}
					}
				}
			}
		}
	}
}

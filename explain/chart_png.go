package explain

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// PNG writes the chart as a PNG image: the same layout as SVG, drawn with
// golang.org/x/image's anti-aliasing rasteriser (vector) and labelled in
// the Go fonts (gofont) at the SVG's sizes. Both are compiled in, so the
// bytes depend on nothing but the chart and the pinned module.
func (c Chart) PNG(w io.Writer) error {
	faces, err := loadFaces()
	if err != nil {
		return err
	}
	sc := c.layout()
	img := image.NewRGBA(image.Rect(0, 0, sc.width, sc.height))
	draw.Draw(img, img.Bounds(), image.NewUniform(colorBackground), image.Point{}, draw.Src)
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
		drawText(img, faces, t)
	}
	return (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(w, img)
}

// dashOn and dashOff are the dashes of a dashed line, in pixels.
const dashOn, dashOff = 5.0, 4.0

// strokeLine draws the segment as a filled quadrilateral width pixels
// across, anti-aliased; a dashed line as one quadrilateral per dash.
func strokeLine(img *image.RGBA, x1, y1, x2, y2, width float64, c color.RGBA, dashed bool) {
	length := math.Hypot(x2-x1, y2-y1)
	if length == 0 {
		return
	}
	if !dashed {
		fillSegment(img, x1, y1, x2, y2, width, c)
		return
	}
	ux, uy := (x2-x1)/length, (y2-y1)/length
	for at := 0.0; at < length; at += dashOn + dashOff {
		end := min(at+dashOn, length)
		fillSegment(img, x1+ux*at, y1+uy*at, x1+ux*end, y1+uy*end, width, c)
	}
}

func fillSegment(img *image.RGBA, x1, y1, x2, y2, width float64, c color.RGBA) {
	length := math.Hypot(x2-x1, y2-y1)
	// The normal, half a width long.
	nx, ny := -(y2-y1)/length*width/2, (x2-x1)/length*width/2
	xs := [4]float64{x1 + nx, x2 + nx, x2 - nx, x1 - nx}
	ys := [4]float64{y1 + ny, y2 + ny, y2 - ny, y1 - ny}
	// The rasterizer covers the segment's own box, not the whole image: it
	// clears and scans every pixel it covers, and a chart draws hundreds of
	// dashes.
	box := image.Rect(int(math.Floor(min(xs[0], xs[1], xs[2], xs[3]))), int(math.Floor(min(ys[0], ys[1], ys[2], ys[3]))),
		int(math.Ceil(max(xs[0], xs[1], xs[2], xs[3]))), int(math.Ceil(max(ys[0], ys[1], ys[2], ys[3])))).Intersect(img.Bounds())
	if box.Empty() {
		return
	}
	r := vector.NewRasterizer(box.Dx(), box.Dy())
	at := func(i int) (float32, float32) {
		return float32(xs[i] - float64(box.Min.X)), float32(ys[i] - float64(box.Min.Y))
	}
	r.MoveTo(at(0))
	for i := 1; i < 4; i++ {
		r.LineTo(at(i))
	}
	r.ClosePath()
	r.Draw(img, box, image.NewUniform(c), image.Point{})
}

// faces are the label faces: the SVG's 12 px sans-serif, and its 15 px
// bold for large labels.
type faces struct{ normal, large font.Face }

// goFonts parses the compiled-in Go fonts once; a parsed font may be
// shared, but a face holds a buffer, so each image gets its own faces.
var goFonts = sync.OnceValues(func() ([2]*opentype.Font, error) {
	regular, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return [2]*opentype.Font{}, fmt.Errorf("parsing the Go font: %w", err)
	}
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return [2]*opentype.Font{}, fmt.Errorf("parsing the Go bold font: %w", err)
	}
	return [2]*opentype.Font{regular, bold}, nil
})

func loadFaces() (faces, error) {
	fonts, err := goFonts()
	if err != nil {
		return faces{}, err
	}
	normal, err := opentype.NewFace(fonts[0], &opentype.FaceOptions{Size: 12, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return faces{}, err
	}
	large, err := opentype.NewFace(fonts[1], &opentype.FaceOptions{Size: 15, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return faces{}, err
	}
	return faces{normal: normal, large: large}, nil
}

// drawText draws t aligned like the SVG text: y is the baseline, and a
// vertical label reads bottom to top with x as its baseline.
func drawText(img *image.RGBA, fs faces, t sceneText) {
	face := fs.normal
	if t.large {
		face = fs.large
	}
	advance := font.MeasureString(face, t.text)
	offset := fixed.I(0)
	switch t.anchor {
	case anchorMiddle:
		offset = advance / 2
	case anchorEnd:
		offset = advance
	}
	if !t.vertical {
		d := font.Drawer{Dst: img, Src: image.NewUniform(t.color), Face: face,
			Dot: fixed.Point26_6{X: fixed.I(int(math.Round(t.x))) - offset, Y: fixed.I(int(math.Round(t.y)))}}
		d.DrawString(t.text)
		return
	}
	// A vertical label is drawn level on its own canvas and turned a
	// quarter to the left onto the picture.
	m := face.Metrics()
	w, ascent, h := advance.Ceil(), m.Ascent.Ceil(), (m.Ascent + m.Descent).Ceil()
	level := image.NewRGBA(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: level, Src: image.NewUniform(t.color), Face: face, Dot: fixed.P(0, ascent)}
	d.DrawString(t.text)
	// Level (lx, ly) lands at (x - ascent + ly, y + offset - lx): the
	// baseline on x, the text's start at y + offset, read upwards.
	turned := image.NewRGBA(image.Rect(0, 0, h, w))
	for ly := range h {
		for lx := range w {
			turned.SetRGBA(ly, w-1-lx, level.RGBAAt(lx, ly))
		}
	}
	at := image.Pt(int(math.Round(t.x))-ascent, int(math.Round(t.y))+offset.Ceil()-w)
	draw.Draw(img, turned.Bounds().Add(at), turned, image.Point{}, draw.Over)
}

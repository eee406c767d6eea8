package explain

import (
	"fmt"
	"image/color"
	"time"
)

// A scene is the chart laid out in pixels, once, for both image renderers:
// SVG writes it as elements, PNG rasterizes it. Keeping one layout means the
// two files show the same picture.
type scene struct {
	width, height int
	lines         []sceneLine
	paths         []scenePath
	texts         []sceneText
}

type sceneLine struct {
	x1, y1, x2, y2 float64
	color          color.RGBA
	width          float64
	dashed         bool
}

// scenePath is a polyline. Paths are drawn in order, so the first series,
// the subject, is placed last and lies on top.
type scenePath struct {
	points [][2]float64
	color  color.RGBA
	width  float64
}

type anchor int

const (
	anchorStart anchor = iota
	anchorMiddle
	anchorEnd
)

// sceneText is one label; y is its baseline. A vertical label reads bottom
// to top, with x as its baseline.
type sceneText struct {
	x, y     float64
	text     string
	anchor   anchor
	color    color.RGBA
	large    bool
	vertical bool
}

var (
	colorBackground = color.RGBA{0xff, 0xff, 0xff, 0xff}
	colorInk        = color.RGBA{0x22, 0x22, 0x22, 0xff}
	colorGrid       = color.RGBA{0xe3, 0xe3, 0xe3, 0xff}
	colorBound      = color.RGBA{0x88, 0x88, 0x88, 0xff}
	// seriesColors are told apart by people with the common colour-vision
	// deficiencies (blue, orange, bluish green).
	seriesColors = []color.RGBA{
		{0x00, 0x72, 0xb2, 0xff},
		{0xe6, 0x9f, 0x00, 0xff},
		{0x00, 0x9e, 0x73, 0xff},
	}
)

const (
	sceneWidth   = 800
	sceneHeight  = 420
	marginLeft   = 64
	marginRight  = 84
	marginTop    = 44
	marginBottom = 96
)

// layout places every element of c.
func (c Chart) layout() scene {
	sc := scene{width: sceneWidth, height: sceneHeight}
	lo, hi := c.replicaRange()
	start, end := c.timeRange()
	left, right := float64(marginLeft), float64(sceneWidth-marginRight)
	top, bottom := float64(marginTop), float64(sceneHeight-marginBottom)
	x := func(t time.Duration) float64 {
		return left + (right-left)*float64(t-start)/float64(end-start)
	}
	y := func(v int32) float64 {
		return bottom - (bottom-top)*float64(v-lo)/float64(hi-lo)
	}

	if c.Title != "" {
		sc.texts = append(sc.texts, sceneText{x: left, y: 26, text: c.Title, color: colorInk, large: true})
	}
	for _, v := range replicaTicks(lo, hi, 8) {
		sc.lines = append(sc.lines, sceneLine{x1: left, y1: y(v), x2: right, y2: y(v), color: colorGrid, width: 1})
		sc.texts = append(sc.texts, sceneText{x: left - 8, y: y(v) + 4, text: fmt.Sprint(v), anchor: anchorEnd, color: colorInk})
	}
	for _, t := range timeTicks(start, end, 8) {
		sc.lines = append(sc.lines, sceneLine{x1: x(t), y1: top, x2: x(t), y2: bottom, color: colorGrid, width: 1})
		sc.texts = append(sc.texts, sceneText{x: x(t), y: bottom + 20, text: FormatDuration(t), anchor: anchorMiddle, color: colorInk})
	}
	for _, b := range []struct {
		v    int32
		name string
	}{{c.MaxReplicas, "max"}, {c.MinReplicas, "min"}} {
		sc.lines = append(sc.lines, sceneLine{x1: left, y1: y(b.v), x2: right, y2: y(b.v), color: colorBound, width: 1, dashed: true})
		sc.texts = append(sc.texts, sceneText{x: right + 6, y: y(b.v) + 4, text: fmt.Sprintf("%s %d", b.name, b.v), color: colorBound})
	}
	sc.lines = append(sc.lines,
		sceneLine{x1: left, y1: top, x2: left, y2: bottom, color: colorInk, width: 1},
		sceneLine{x1: left, y1: bottom, x2: right, y2: bottom, color: colorInk, width: 1})
	sc.texts = append(sc.texts, sceneText{x: 18, y: (top + bottom) / 2, text: "replicas", anchor: anchorMiddle, color: colorInk, vertical: true})
	if c.XLabel != "" {
		sc.texts = append(sc.texts, sceneText{x: (left + right) / 2, y: bottom + 42, text: c.XLabel, anchor: anchorMiddle, color: colorInk})
	}

	legendX := left
	for i := len(c.Series) - 1; i >= 0; i-- {
		s := c.Series[i]
		col := seriesColors[i%len(seriesColors)]
		var pts [][2]float64
		for j, p := range s.Points {
			if p.At > end {
				break
			}
			if j > 0 {
				pts = append(pts, [2]float64{x(max(p.At, start)), pts[len(pts)-1][1]})
			}
			pts = append(pts, [2]float64{x(max(p.At, start)), y(p.Replicas)})
		}
		if len(pts) > 0 {
			pts = append(pts, [2]float64{right, pts[len(pts)-1][1]})
			sc.paths = append(sc.paths, scenePath{points: pts, color: col, width: 2.5})
		}
		ly := bottom + 68 + float64(i/2)*18
		lx := legendX
		if i%2 == 1 {
			lx = (left + right) / 2
		}
		sc.lines = append(sc.lines, sceneLine{x1: lx, y1: ly - 4, x2: lx + 24, y2: ly - 4, color: col, width: 3})
		sc.texts = append(sc.texts, sceneText{x: lx + 30, y: ly, text: s.Name, color: colorInk})
	}
	return sc
}

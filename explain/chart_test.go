package explain

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font"
)

func testChart() Chart {
	return Chart{
		Title: "demo/web: a <test> & chart", XLabel: "time",
		MinReplicas: 2, MaxReplicas: 10,
		Series: []Series{
			{Name: "up", Points: []Point{{0, 2}, {0, 4}, {30 * time.Second, 8}, {60 * time.Second, 10}}},
			{Name: "down", Points: []Point{{0, 10}, {285 * time.Second, 5}, {345 * time.Second, 2}}},
		},
		End: 400 * time.Second,
	}
}

func TestChartText(t *testing.T) {
	got := testChart().Text(72)
	for _, line := range strings.Split(got, "\n") {
		if n := len([]rune(line)); n > 72 {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
	for _, want := range []string{"max 10 ┤", " min 2 ┤", "━━ up", "── down", "┏", "└─", "0", "4m"} {
		if !strings.Contains(got, want) {
			t.Errorf("chart lacks %q:\n%s", want, got)
		}
	}
	if testChart().Text(72) != got {
		t.Error("the terminal chart is not deterministic")
	}
}

// A change shorter than a column must still show as a vertical stroke.
func TestChartTextKeepsBriefSpikes(t *testing.T) {
	c := Chart{MinReplicas: 1, MaxReplicas: 5, End: time.Hour,
		Series: []Series{{Name: "s", Points: []Point{{0, 1}, {30 * time.Minute, 5}, {30*time.Minute + time.Second, 1}}}}}
	got := c.Text(40)
	if !strings.Contains(got, "┃") {
		t.Errorf("a one-second spike vanished:\n%s", got)
	}
}

func TestChartSVGIsWellFormed(t *testing.T) {
	var b bytes.Buffer
	if err := testChart().SVG(&b); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	var elements, polylines int
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b.String())
		}
		if se, ok := tok.(xml.StartElement); ok {
			elements++
			if se.Name.Local == "polyline" {
				polylines++
			}
		}
	}
	if polylines != 2 || elements < 20 {
		t.Errorf("%d elements, %d polylines; want a full chart with 2 series", elements, polylines)
	}
	if !strings.Contains(b.String(), "a &lt;test&gt; &amp; chart") {
		t.Error("title not escaped")
	}
	var again bytes.Buffer
	_ = testChart().SVG(&again)
	if !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Error("SVG output is not deterministic")
	}
}

func TestChartPNGDecodes(t *testing.T) {
	var b bytes.Buffer
	if err := testChart().PNG(&b); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != sceneWidth || r.Dy() != sceneHeight {
		t.Errorf("size %v", r)
	}
	// The first series' colour is on the picture.
	want, found := seriesColors[0], false
	for y := 0; y < sceneHeight && !found; y++ {
		for x := 0; x < sceneWidth; x++ {
			if r, g, bl, _ := img.At(x, y).RGBA(); uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(bl>>8) == want.B {
				found = true
				break
			}
		}
	}
	if !found {
		t.Error("no pixel of the first series' colour")
	}
	var again bytes.Buffer
	_ = testChart().PNG(&again)
	if !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Error("PNG output is not deterministic")
	}
}

func TestTicks(t *testing.T) {
	if got := timeTicks(0, 400*time.Second, 8); len(got) != 7 || got[1] != time.Minute {
		t.Errorf("timeTicks = %v", got)
	}
	if got := replicaTicks(2, 20, 8); len(got) != 4 || got[0] != 5 || got[3] != 20 {
		t.Errorf("replicaTicks = %v", got)
	}
	for d, want := range map[time.Duration]string{0: "0", 45 * time.Second: "45s", 90 * time.Second: "1m30s",
		2 * time.Minute: "2m", time.Hour: "1h", 65 * time.Minute: "1h5m"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestPNGLabelsLandWhereTheLayoutPutsThem draws one label of each kind on
// a blank image and finds its ink: a level label spans its measured
// advance from its anchor, right of the start or centred on the middle,
// with the baseline at y; a vertical one spans it upwards from y.
func TestPNGLabelsLandWhereTheLayoutPutsThem(t *testing.T) {
	fs, err := loadFaces()
	if err != nil {
		t.Fatal(err)
	}
	const text = "replicas 10"
	advance := font.MeasureString(fs.normal, text).Round()
	for name, tc := range map[string]struct {
		label                  sceneText
		minX, maxX, minY, maxY int // where the ink must lie, ±2 px
	}{
		"start":    {sceneText{x: 100, y: 100, text: text, anchor: anchorStart}, 100, 100 + advance, 91, 102},
		"middle":   {sceneText{x: 200, y: 100, text: text, anchor: anchorMiddle}, 200 - advance/2, 200 + advance/2, 91, 102},
		"end":      {sceneText{x: 300, y: 100, text: text, anchor: anchorEnd}, 300 - advance, 300, 91, 102},
		"vertical": {sceneText{x: 100, y: 300, text: text, anchor: anchorMiddle, vertical: true}, 91, 102, 300 - advance/2, 300 + advance/2},
	} {
		t.Run(name, func(t *testing.T) {
			tc.label.color = colorInk
			img := image.NewRGBA(image.Rect(0, 0, 400, 400))
			drawText(img, fs, tc.label)
			ink := image.Rectangle{}
			for y := range 400 {
				for x := range 400 {
					if img.RGBAAt(x, y).A > 0x80 {
						ink = ink.Union(image.Rect(x, y, x+1, y+1))
					}
				}
			}
			want := image.Rect(tc.minX, tc.minY, tc.maxX, tc.maxY)
			if ink.Empty() || abs(ink.Min.X-want.Min.X) > 2 || abs(ink.Max.X-want.Max.X) > 2 || abs(ink.Min.Y-want.Min.Y) > 2 || abs(ink.Max.Y-want.Max.Y) > 2 {
				t.Errorf("ink at %v, want %v ±2 px", ink, want)
			}
		})
	}
}

func abs(n int) int { return max(n, -n) }

// TestPNGLabelsReadTheRightWay checks the orientation the bounding box
// cannot: "MMMM...." has no descender, so no ink lies below its baseline
// (right of it, for a vertical label), and its heavy start is on the left
// of a level label and at the bottom of a vertical one.
func TestPNGLabelsReadTheRightWay(t *testing.T) {
	fs, err := loadFaces()
	if err != nil {
		t.Fatal(err)
	}
	const x, y = 200, 200
	for _, vertical := range []bool{false, true} {
		img := image.NewRGBA(image.Rect(0, 0, 400, 400))
		drawText(img, fs, sceneText{x: x, y: y, text: "MMMM....", anchor: anchorMiddle, color: colorInk, vertical: vertical})
		var belowBaseline, start, end int
		for py := range 400 {
			for px := range 400 {
				if img.RGBAAt(px, py).A == 0 {
					continue
				}
				along, across := px-x, py-y // along the text, and below the baseline
				if vertical {
					along, across = y-py, px-x
				}
				if across > 1 {
					belowBaseline++
				}
				if along < 0 {
					start++
				} else {
					end++
				}
			}
		}
		if belowBaseline > 0 || start <= end {
			t.Errorf("vertical %v: %d inked pixels below the baseline (want 0); %d in the first half, %d in the second (want the first heavier)",
				vertical, belowBaseline, start, end)
		}
	}
}

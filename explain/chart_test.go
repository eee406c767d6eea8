package explain

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"
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

func TestFontGlyphsAreComplete(t *testing.T) {
	for r, g := range font5x7 {
		for _, row := range g {
			if len(row) != glyphWidth || strings.Trim(row, ".#") != "" {
				t.Errorf("glyph %q has row %q", r, row)
			}
		}
	}
}

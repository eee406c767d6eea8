package explain

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Each cell of the terminal plot records in which directions a line leaves
// it; the glyph follows from that set, so steps, spikes and overlaps of one
// series always join up.
const (
	linkLeft = 1 << iota
	linkRight
	linkUp
	linkDown
)

// lineStyles are box-drawing glyphs indexed by link set, one style per
// series: heavy for the first, then light, then double.
var lineStyles = [][16]rune{
	{' ', '━', '━', '━', '┃', '┛', '┗', '┻', '┃', '┓', '┏', '┳', '┃', '┫', '┣', '╋'},
	{' ', '─', '─', '─', '│', '┘', '└', '┴', '│', '┐', '┌', '┬', '│', '┤', '├', '┼'},
	{' ', '═', '═', '═', '║', '╝', '╚', '╩', '║', '╗', '╔', '╦', '║', '╣', '╠', '╬'},
}

// maxTextRows keeps the terminal plot compact; larger replica ranges are
// scaled to fit.
const maxTextRows = 14

type textCell struct {
	series int // -1: empty
	links  int
}

// Text draws the chart for a terminal, width columns wide including the axis
// labels, with box-drawing characters: one line style per series (later
// series are drawn over earlier ones) and the HPA's bounds named on the
// replica axis and dotted across. The first series is drawn over the
// others.
func (c Chart) Text(width int) string {
	lo, hi := c.replicaRange()
	start, end := c.timeRange()
	rows := min(int(hi-lo)+1, maxTextRows)
	rowOf := func(v int32) int {
		return int(math.Round(float64(v-lo) * float64(rows-1) / float64(hi-lo)))
	}

	labels := map[int]string{}
	for _, v := range replicaTicks(lo, hi, 5) {
		labels[rowOf(v)] = fmt.Sprint(v)
	}
	labels[rowOf(c.MaxReplicas)] = fmt.Sprintf("max %d", c.MaxReplicas)
	labels[rowOf(c.MinReplicas)] = fmt.Sprintf("min %d", c.MinReplicas)
	labelWidth := 0
	for _, l := range labels {
		labelWidth = max(labelWidth, len(l))
	}
	plotWidth := max(width-labelWidth-2, 8)
	timeOf := func(col int) time.Duration {
		return start + time.Duration(float64(end-start)*float64(col)/float64(plotWidth-1))
	}

	grid := make([][]textCell, rows)
	for r := range grid {
		grid[r] = make([]textCell, plotWidth)
		for col := range grid[r] {
			grid[r][col].series = -1
		}
	}
	// The first series is the subject: drawn last, so it lies on top.
	for i := len(c.Series) - 1; i >= 0; i-- {
		drawTextSeries(grid, i, c.Series[i], timeOf, rowOf)
	}

	var b strings.Builder
	if c.Title != "" {
		b.WriteString(c.Title + "\n")
	}
	for r := rows - 1; r >= 0; r-- {
		axis := '│'
		if _, ok := labels[r]; ok {
			axis = '┤'
		}
		fmt.Fprintf(&b, "%*s %c", labelWidth, labels[r], axis)
		bound := r == rowOf(c.MaxReplicas) || r == rowOf(c.MinReplicas)
		line := make([]rune, plotWidth)
		for col, cell := range grid[r] {
			switch {
			case cell.series >= 0:
				line[col] = lineStyles[cell.series%len(lineStyles)][cell.links]
			case bound && col%2 == 1:
				line[col] = '·'
			default:
				line[col] = ' '
			}
		}
		b.WriteString(strings.TrimRight(string(line), " ") + "\n")
	}
	writeTimeAxis(&b, labelWidth, plotWidth, start, end)
	if c.XLabel != "" {
		fmt.Fprintf(&b, "%*s %s\n", labelWidth, "", c.XLabel)
	}
	for i, s := range c.Series {
		g := lineStyles[i%len(lineStyles)][linkLeft|linkRight]
		fmt.Fprintf(&b, "%*s %c%c %s\n", labelWidth, "", g, g, s.Name)
	}
	return b.String()
}

// drawTextSeries samples s at each column's instant. A column shows where
// the count was at the previous column's instant (entering from the left),
// every count it took in between (a vertical stroke) and where it is at this
// column's instant (leaving to the right), so no change is lost between
// samples.
func drawTextSeries(grid [][]textCell, idx int, s Series, timeOf func(int) time.Duration, rowOf func(int32) int) {
	set := func(r, col, link int) {
		cell := &grid[r][col]
		if cell.series != idx {
			*cell = textCell{series: idx}
		}
		cell.links |= link
	}
	for col := range grid[0] {
		t := timeOf(col)
		exit, ok := s.valueAt(t)
		if !ok {
			continue
		}
		var prev time.Duration
		entry, entered := int32(0), false
		if col > 0 {
			prev = timeOf(col - 1)
			entry, entered = s.valueAt(prev)
		}
		if !entered {
			// The series starts in this column: from its first point,
			// through every count it took up to this column's instant.
			entry, prev = s.Points[0].Replicas, s.Points[0].At-1
		}
		low, high := min(rowOf(entry), rowOf(exit)), max(rowOf(entry), rowOf(exit))
		for _, p := range s.Points {
			if p.At > prev && p.At <= t {
				low, high = min(low, rowOf(p.Replicas)), max(high, rowOf(p.Replicas))
			}
		}
		if entered {
			set(rowOf(entry), col, linkLeft)
		}
		set(rowOf(exit), col, linkRight)
		for r := low; r <= high; r++ {
			if r < high {
				set(r, col, linkUp)
			}
			if r > low {
				set(r, col, linkDown)
			}
		}
	}
}

// writeTimeAxis draws the axis line with ticks and their labels, each label
// centred on its tick unless that would overlap the previous one.
func writeTimeAxis(b *strings.Builder, labelWidth, plotWidth int, start, end time.Duration) {
	ticks := timeTicks(start, end, max(plotWidth/10, 2))
	axis := []rune(strings.Repeat("─", plotWidth))
	text := []rune(strings.Repeat(" ", plotWidth+8))
	next := 0
	for _, t := range ticks {
		col := int(math.Round(float64(t-start) / float64(end-start) * float64(plotWidth-1)))
		axis[col] = '┬'
		l := []rune(FormatDuration(t))
		at := max(col-len(l)/2, next, 0)
		if at+len(l) > len(text) {
			continue
		}
		copy(text[at:], l)
		next = at + len(l) + 1
	}
	fmt.Fprintf(b, "%*s └%s\n", labelWidth, "", string(axis))
	fmt.Fprintf(b, "%*s  %s\n", labelWidth, "", strings.TrimRight(string(text), " "))
}

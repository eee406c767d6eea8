package main

import (
	"fmt"
	"strings"
)

// op is one line of an edit script: ' ' kept, '-' only in a, '+' only in b.
type op struct {
	kind byte
	line string
}

// unifiedDiff returns a unified diff from a to b with context lines around
// each change, or "" when they are equal. The inputs are a few dozen lines
// of YAML, so a quadratic longest-common-subsequence is plenty.
func unifiedDiff(fromName, toName, a, b string, context int) string {
	if a == b {
		return ""
	}
	ops := editScript(splitLines(a), splitLines(b))
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", fromName, toName)
	for _, h := range hunks(ops, context) {
		out.WriteString(h)
	}
	return out.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// editScript turns a into b, deletions before insertions within a change,
// as diff(1) prints them.
func editScript(a, b []string) []op {
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			ops = append(ops, op{' ', a[i]})
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, op{'-', a[i]})
			i++
		default:
			ops = append(ops, op{'+', b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		ops = append(ops, op{'-', a[i]})
	}
	for ; j < len(b); j++ {
		ops = append(ops, op{'+', b[j]})
	}
	return ops
}

// hunks groups the changes of ops with up to context kept lines around
// each, merging changes whose context would touch.
func hunks(ops []op, context int) []string {
	var out []string
	for start := 0; start < len(ops); {
		first := start
		for first < len(ops) && ops[first].kind == ' ' {
			first++
		}
		if first == len(ops) {
			break
		}
		// Extend the hunk while the next change is within 2×context kept lines.
		last, kept := first, 0
		for k := first; k < len(ops) && kept <= 2*context; k++ {
			if ops[k].kind == ' ' {
				kept++
				continue
			}
			last, kept = k, 0
		}
		from := max(first-context, start)
		to := min(last+context+1, len(ops))

		// Line numbers (1-based) of the hunk's first line in a and in b.
		aLine, bLine := 1, 1
		for _, o := range ops[:from] {
			if o.kind != '+' {
				aLine++
			}
			if o.kind != '-' {
				bLine++
			}
		}
		var aCount, bCount int
		var body strings.Builder
		for _, o := range ops[from:to] {
			if o.kind != '+' {
				aCount++
			}
			if o.kind != '-' {
				bCount++
			}
			body.WriteByte(o.kind)
			body.WriteString(o.line)
			body.WriteByte('\n')
		}
		out = append(out, fmt.Sprintf("@@ -%s +%s @@\n%s", hunkRange(aLine, aCount), hunkRange(bLine, bCount), body.String()))
		start = to
	}
	return out
}

// hunkRange formats "line,count" the way diff -u does: an empty range
// names the line before it.
func hunkRange(line, count int) string {
	if count == 0 {
		line--
	}
	if count == 1 {
		return fmt.Sprint(line)
	}
	return fmt.Sprintf("%d,%d", line, count)
}

// Command chartdoc writes the values table of a chart's README from the
// "# --" comments in its values.yaml, between the markers
// <!-- values:begin --> and <!-- values:end -->. With -check it only
// reports whether the README is current.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

const (
	beginMarker = "<!-- values:begin -->"
	endMarker   = "<!-- values:end -->"
)

func main() {
	chart := flag.String("chart", "charts/scaleguard", "chart folder")
	check := flag.Bool("check", false, "fail if README.md is stale instead of writing it")
	flag.Parse()
	if err := run(*chart, *check); err != nil {
		fmt.Fprintln(os.Stderr, "chartdoc:", err)
		os.Exit(1)
	}
}

func run(chart string, check bool) error {
	values, err := os.ReadFile(filepath.Join(chart, "values.yaml"))
	if err != nil {
		return err
	}
	table, err := Table(values)
	if err != nil {
		return err
	}
	readmePath := filepath.Join(chart, "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		return err
	}
	updated, err := Splice(readme, table)
	if err != nil {
		return fmt.Errorf("%s: %w", readmePath, err)
	}
	if bytes.Equal(updated, readme) {
		return nil
	}
	if check {
		return fmt.Errorf("%s is stale: run `make chart-docs`", readmePath)
	}
	return os.WriteFile(readmePath, updated, 0o644)
}

// Splice replaces what stands between the markers.
func Splice(readme []byte, table string) ([]byte, error) {
	begin := bytes.Index(readme, []byte(beginMarker))
	end := bytes.Index(readme, []byte(endMarker))
	if begin < 0 || end < begin {
		return nil, errors.New("markers " + beginMarker + " and " + endMarker + " not found in order")
	}
	var out bytes.Buffer
	out.Write(readme[:begin+len(beginMarker)])
	out.WriteString("\n" + table)
	out.Write(readme[end:])
	return out.Bytes(), nil
}

var keyLine = regexp.MustCompile(`^(\s*)([A-Za-z0-9_.-]+):(.*)$`)

type entry struct {
	path, description string
}

// Table renders the values table. Every key must be documented, by its own
// "# --" comment or by an ancestor's.
func Table(values []byte) (string, error) {
	var tree map[string]any
	if err := yaml.Unmarshal(values, &tree); err != nil {
		return "", fmt.Errorf("values.yaml: %w", err)
	}
	type frame struct {
		indent int
		key    string
	}
	var stack []frame
	var entries []entry
	documented := map[string]bool{}
	var pending string
	var undocumented []string
	for _, line := range strings.Split(string(values), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "# --") {
			pending = strings.TrimSpace(strings.TrimPrefix(trimmed, "# --"))
			continue
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "-") {
			continue
		}
		m := keyLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		indent := len(m[1])
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		parts := make([]string, 0, len(stack)+1)
		for _, f := range stack {
			parts = append(parts, f.key)
		}
		parts = append(parts, m[2])
		path := strings.Join(parts, ".")
		stack = append(stack, frame{indent, m[2]})
		parent := strings.Join(parts[:len(parts)-1], ".")
		switch {
		case pending != "":
			entries = append(entries, entry{path, pending})
			documented[path] = true
		case documented[parent]:
			documented[path] = true
		default:
			if _, isMap := lookup(tree, parts).(map[string]any); !isMap || strings.TrimSpace(m[3]) != "" {
				undocumented = append(undocumented, path)
			}
		}
		pending = ""
	}
	if len(undocumented) > 0 {
		sort.Strings(undocumented)
		return "", fmt.Errorf("values.yaml: keys without a \"# --\" comment: %s", strings.Join(undocumented, ", "))
	}
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Description |\n|---|---|---|---|\n")
	for _, e := range entries {
		v := lookup(tree, strings.Split(e.path, "."))
		def, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |\n", e.path, typeName(v), strings.ReplaceAll(string(def), "|", "\\|"), e.description)
	}
	return b.String(), nil
}

func lookup(tree map[string]any, parts []string) any {
	var v any = tree
	for _, p := range parts {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

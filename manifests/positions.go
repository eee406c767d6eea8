package manifests

import (
	"bytes"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaleguard/scaleguard/internal/fieldpath"
)

// Position is where something is written in a file: 1-based line and
// column, as editors and CI annotations count them.
type Position struct {
	Line, Column int
}

// Locator tells where the fields of one document are written.
type Locator struct {
	root   *yaml.Node
	offset int
	line   int
}

// Locate parses the document's text for the positions of its fields. It is
// done apart from Parse, and only for the documents that have findings:
// a second YAML parse of every document doubled the cost of reading them.
// A document yaml.v3 cannot read (sigs.k8s.io/yaml, which read it for the
// rules, is YAML 1.1) has no positions: every path points at its first
// line.
func (d Document) Locate() Locator {
	l := Locator{root: d.item, offset: d.lineOffset, line: d.Line}
	if l.root == nil {
		l.root = parseNode(d.text)
	}
	return l
}

// parseNode is the top node of a YAML document, nil when yaml.v3 cannot
// read it.
func parseNode(text []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// listItemNodes are the nodes of a List's items, parsed once for them all.
func listItemNodes(text []byte) []*yaml.Node {
	if root := parseNode(text); root != nil {
		if items, _ := child(root, fieldpath.Step{Name: "items"}); items != nil && items.Kind == yaml.SequenceNode {
			return items.Content
		}
	}
	return nil
}

// Position returns where d.Locate() says path is written.
func (d Document) Position(path *field.Path) Position {
	return d.Locate().Position(path)
}

// Position returns where the field at path (a finding's path, such as
// spec.template.spec.containers[0].resources.requests or
// metadata.annotations[scaleguard.io/exempt]) is written in the file: the
// field's key, or the item of a list. A field the document does not write
// (one a rule wants added, or a v2 field of an HPA written in an older
// version) points at the deepest parent it does write, and a nil path at
// the object's first field.
func (l Locator) Position(path *field.Path) Position {
	if l.root == nil {
		return Position{Line: l.line, Column: 1}
	}
	at := l.root
	pos := Position{Line: at.Line + l.offset, Column: at.Column}
	for _, step := range fieldpath.Steps(path) {
		next, key := child(at, step)
		if next == nil {
			break
		}
		at = next
		// A field is where its key is written; a list item where it starts.
		if key != nil {
			pos = Position{Line: key.Line + l.offset, Column: key.Column}
		} else {
			pos = Position{Line: next.Line + l.offset, Column: next.Column}
		}
	}
	return pos
}

// child returns the node step names under n, and the key node when n is a
// mapping; nil when n does not hold it. A subscript names a map key or a
// list item alike, as field.Path writes both in brackets.
func child(n *yaml.Node, step fieldpath.Step) (value, key *yaml.Node) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == step.Name {
				return n.Content[i+1], n.Content[i]
			}
		}
	case yaml.SequenceNode:
		if i, ok := step.Index(); ok && i >= 0 && i < len(n.Content) {
			return n.Content[i], nil
		}
	}
	return nil, nil
}

// lineCursor follows utilyaml.YAMLReader through a file to tell the line
// each document it returns starts at. The reader returns whole lines, one
// "\n" each (CR LF too), and consumes the separator line that ends a
// document without returning it; a separator read while its buffer is still
// empty (the file's first line, or two in a row) opens the next document
// instead. So a document starts where the last one's separator ended.
type lineCursor struct {
	lines [][]byte
	next  int
}

func newLineCursor(data []byte) *lineCursor {
	return &lineCursor{lines: bytes.Split(data, []byte("\n"))}
}

// start returns the 1-based line of raw, the document the reader returned
// next, and moves past it and the separator that ended it.
func (c *lineCursor) start(raw []byte) int {
	line := c.next + 1
	c.next += bytes.Count(raw, []byte("\n"))
	if c.next < len(c.lines) && isSeparator(c.lines[c.next]) {
		c.next++
	}
	return line
}

// isSeparator is utilyaml.YAMLReader's test for a line between documents.
func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) == 0 || rest[0] == '#'
}

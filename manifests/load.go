// Package manifests runs scaleguard's rules over manifest files, the way the
// webhook runs them over admission requests, for `scaleguard check`.
package manifests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/internal/objectjson"
)

// Stdin is the name standard input goes by, in every output: the name
// `-f -` gives it on the command line.
const Stdin = "-"

// Document is one object read from a file.
type Document struct {
	// Source names where it came from: file and 1-based document number.
	Source string
	// File is the file's name as given ("-" for stdin), and Line the line
	// the document starts at in it (a comment that opens it included).
	File string
	Line int
	// Raw is the document as written, used verbatim when nothing changes.
	Raw []byte
	// JSON is the document converted to JSON.
	JSON             []byte
	APIVersion, Kind string
	Namespace, Name  string

	// text is the document as written in File, from its line lineOffset+1,
	// for Locate; an item of a List has its node, item, instead.
	text       []byte
	item       *yamlv3.Node
	lineOffset int
}

// ParseError names the file and document that could not be read.
type ParseError struct {
	Source string
	Err    error
}

func (e *ParseError) Error() string { return e.Source + ": " + e.Err.Error() }
func (e *ParseError) Unwrap() error { return e.Err }

// Load reads every path: a file, a directory (its .yaml, .yml and .json files,
// recursively, in name order) or "-" for stdin, which Source and File call
// "-".
func Load(paths []string, stdin io.Reader) ([]Document, error) {
	var docs []Document
	for _, p := range paths {
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			var data []byte
			if f == Stdin {
				data, err = io.ReadAll(stdin)
			} else {
				data, err = os.ReadFile(f)
			}
			if err != nil {
				return nil, &ParseError{Source: f, Err: err}
			}
			d, err := Parse(f, data)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d...)
		}
	}
	return docs, nil
}

func expand(p string) ([]string, error) {
	if p == Stdin {
		return []string{p}, nil
	}
	info, err := os.Stat(p)
	if err != nil {
		return nil, &ParseError{Source: p, Err: err}
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, &ParseError{Source: p, Err: err}
	}
	sort.Strings(files)
	return files, nil
}

// Parse splits a multi-document YAML (or JSON) stream into documents. A
// `kind: List` is expanded into its items. Each document knows the line it
// starts at in data, and Document.Locate where its fields are written.
func Parse(name string, data []byte) ([]Document, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	lines := newLineCursor(data)
	var out []Document
	for n := 1; ; n++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		source := fmt.Sprintf("%s#%d", name, n)
		if err != nil {
			return nil, &ParseError{Source: source, Err: err}
		}
		start := lines.start(raw)
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		js, err := toJSON(raw)
		if err != nil {
			return nil, &ParseError{Source: source, Err: err}
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		d, err := document(source, raw, js)
		if err != nil {
			return nil, err
		}
		d.File, d.Line, d.text, d.lineOffset = name, start, raw, start-1
		if d.Kind == "List" {
			items, err := listItems(d, js)
			if err != nil {
				return nil, err
			}
			out = append(out, items...)
			continue
		}
		out = append(out, d)
	}
}

// toJSON converts one document to JSON, refusing what the webhook's
// decoder (internal/objectjson) refuses. A document written in JSON is
// checked as it is, so that its errors are the webhook's own; YAML is
// converted strictly, so that a key given twice is an error rather than
// one of its values silently lost. Invalid UTF-8 is refused by the YAML
// reader itself.
func toJSON(raw []byte) ([]byte, error) {
	if trimmed := bytes.TrimSpace(raw); objectjson.IsJSON(trimmed) {
		if err := objectjson.Check(trimmed); err != nil {
			return nil, err
		}
	}
	return yaml.YAMLToJSONStrict(raw)
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

func document(source string, raw, js []byte) (Document, error) {
	var h header
	if err := json.Unmarshal(js, &h); err != nil {
		return Document{}, &ParseError{Source: source, Err: fmt.Errorf("not a Kubernetes object: %w", err)}
	}
	if h.APIVersion == "" || h.Kind == "" {
		return Document{}, &ParseError{Source: source, Err: errors.New("apiVersion and kind are required")}
	}
	return Document{Source: source, Raw: raw, JSON: js, APIVersion: h.APIVersion, Kind: h.Kind,
		Namespace: h.Metadata.Namespace, Name: h.Metadata.Name}, nil
}

// listItems expands a `kind: List` document; each item's positions are
// those of items[i] in the list.
func listItems(list Document, js []byte) ([]Document, error) {
	var l struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(js, &l); err != nil {
		return nil, &ParseError{Source: list.Source, Err: err}
	}
	nodes := listItemNodes(list.text)
	var out []Document
	for i, item := range l.Items {
		s := fmt.Sprintf("%s.items[%d]", list.Source, i)
		raw, err := yaml.JSONToYAML(item)
		if err != nil {
			return nil, &ParseError{Source: s, Err: err}
		}
		d, err := document(s, raw, item)
		if err != nil {
			return nil, err
		}
		d.File, d.Line, d.lineOffset = list.File, list.Line, list.lineOffset
		if i < len(nodes) {
			d.item = nodes[i]
			d.Line = d.item.Line + d.lineOffset
		}
		out = append(out, d)
	}
	return out, nil
}

// stripComments drops comment-only lines so that a document of comments
// counts as empty.
func stripComments(b []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

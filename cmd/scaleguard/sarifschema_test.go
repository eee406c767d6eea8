package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sarifModule is the SARIF library check writes with; it carries the
// OASIS SARIF 2.1.0 JSON schema as the Go constant schema in schemaFile.
const (
	sarifModule = "github.com/owenrumney/go-sarif/v3"
	schemaFile  = "pkg/report/v210/sarif/schema.go"
)

// sarifSchema compiles the SARIF 2.1.0 schema from the go-sarif module
// go.mod pins, as found in the module cache by `go list -m` (nothing is
// downloaded: the build has fetched the module already), with format
// assertions on, so that "uri" and "uri-reference" are checked too.
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "go", "list", "-m", "-f", "{{.Dir}}", sarifModule).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", sarifModule, err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), schemaFile)
	text := goStringConst(t, path, "schema")
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		t.Fatalf("%s: the schema is not JSON: %v", path, err)
	}
	const url = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compiling the SARIF schema of %s: %v", path, err)
	}
	return sch
}

// goStringConst reads the string constant name of a Go file.
func goStringConst(t *testing.T, path, name string) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	obj := f.Scope.Lookup(name)
	if obj == nil || obj.Kind != ast.Con {
		t.Fatalf("%s has no constant %s", path, name)
	}
	spec := obj.Decl.(*ast.ValueSpec)
	for i, n := range spec.Names {
		if lit, ok := spec.Values[i].(*ast.BasicLit); ok && n.Name == name && lit.Kind == token.STRING {
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatalf("%s: %s is not a string literal", path, name)
	return ""
}

// validateSARIF fails the test unless log is valid SARIF 2.1.0.
func validateSARIF(t *testing.T, sch *jsonschema.Schema, name string, log []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(log))
	if err != nil {
		t.Fatalf("%s: not JSON: %v", name, err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s: not valid SARIF 2.1.0: %v", name, err)
	}
}

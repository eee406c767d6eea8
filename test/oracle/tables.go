package oracle

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// upstreamSource is the controller package of the pinned k8s.io/kubernetes,
// parsed from the module cache: horizontal.go for its types, constants and
// helpers, horizontal_test.go for its table tests.
type upstreamSource struct {
	Dir   string
	fset  *token.FileSet
	code  *ast.File
	tests *ast.File
}

// controllerPackage is where the HPA controller lives in k8s.io/kubernetes.
const controllerPackage = "pkg/controller/podautoscaler"

// loadUpstreamSource finds the pinned module in the module cache (`go list
// -m`, which this module's go.mod pins) and parses the two files.
func loadUpstreamSource() (*upstreamSource, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes").Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m k8s.io/kubernetes: %w", err)
	}
	dir := filepath.Join(string(bytes.TrimSpace(out)), controllerPackage)
	u := &upstreamSource{Dir: dir, fset: token.NewFileSet()}
	if u.code, err = parser.ParseFile(u.fset, filepath.Join(dir, "horizontal.go"), nil, 0); err != nil {
		return nil, err
	}
	if u.tests, err = parser.ParseFile(u.fset, filepath.Join(dir, "horizontal_test.go"), nil, 0); err != nil {
		return nil, err
	}
	return u, nil
}

// evaluator returns an evaluator over horizontal.go's declarations and the
// test function's own, with now as time.Now().
func (u *upstreamSource) evaluator(fn *ast.FuncDecl, now time.Time) (*evaluator, error) {
	e := &evaluator{now: now, structs: map[string]*ast.StructType{}, funcs: map[string]*ast.FuncDecl{},
		consts: map[string]ast.Expr{}, locals: map[string]ast.Expr{}}
	for _, decl := range u.code.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				e.funcs[d.Name.Name] = d
			}
		case *ast.GenDecl:
			addSpecs(e, d)
		}
	}
	// The fixture builders are re-built in Go (astvalue.go); fail if their
	// shape changes under us.
	for name, params := range map[string]int{"generateScalingRules": 5, "generateEventsUniformDistribution": 2} {
		d := findFunc(u.tests, name)
		if d == nil || countParams(d) != params {
			return nil, fmt.Errorf("horizontal_test.go's %s no longer takes %d parameters; update astvalue.go", name, params)
		}
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.DeclStmt:
			if d, ok := n.Decl.(*ast.GenDecl); ok {
				addSpecs(e, d)
			}
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE && len(n.Lhs) == len(n.Rhs) {
				for i, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						e.locals[id.Name] = n.Rhs[i]
					}
				}
			}
		}
		return true
	})
	return e, nil
}

func addSpecs(e *evaluator, d *ast.GenDecl) {
	for _, spec := range d.Specs {
		switch s := spec.(type) {
		case *ast.TypeSpec:
			if st, ok := s.Type.(*ast.StructType); ok {
				e.structs[s.Name.Name] = st
			}
		case *ast.ValueSpec:
			// Constants, and variables with an initializer (horizontal.go's
			// scaleUpLimitFactor is a var).
			if len(s.Values) == len(s.Names) {
				for i, n := range s.Names {
					e.consts[n.Name] = s.Values[i]
				}
			}
		}
	}
}

func findFunc(f *ast.File, name string) *ast.FuncDecl {
	for _, decl := range f.Decls {
		if d, ok := decl.(*ast.FuncDecl); ok && d.Recv == nil && d.Name.Name == name {
			return d
		}
	}
	return nil
}

func countParams(d *ast.FuncDecl) int {
	n := 0
	for _, f := range d.Type.Params.List {
		n += len(f.Names)
	}
	return n
}

// upstreamTable is one table test's cases, evaluated.
type upstreamTable struct {
	Test  string
	Cases []record
	// Eval evaluates other expressions of the same test function.
	Eval *evaluator
	Func *ast.FuncDecl
}

// Table evaluates the table of the named test: the first slice literal of
// struct literals in its body.
func (u *upstreamSource) Table(test string, now time.Time) (*upstreamTable, error) {
	fn := findFunc(u.tests, test)
	if fn == nil {
		return nil, fmt.Errorf("horizontal_test.go has no %s", test)
	}
	e, err := u.evaluator(fn, now)
	if err != nil {
		return nil, err
	}
	var lit *ast.CompositeLit
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		c, ok := n.(*ast.CompositeLit)
		if lit != nil || !ok {
			return lit == nil
		}
		if _, isSlice := c.Type.(*ast.ArrayType); isSlice && len(c.Elts) > 0 {
			if _, ok := c.Elts[0].(*ast.CompositeLit); ok {
				lit = c
				return false
			}
		}
		return true
	})
	if lit == nil {
		return nil, fmt.Errorf("%s has no table", test)
	}
	v, err := e.composite(lit, lit.Type)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", test, err)
	}
	t := &upstreamTable{Test: test, Eval: e, Func: fn}
	for i, c := range v.([]any) {
		r, ok := c.(record)
		if !ok {
			return nil, fmt.Errorf("%s: case %d is %T", test, i, c)
		}
		t.Cases = append(t.Cases, r)
	}
	return t, nil
}

// KeyValue evaluates the value of the first `key: value` in the test
// function outside its table, such as the controller settings a test's
// loop builds.
func (t *upstreamTable) KeyValue(key string) (any, error) {
	var found ast.Expr
	ast.Inspect(t.Func.Body, func(n ast.Node) bool {
		if kv, ok := n.(*ast.KeyValueExpr); ok && found == nil {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == key {
				found = kv.Value
			}
		}
		return found == nil
	})
	if found == nil {
		return nil, fmt.Errorf("%s sets no %s", t.Test, key)
	}
	return t.Eval.eval(found)
}

// Call evaluates the arguments of the test function's call of fn and the
// expected value of the assert.Equal that follows it: the shape of the
// controller's single-case tests.
func (u *upstreamSource) Call(test, fn string, now time.Time) (args []any, want any, err error) {
	decl := findFunc(u.tests, test)
	if decl == nil {
		return nil, nil, fmt.Errorf("horizontal_test.go has no %s", test)
	}
	e, err := u.evaluator(decl, now)
	if err != nil {
		return nil, nil, err
	}
	var call, assert *ast.CallExpr
	ast.Inspect(decl.Body, func(n ast.Node) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		switch name := callName(c); {
		case name == fn && call == nil:
			call = c
		case name == "assert.Equal" && call != nil && assert == nil:
			assert = c
		}
		return true
	})
	if call == nil || assert == nil || len(assert.Args) < 2 {
		return nil, nil, fmt.Errorf("%s: no call of %s followed by assert.Equal", test, fn)
	}
	for _, a := range call.Args {
		v, err := e.eval(a)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", test, err)
		}
		args = append(args, v)
	}
	want, err = e.eval(assert.Args[1])
	return args, want, err
}

func callName(c *ast.CallExpr) string {
	switch f := c.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			return x.Name + "." + f.Sel.Name
		}
	}
	return ""
}

// name is a case's name field, or its index.
func (r record) name(i int) string {
	for _, k := range []string{"name", "annotation"} {
		if s, ok := r[k].(string); ok && s != "" {
			return strings.ReplaceAll(s, "/", "|")
		}
	}
	return fmt.Sprint(i)
}

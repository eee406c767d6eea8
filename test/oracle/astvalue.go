package oracle

import (
	"fmt"
	"go/ast"
	"go/token"
	"math"
	"reflect"
	"strconv"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// evaluator computes the values of the expressions the controller's table
// tests are written in: literals, composite literals of the API types and of
// the controller's own history types, time arithmetic around one fixed
// now, the test file's fixture builders, and the controller's one-line
// helpers (such as calculateScaleUpLimit) by evaluating their bodies. Any
// other expression is an error, so a table that grows a new form fails
// loudly instead of being skipped.
type evaluator struct {
	now time.Time
	// structs are the controller's struct types by name (from horizontal.go
	// and the test function), for positional composite literals.
	structs map[string]*ast.StructType
	// funcs are the controller's functions by name, for one-line helpers.
	funcs map[string]*ast.FuncDecl
	// consts are the controller's package-level constants and initialized
	// variables.
	consts map[string]ast.Expr
	// locals are the test function's own `x := …` before the table.
	locals map[string]ast.Expr
	// scope binds a helper's parameters while its body is evaluated.
	scope map[string]any
}

// record is a composite literal of a struct type: field name to value.
type record map[string]any

// apiConstants are the exported constants of k8s.io/api/autoscaling/v2 the
// tables name; Go cannot look constants up by name at run time.
var apiConstants = map[string]any{
	"MaxChangePolicySelect": autoscalingv2.MaxChangePolicySelect,
	"MinChangePolicySelect": autoscalingv2.MinChangePolicySelect,
	"DisabledPolicySelect":  autoscalingv2.DisabledPolicySelect,
	"PodsScalingPolicy":     autoscalingv2.PodsScalingPolicy,
	"PercentScalingPolicy":  autoscalingv2.PercentScalingPolicy,
}

// apiTypes are the API types the tables build with composite literals.
var apiTypes = map[string]reflect.Type{
	"HPAScalingRules":                 reflect.TypeFor[autoscalingv2.HPAScalingRules](),
	"HPAScalingPolicy":                reflect.TypeFor[autoscalingv2.HPAScalingPolicy](),
	"HorizontalPodAutoscalerBehavior": reflect.TypeFor[autoscalingv2.HorizontalPodAutoscalerBehavior](),
}

func (e *evaluator) eval(x ast.Expr) (any, error) {
	switch x := x.(type) {
	case *ast.BasicLit:
		switch x.Kind {
		case token.INT:
			return strconv.ParseInt(x.Value, 0, 64)
		case token.FLOAT:
			return strconv.ParseFloat(x.Value, 64)
		case token.STRING:
			return strconv.Unquote(x.Value)
		}
	case *ast.ParenExpr:
		return e.eval(x.X)
	case *ast.Ident:
		return e.ident(x.Name)
	case *ast.SelectorExpr:
		return e.selector(x)
	case *ast.UnaryExpr:
		v, err := e.eval(x.X)
		if err != nil {
			return nil, err
		}
		switch x.Op {
		case token.SUB:
			return negate(v)
		case token.AND:
			// A pointer to a value: the value, placed by its field's type.
			return v, nil
		}
	case *ast.BinaryExpr:
		return e.binary(x)
	case *ast.CompositeLit:
		return e.composite(x, x.Type)
	case *ast.CallExpr:
		return e.call(x)
	case *ast.IndexExpr:
		// ptr.To[int64](1): the explicit type argument changes nothing here.
		if call, ok := x.X.(*ast.SelectorExpr); ok {
			return e.selector(call)
		}
	}
	return nil, e.errorf(x, "expression form not supported")
}

func (e *evaluator) errorf(x ast.Node, format string, args ...any) error {
	return fmt.Errorf("%T at offset %d: %s", x, x.Pos(), fmt.Sprintf(format, args...))
}

func (e *evaluator) ident(name string) (any, error) {
	if v, ok := e.scope[name]; ok {
		return v, nil
	}
	switch name {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "nil":
		return nil, nil
	}
	if x, ok := e.locals[name]; ok {
		return e.eval(x)
	}
	if x, ok := e.consts[name]; ok {
		return e.eval(x)
	}
	return nil, fmt.Errorf("unknown identifier %s", name)
}

func (e *evaluator) selector(x *ast.SelectorExpr) (any, error) {
	pkg, ok := x.X.(*ast.Ident)
	if !ok {
		return nil, e.errorf(x, "selector on an expression")
	}
	switch pkg.Name + "." + x.Sel.Name {
	case "time.Second":
		return time.Second, nil
	case "time.Minute":
		return time.Minute, nil
	case "time.Hour":
		return time.Hour, nil
	}
	if pkg.Name == "autoscalingv2" {
		if v, ok := apiConstants[x.Sel.Name]; ok {
			return v, nil
		}
	}
	return nil, e.errorf(x, "unknown name %s.%s", pkg.Name, x.Sel.Name)
}

func negate(v any) (any, error) {
	switch v := v.(type) {
	case int64:
		return -v, nil
	case float64:
		return -v, nil
	case time.Duration:
		return -v, nil
	}
	return nil, fmt.Errorf("cannot negate %T", v)
}

func (e *evaluator) binary(x *ast.BinaryExpr) (any, error) {
	a, err := e.eval(x.X)
	if err != nil {
		return nil, err
	}
	b, err := e.eval(x.Y)
	if err != nil {
		return nil, err
	}
	// Durations are int64 nanoseconds, and Go's arithmetic on them with
	// untyped integers (or each other) gives a Duration.
	_, durationA := a.(time.Duration)
	_, durationB := b.(time.Duration)
	a, b = toInt(a), toInt(b)
	if ai, ok := a.(int64); ok {
		if bi, ok := b.(int64); ok {
			var r int64
			switch x.Op {
			case token.ADD:
				r = ai + bi
			case token.SUB:
				r = ai - bi
			case token.MUL:
				r = ai * bi
			case token.QUO:
				r = ai / bi
			default:
				return nil, e.errorf(x, "operator %s", x.Op)
			}
			if durationA || durationB {
				return time.Duration(r), nil
			}
			return r, nil
		}
	}
	af, okA := toFloat(a)
	bf, okB := toFloat(b)
	if okA && okB {
		switch x.Op {
		case token.ADD:
			return af + bf, nil
		case token.SUB:
			return af - bf, nil
		case token.MUL:
			return af * bf, nil
		case token.QUO:
			return af / bf, nil
		}
	}
	return nil, e.errorf(x, "operands %T %s %T", a, x.Op, b)
}

func toInt(v any) any {
	if d, ok := v.(time.Duration); ok {
		return int64(d)
	}
	return v
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	}
	return 0, false
}

func (e *evaluator) call(x *ast.CallExpr) (any, error) {
	args := make([]any, len(x.Args))
	for i, a := range x.Args {
		v, err := e.eval(a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	switch fn := x.Fun.(type) {
	case *ast.Ident:
		switch fn.Name {
		case "int32", "int64", "int":
			if f, ok := args[0].(float64); ok {
				return int64(f), nil
			}
			return args[0], nil
		case "float64":
			f, ok := toFloat(args[0])
			if !ok {
				return nil, e.errorf(x, "float64(%T)", args[0])
			}
			return f, nil
		case "new":
			return args[0], nil
		case "generateScalingRules":
			return generateScalingRules(args)
		case "generateEventsUniformDistribution":
			return e.generateEventsUniformDistribution(args)
		}
		if decl, ok := e.funcs[fn.Name]; ok {
			return e.helper(decl, args)
		}
		return nil, e.errorf(x, "unknown function %s", fn.Name)
	case *ast.SelectorExpr:
		if pkg, ok := fn.X.(*ast.Ident); ok {
			switch pkg.Name + "." + fn.Sel.Name {
			case "time.Now":
				return e.now, nil
			case "time.Duration":
				switch v := args[0].(type) {
				case int64:
					return time.Duration(v), nil
				case float64:
					return time.Duration(v), nil
				}
			case "math.Max":
				a, _ := toFloat(args[0])
				b, _ := toFloat(args[1])
				return math.Max(a, b), nil
			case "math.Ceil":
				a, _ := toFloat(args[0])
				return math.Ceil(a), nil
			case "ptr.To":
				return args[0], nil
			}
		}
		// t.Add(d) on a time.
		recv, err := e.eval(fn.X)
		if err != nil {
			return nil, err
		}
		if t, ok := recv.(time.Time); ok && fn.Sel.Name == "Add" {
			d, ok := args[0].(time.Duration)
			if !ok {
				return nil, e.errorf(x, "Add(%T)", args[0])
			}
			return t.Add(d), nil
		}
	case *ast.IndexExpr:
		if sel, ok := fn.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "To" {
			return args[0], nil
		}
	}
	return nil, e.errorf(x, "call not supported")
}

// helper evaluates one of the controller's functions whose body is a
// single return statement (calculateScaleUpLimit).
func (e *evaluator) helper(decl *ast.FuncDecl, args []any) (any, error) {
	if len(decl.Body.List) != 1 {
		return nil, fmt.Errorf("%s: only single-statement helpers are evaluated", decl.Name.Name)
	}
	ret, ok := decl.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return nil, fmt.Errorf("%s: not a single return", decl.Name.Name)
	}
	saved := e.scope
	e.scope = map[string]any{}
	i := 0
	for _, field := range decl.Type.Params.List {
		for _, name := range field.Names {
			e.scope[name.Name] = args[i]
			i++
		}
	}
	defer func() { e.scope = saved }()
	return e.eval(ret.Results[0])
}

// composite evaluates a composite literal of type typ (given explicitly,
// or by the enclosing slice for an elided one).
func (e *evaluator) composite(x *ast.CompositeLit, typ ast.Expr) (any, error) {
	if x.Type != nil {
		typ = x.Type
	}
	switch t := typ.(type) {
	case *ast.ArrayType:
		out := make([]any, 0, len(x.Elts))
		for _, elt := range x.Elts {
			var v any
			var err error
			if c, ok := elt.(*ast.CompositeLit); ok {
				v, err = e.composite(c, t.Elt)
			} else {
				v, err = e.eval(elt)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *ast.StarExpr:
		return e.composite(x, t.X)
	case *ast.SelectorExpr:
		rt, ok := apiTypes[t.Sel.Name]
		if !ok {
			return nil, e.errorf(x, "composite of unknown type %s", t.Sel.Name)
		}
		r, err := e.fields(x, nil)
		if err != nil {
			return nil, err
		}
		v := reflect.New(rt)
		if err := fill(v.Elem(), r); err != nil {
			return nil, e.errorf(x, "%s: %v", t.Sel.Name, err)
		}
		return v.Interface(), nil
	case *ast.Ident:
		st, ok := e.structs[t.Name]
		if !ok {
			return nil, e.errorf(x, "composite of unknown type %s", t.Name)
		}
		return e.fields(x, st)
	case *ast.StructType:
		return e.fields(x, t)
	}
	return nil, e.errorf(x, "composite of type %T", typ)
}

// fields evaluates a struct literal, keyed or (with st) positional.
func (e *evaluator) fields(x *ast.CompositeLit, st *ast.StructType) (record, error) {
	var names []string
	var types []ast.Expr
	if st != nil {
		for _, f := range st.Fields.List {
			for _, n := range f.Names {
				names, types = append(names, n.Name), append(types, f.Type)
			}
		}
	}
	r := record{}
	for i, elt := range x.Elts {
		var name string
		var val ast.Expr
		var typ ast.Expr
		if kv, ok := elt.(*ast.KeyValueExpr); ok {
			name, val = kv.Key.(*ast.Ident).Name, kv.Value
			for j, n := range names {
				if n == name {
					typ = types[j]
				}
			}
		} else {
			if i >= len(names) {
				return nil, e.errorf(x, "positional field %d of an unknown struct", i)
			}
			name, val, typ = names[i], elt, types[i]
		}
		var v any
		var err error
		if c, ok := val.(*ast.CompositeLit); ok && c.Type == nil {
			v, err = e.composite(c, typ)
		} else {
			v, err = e.eval(val)
		}
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", name, err)
		}
		r[name] = v
	}
	return r, nil
}

// fill sets an API struct's fields from a record by Go field name.
func fill(dst reflect.Value, v any) error {
	if v == nil {
		return nil
	}
	switch dst.Kind() {
	case reflect.Pointer:
		if src, ok := v.(reflect.Value); ok {
			dst.Set(src)
			return nil
		}
		if rv := reflect.ValueOf(v); rv.Type() == dst.Type() {
			dst.Set(rv)
			return nil
		}
		p := reflect.New(dst.Type().Elem())
		if err := fill(p.Elem(), v); err != nil {
			return err
		}
		dst.Set(p)
	case reflect.Struct:
		r, ok := v.(record)
		if !ok {
			if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.Elem().Type() == dst.Type() {
				dst.Set(rv.Elem())
				return nil
			}
			return fmt.Errorf("%s from %T", dst.Type(), v)
		}
		for name, fv := range r {
			f := dst.FieldByName(name)
			if !f.IsValid() {
				return fmt.Errorf("%s has no field %s", dst.Type(), name)
			}
			if err := fill(f, fv); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	case reflect.Slice:
		items, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s from %T", dst.Type(), v)
		}
		s := reflect.MakeSlice(dst.Type(), len(items), len(items))
		for i, item := range items {
			if err := fill(s.Index(i), item); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Int32, reflect.Int64, reflect.Int:
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("%s from %T", dst.Type(), v)
		}
		dst.SetInt(n)
	case reflect.String:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.String {
			return fmt.Errorf("%s from %T", dst.Type(), v)
		}
		dst.SetString(rv.String())
	default:
		return fmt.Errorf("cannot fill %s", dst.Type())
	}
	return nil
}

// generateScalingRules builds what the test file's helper of that name
// builds (horizontal_test.go): selectPolicy Max, the window, a Pods policy
// when pods is not 0 and a Percent policy when percent is not 0, in that
// order. Its signature is checked against the parsed file.
func generateScalingRules(args []any) (any, error) {
	if len(args) != 5 {
		return nil, fmt.Errorf("generateScalingRules: %d arguments, want 5", len(args))
	}
	n := make([]int32, 5)
	for i, a := range args {
		v, ok := a.(int64)
		if !ok {
			return nil, fmt.Errorf("generateScalingRules: argument %d is %T", i, a)
		}
		n[i] = int32(v)
	}
	pods, podsPeriod, percent, percentPeriod, window := n[0], n[1], n[2], n[3], n[4]
	selectMax := autoscalingv2.MaxChangePolicySelect
	r := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window, SelectPolicy: &selectMax}
	if pods != 0 {
		r.Policies = append(r.Policies, autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: pods, PeriodSeconds: podsPeriod})
	}
	if percent != 0 {
		r.Policies = append(r.Policies, autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: percent, PeriodSeconds: percentPeriod})
	}
	return r, nil
}

// generateEventsUniformDistribution builds what the test file's helper of
// that name builds: one event per change, each in the middle of its equal
// share of the last periodSeconds (whole seconds, as its time.Duration
// conversion truncates), oldest first.
func (e *evaluator) generateEventsUniformDistribution(args []any) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("generateEventsUniformDistribution: %d arguments, want 2", len(args))
	}
	changes, ok1 := args[0].([]any)
	period, ok2 := args[1].(int64)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("generateEventsUniformDistribution(%T, %T)", args[0], args[1])
	}
	segment := float64(period) / float64(len(changes))
	out := make([]any, len(changes))
	for i, c := range changes {
		boundary := time.Duration(float64(period) - segment*float64(i+1) + segment/2)
		out[i] = record{"replicaChange": c, "timestamp": e.now.Add(-time.Second * boundary), "outdated": false}
	}
	return out, nil
}

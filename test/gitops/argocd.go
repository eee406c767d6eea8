package gitops

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/argoproj/gitops-engine/pkg/diff"
	"github.com/itchyny/gojq"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// IgnoreDifferences is one entry of an Argo CD Application's
// spec.ignoreDifferences, the jqPathExpressions form.
type IgnoreDifferences struct {
	Group             string   `json:"group"`
	Kind              string   `json:"kind"`
	JQPathExpressions []string `json:"jqPathExpressions"`
}

// jqNormalizer removes what the expressions select, on the desired and on
// the live object alike, before they are compared. Argo CD compiles each
// expression as the jq program `del(<expression>)` with gojq and runs it on
// the object's JSON (argo-cd util/argo/normalizers); so does this.
type jqNormalizer struct {
	entries []compiledEntry
}

type compiledEntry struct {
	group, kind string
	programs    []*gojq.Code
}

// NewNormalizer compiles entries into a diff.Normalizer for Argo CD's diff
// package. An expression that is not valid jq is an error naming it.
func NewNormalizer(entries []IgnoreDifferences) (diff.Normalizer, error) {
	n := &jqNormalizer{}
	for _, e := range entries {
		c := compiledEntry{group: e.Group, kind: e.Kind}
		for _, expr := range e.JQPathExpressions {
			q, err := gojq.Parse(fmt.Sprintf("del(%s)", expr))
			if err != nil {
				return nil, fmt.Errorf("ignoreDifferences %s/%s: jqPathExpression %q: %w", e.Group, e.Kind, expr, err)
			}
			code, err := gojq.Compile(q)
			if err != nil {
				return nil, fmt.Errorf("ignoreDifferences %s/%s: jqPathExpression %q: %w", e.Group, e.Kind, expr, err)
			}
			c.programs = append(c.programs, code)
		}
		n.entries = append(n.entries, c)
	}
	return n, nil
}

func (n *jqNormalizer) Normalize(un *unstructured.Unstructured) error {
	gvk := un.GroupVersionKind()
	for _, e := range n.entries {
		if e.group != gvk.Group || e.kind != gvk.Kind {
			continue
		}
		for _, code := range e.programs {
			// gojq takes JSON values only (float64, not the int64 of
			// unstructured objects): go through JSON, as Argo CD does.
			data, err := un.MarshalJSON()
			if err != nil {
				return err
			}
			var in any
			if err := json.Unmarshal(data, &in); err != nil {
				return err
			}
			out, ok := code.Run(in).Next()
			if !ok {
				return fmt.Errorf("%s %s: jq deletion returned nothing", gvk.Kind, un.GetName())
			}
			if err, isErr := out.(error); isErr {
				return fmt.Errorf("%s %s: %w", gvk.Kind, un.GetName(), err)
			}
			if data, err = json.Marshal(out); err != nil {
				return err
			}
			if err := un.UnmarshalJSON(data); err != nil {
				return err
			}
		}
	}
	return nil
}

// ChangedFields lists, as dotted paths, where the predicted and the live
// object of a diff result differ: the deepest object field whose values
// differ (a list or a scalar), sorted. Empty when they are equal.
func ChangedFields(r *diff.DiffResult) ([]string, error) {
	var predicted, live any
	if err := json.Unmarshal(r.PredictedLive, &predicted); err != nil {
		return nil, fmt.Errorf("predicted live: %w", err)
	}
	if err := json.Unmarshal(r.NormalizedLive, &live); err != nil {
		return nil, fmt.Errorf("normalized live: %w", err)
	}
	var out []string
	changedFields("", predicted, live, &out)
	slices.Sort(out)
	return out, nil
}

func changedFields(path string, a, b any, out *[]string) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if !aIsMap || !bIsMap {
		if !reflect.DeepEqual(a, b) {
			*out = append(*out, path)
		}
		return
	}
	keys := map[string]bool{}
	for k := range am {
		keys[k] = true
	}
	for k := range bm {
		keys[k] = true
	}
	for k := range keys {
		changedFields(strings.TrimPrefix(path+"."+k, "."), am[k], bm[k], out)
	}
}

package policies

import (
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// WorkloadPods is what selector-overlap reads of each workload of a
// namespace: whose pods it makes and which pods it selects. Every HPA
// review reads it for the whole namespace, so it holds no pod template:
// decoding a thousand templates per review cost 9 ms of CPU.
type WorkloadPods struct {
	Kind, Name string
	// PodLabels are the labels of its pod template.
	PodLabels labels.Labels
	// Selector is its pod selector as its scale subresource reports it
	// (ScaleSelector, printed), "" for none.
	Selector string
}

// PodsOf is w's WorkloadPods.
func PodsOf(w *Workload) WorkloadPods {
	p := WorkloadPods{Kind: w.Kind, Name: w.Meta.Name, PodLabels: labels.Set{}}
	if w.Template != nil {
		p.PodLabels = labels.Set(w.Template.Labels)
	}
	if w.Selector != nil {
		p.Selector = w.Selector.String()
	}
	return p
}

// EncodedLabels are labels in the form labels.Set's String prints
// ("app=web,tier=front", keys sorted), read without a map: a label key or
// value holds neither ',' nor '='.
type EncodedLabels string

var _ labels.Labels = EncodedLabels("")

// Lookup implements labels.Labels.
func (e EncodedLabels) Lookup(key string) (string, bool) {
	for kv := range strings.SplitSeq(string(e), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Has implements labels.Labels.
func (e EncodedLabels) Has(key string) bool {
	_, ok := e.Lookup(key)
	return ok
}

// Get implements labels.Labels.
func (e EncodedLabels) Get(key string) string {
	v, _ := e.Lookup(key)
	return v
}

// Set is e as a map.
func (e EncodedLabels) Set() labels.Set {
	if e == "" {
		return nil
	}
	out := labels.Set{}
	for kv := range strings.SplitSeq(string(e), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// selectorMatches reports whether sel, a selector as labels.Selector prints
// it, matches l. A selector of equalities alone ("app=web,tier=front", what
// matchLabels becomes, by far the most common) is matched from its text;
// any other is parsed. A selector that does not parse matches nothing.
func selectorMatches(sel string, l labels.Labels) bool {
	if sel == "" {
		return false
	}
	if !strings.ContainsAny(sel, " !()") {
		equalities := true
		for req := range strings.SplitSeq(sel, ",") {
			k, v, ok := strings.Cut(req, "=")
			if !ok {
				equalities = false // "key" alone: exists
				break
			}
			if got, ok := l.Lookup(k); !ok || got != strings.TrimPrefix(v, "=") {
				return false
			}
		}
		if equalities {
			return true
		}
	}
	s, err := labels.Parse(sel)
	return err == nil && s.Matches(l)
}

package webhook

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// maxRefusalNamespaces bounds the namespace label of
// scaleguard_admission_refusals_total. A namespace's series lives as long as
// the process, even after the namespace is deleted, so a cluster that makes
// a namespace per pull request would otherwise grow series without end. The
// first namespaces refused since the process started keep their own series;
// later ones share otherNamespaces. 500 covers every cluster we know of with
// room to spare, and is at most 1,000 series per pod with dry_run.
const maxRefusalNamespaces = 500

// otherNamespaces is the namespace label past maxRefusalNamespaces. A
// namespace name is a DNS label (lowercase letters, digits, '-'), so no real
// namespace can be called this.
const otherNamespaces = "_other"

// refusals counts refused admission reviews by namespace, with the number
// of distinct namespace values capped.
type refusals struct {
	counter *prometheus.CounterVec
	mu      sync.Mutex
	seen    map[string]bool
}

func newRefusals() *refusals {
	return &refusals{
		counter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaleguard_admission_refusals_total",
			Help: "Admission reviews refused by a rule (result denied), by namespace (empty for cluster-scoped objects; \"_other\" once 500 namespaces have their own series) and dry run.",
		}, []string{"namespace", "dry_run"}),
		seen: map[string]bool{},
	}
}

func (r *refusals) inc(namespace string, dryRun bool) {
	r.counter.WithLabelValues(r.label(namespace), strconv.FormatBool(dryRun)).Inc()
}

// label is namespace while it is among the first maxRefusalNamespaces seen,
// else otherNamespaces.
func (r *refusals) label(namespace string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[namespace] {
		return namespace
	}
	if len(r.seen) >= maxRefusalNamespaces {
		return otherNamespaces
	}
	r.seen[namespace] = true
	return namespace
}

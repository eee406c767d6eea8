package standards

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
	"github.com/scaleguard/scaleguard/policies"
)

// Fallback gives the settings in force when no ClusterScalingStandard
// exists: the (deprecated) settings file, or the built-in standard.
type Fallback interface {
	Current() *policies.Settings
}

// NamespaceLabels tells a namespace's labels (the cluster view); a
// selecting ClusterScalingStandard is matched against them.
type NamespaceLabels func(namespace string) (map[string]string, error)

// Store holds the standards in force, as the informers last saw them, and
// answers each review with its namespace's effective settings. An invalid
// object never replaces the last valid one of the same name (or, for
// ScalingStandards, of the same namespace).
type Store struct {
	fallback Fallback
	labels   NamespaceLabels

	// mu guards the last valid objects and the rebuild; reviews only
	// load snap.
	mu           sync.Mutex
	lastCluster  map[string]*Cluster
	lastOverride map[string]*v1alpha1.ScalingStandard
	snap         atomic.Pointer[snapshot]
	refresh      atomic.Pointer[func(context.Context) error]
}

// snapshot is what a review reads: immutable but for its cache.
type snapshot struct {
	fallback  *policies.Settings
	clusters  []*Cluster
	overrides map[string]*v1alpha1.ScalingStandard
	// global is the settings that are cluster-wide; a new pointer every
	// rebuild, so that a change is seen by comparing pointers.
	global    *policies.Settings
	selecting bool
	// resolved caches Resolve by cluster standard and namespace (only
	// namespaces with a ScalingStandard have their own entry).
	resolved sync.Map
}

// NewStore returns a store answering with fallback until Update is
// called with a standard.
func NewStore(fallback Fallback, labels NamespaceLabels) *Store {
	s := &Store{fallback: fallback, labels: labels, lastCluster: map[string]*Cluster{}, lastOverride: map[string]*v1alpha1.ScalingStandard{}}
	s.snap.Store(s.build(fallback.Current()))
	return s
}

// InForce reports whether any standard object is in force (else the
// fallback applies everywhere).
func (s *Store) InForce() bool {
	snap := s.snap.Load()
	return len(snap.clusters) > 0 || len(snap.overrides) > 0
}

// Current returns the cluster-wide settings: those of the default
// ClusterScalingStandard, else the fallback's. What is exempt, which
// kinds are workloads and how the audit runs are read from it.
func (s *Store) Current() *policies.Settings {
	return s.current().global
}

// current returns the snapshot, rebuilt first when the fallback changed
// (the settings file was reloaded).
func (s *Store) current() *snapshot {
	snap := s.snap.Load()
	if fb := s.fallback.Current(); fb != snap.fallback {
		s.mu.Lock()
		if snap = s.snap.Load(); fb != snap.fallback {
			snap = s.build(fb)
			s.snap.Store(snap)
		}
		s.mu.Unlock()
	}
	return snap
}

// For returns the settings a namespace is judged with; their Source names
// the standard.
func (s *Store) For(namespace string) *policies.Settings {
	snap := s.current()
	if len(snap.clusters) == 0 && len(snap.overrides) == 0 {
		return snap.fallback
	}
	var nsLabels map[string]string
	if snap.selecting && s.labels != nil {
		// A namespace whose labels are unknown gets the default standard.
		nsLabels, _ = s.labels(namespace)
	}
	c := Select(snap.clusters, nsLabels)
	o := snap.overrides[namespace]
	key := ""
	if c != nil {
		key = c.Name
	}
	if o != nil {
		key += "\x00" + namespace
	}
	if v, ok := snap.resolved.Load(key); ok {
		return v.(*policies.Settings)
	}
	// An override that is out of the bounds now in force gives the
	// cluster standard without it.
	e, _ := Resolve(snap.fallback, snap.clusters, nsLabels, o)
	snap.resolved.Store(key, e.Settings)
	return e.Settings
}

// All returns every distinct settings a namespace may be judged with now:
// the webhooks' matchConditions must let through whatever any of them
// could report on.
func (s *Store) All() []*policies.Settings {
	snap := s.current()
	if len(snap.clusters) == 0 && len(snap.overrides) == 0 {
		return []*policies.Settings{snap.fallback}
	}
	// Every cluster standard, and the fallback where none is the default.
	choices := slices.Clone(snap.clusters)
	if Select(snap.clusters, nil) == nil {
		choices = append(choices, nil)
	}
	var out []*policies.Settings
	for _, c := range choices {
		e, _ := resolveWith(snap.fallback, snap.clusters, c, nil)
		out = append(out, e.Settings)
		// Each override under every cluster standard it might meet: its
		// namespace's labels can change without an event here.
		for _, o := range snap.overrides {
			if e, err := resolveWith(snap.fallback, snap.clusters, c, o); err == nil {
				out = append(out, e.Settings)
			}
		}
	}
	return out
}

// Validate judges a ScalingStandard against the standard in force in its
// namespace: the admission check of what CEL in the CRD cannot see. A
// refusal is checked again against the standards read straight from the
// API server (see SetRefresh): a ClusterScalingStandard applied together
// with the ScalingStandard may not have reached the informers yet.
func (s *Store) Validate(ctx context.Context, o *v1alpha1.ScalingStandard) error {
	err := s.validate(o)
	if err == nil {
		return nil
	}
	if refresh := s.refresh.Load(); refresh != nil && (*refresh)(ctx) == nil {
		err = s.validate(o)
	}
	return err
}

func (s *Store) validate(o *v1alpha1.ScalingStandard) error {
	snap := s.current()
	var nsLabels map[string]string
	if s.labels != nil {
		nsLabels, _ = s.labels(o.Namespace)
	}
	_, err := Resolve(snap.fallback, snap.clusters, nsLabels, o)
	return err
}

// SetRefresh gives the store a way to read the standards straight from the
// API server, for Validate's second look.
func (s *Store) SetRefresh(refresh func(context.Context) error) {
	s.refresh.Store(&refresh)
}

// build makes the snapshot of the last valid objects; mu is held.
func (s *Store) build(fallback *policies.Settings) *snapshot {
	snap := &snapshot{fallback: fallback, overrides: map[string]*v1alpha1.ScalingStandard{}}
	for _, c := range s.lastCluster {
		snap.clusters = append(snap.clusters, c)
		snap.selecting = snap.selecting || c.Selector != nil
	}
	slices.SortFunc(snap.clusters, func(a, b *Cluster) int { return strings.Compare(a.Name, b.Name) })
	for ns, o := range s.lastOverride {
		snap.overrides[ns] = o
	}
	g := *fallback
	for _, c := range snap.clusters {
		if c.Selector == nil {
			g = c.Settings
		}
	}
	snap.global = &g
	return snap
}

// Update puts the objects the informers hold now in force, keeping the
// last valid generation of any that fails validation, and returns the
// status each object should have.
func (s *Store) Update(clusters []v1alpha1.ClusterScalingStandard, overrides []v1alpha1.ScalingStandard) (clusterStatus map[string]v1alpha1.StandardStatus, overrideStatus map[string]v1alpha1.StandardStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clusterStatus = map[string]v1alpha1.StandardStatus{}
	seen := map[string]bool{}
	for i := range clusters {
		obj := &clusters[i]
		seen[obj.Name] = true
		c, err := ParseCluster(obj)
		if err == nil {
			s.lastCluster[obj.Name] = c
		}
		_, kept := s.lastCluster[obj.Name]
		st := status(obj.Generation, obj.Status.Conditions, err, v1alpha1.ReasonInvalid, kept, "")
		if kept {
			in := s.lastCluster[obj.Name].Settings
			st.EffectiveMinReplicas, st.EffectiveMode = in.Rules.MinReplicas.Minimum, v1alpha1.Mode(in.Mode)
		}
		clusterStatus[obj.Name] = st
	}
	for name := range s.lastCluster {
		if !seen[name] {
			delete(s.lastCluster, name)
		}
	}
	// The clusters as they are now judge the overrides.
	fallback := s.fallback.Current()
	snap := s.build(fallback)

	overrideStatus = map[string]v1alpha1.StandardStatus{}
	byNamespace := map[string][]*v1alpha1.ScalingStandard{}
	for i := range overrides {
		byNamespace[overrides[i].Namespace] = append(byNamespace[overrides[i].Namespace], &overrides[i])
	}
	for ns := range s.lastOverride {
		if byNamespace[ns] == nil {
			delete(s.lastOverride, ns)
		}
	}
	for ns, objs := range byNamespace {
		slices.SortFunc(objs, func(a, b *v1alpha1.ScalingStandard) int { return strings.Compare(a.Name, b.Name) })
		if last := s.lastOverride[ns]; last != nil && last.Name != objs[0].Name {
			delete(s.lastOverride, ns)
		}
		var nsLabels map[string]string
		if s.labels != nil {
			nsLabels, _ = s.labels(ns)
		}
		o := objs[0]
		e, err := Resolve(fallback, snap.clusters, nsLabels, o)
		if err == nil {
			s.lastOverride[ns] = o
		}
		_, kept := s.lastOverride[ns]
		st := status(o.Generation, o.Status.Conditions, err, v1alpha1.ReasonOutOfBounds, kept, "")
		if kept && err != nil {
			e, _ = Resolve(fallback, snap.clusters, nsLabels, s.lastOverride[ns])
		}
		st.EffectiveMinReplicas, st.EffectiveMode = e.Settings.Rules.MinReplicas.Minimum, v1alpha1.Mode(e.Settings.Mode)
		overrideStatus[ns+"/"+o.Name] = st
		for _, other := range objs[1:] {
			overrideStatus[ns+"/"+other.Name] = status(other.Generation, other.Status.Conditions, nil, "", false,
				fmt.Sprintf("ScalingStandard %s/%s is the one in force in this namespace (the first by name); merge this one into it", ns, o.Name))
		}
	}
	s.snap.Store(s.build(fallback))
	return clusterStatus, overrideStatus
}

// status words the conditions of one object: err is its validation error
// (reason invalidReason), kept whether a valid generation of it is in
// force, shadowed why another object applies instead.
func status(generation int64, old []metav1.Condition, err error, invalidReason string, kept bool, shadowed string) v1alpha1.StandardStatus {
	st := v1alpha1.StandardStatus{ObservedGeneration: generation, Conditions: slices.Clone(old)}
	valid := metav1.Condition{Type: v1alpha1.ConditionValid, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonValid,
		Message: "every setting is valid and within its bounds", ObservedGeneration: generation}
	accepted := metav1.Condition{Type: v1alpha1.ConditionAccepted, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonInForce,
		Message: "this generation is in force", ObservedGeneration: generation}
	switch {
	case shadowed != "":
		accepted.Status, accepted.Reason, accepted.Message = metav1.ConditionFalse, v1alpha1.ReasonShadowed, shadowed
	case err != nil:
		valid.Status, valid.Reason, valid.Message = metav1.ConditionFalse, invalidReason, err.Error()
		accepted.Status, accepted.Reason, accepted.Message = metav1.ConditionFalse, v1alpha1.ReasonNoValidGeneration, "no generation of it was ever valid: it is not in force"
		if kept {
			accepted.Reason, accepted.Message = v1alpha1.ReasonLastValidKept, "this generation is invalid; the last valid one stays in force"
		}
	}
	meta.SetStatusCondition(&st.Conditions, valid)
	meta.SetStatusCondition(&st.Conditions, accepted)
	return st
}

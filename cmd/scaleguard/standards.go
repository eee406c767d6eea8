package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"

	"github.com/scaleguard/scaleguard/api/v1alpha1"
	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/standards"
)

// fixedSettings is a standards.Fallback that never changes.
type fixedSettings struct{ s *policies.Settings }

func (f fixedSettings) Current() *policies.Settings { return f.s }

// loadStandards reads the ClusterScalingStandards and ScalingStandards of
// files, for `check --standard`: the store judges each namespace as serve
// would, over fallback (the --config file or the built-in standard), with
// the labels of the Namespace documents among docs. A standard that is
// invalid or out of its bounds is an error naming it: CI must not judge
// with a standard the cluster would refuse.
func loadStandards(files []string, stdin io.Reader, fallback *policies.Settings, docs []manifests.Document) (*standards.Store, error) {
	stdDocs, err := manifests.Load(files, stdin)
	if err != nil {
		return nil, err
	}
	var clusters []v1alpha1.ClusterScalingStandard
	var overrides []v1alpha1.ScalingStandard
	for _, d := range stdDocs {
		if d.APIVersion != v1alpha1.GroupVersion.String() {
			return nil, fmt.Errorf("%s: %s %s is not a scaleguard.io/v1alpha1 standard", d.Source, d.APIVersion, d.Kind)
		}
		var into any
		switch d.Kind {
		case "ClusterScalingStandard":
			clusters = append(clusters, v1alpha1.ClusterScalingStandard{})
			into = &clusters[len(clusters)-1]
		case "ScalingStandard":
			overrides = append(overrides, v1alpha1.ScalingStandard{})
			into = &overrides[len(overrides)-1]
		default:
			return nil, fmt.Errorf("%s: kind %s: want ClusterScalingStandard or ScalingStandard", d.Source, d.Kind)
		}
		strict, err := kjson.UnmarshalStrict(d.JSON, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
		if err == nil && len(strict) > 0 {
			err = errors.Join(strict...)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", d.Source, d.Kind, d.Name, err)
		}
	}
	for i := range overrides {
		if overrides[i].Namespace == "" {
			return nil, fmt.Errorf("ScalingStandard %s: metadata.namespace is required: it says which namespace it overrides", overrides[i].Name)
		}
	}
	labels := map[string]map[string]string{}
	for _, d := range docs {
		if d.APIVersion == "v1" && d.Kind == "Namespace" {
			var ns corev1.Namespace
			if err := kjson.UnmarshalCaseSensitivePreserveInts(d.JSON, &ns); err == nil {
				labels[ns.Name] = ns.Labels
			}
		}
	}
	store := standards.NewStore(fixedSettings{fallback}, func(ns string) (map[string]string, error) { return labels[ns], nil })
	clusterStatus, overrideStatus := store.Update(clusters, overrides)
	var errs []error
	invalid := func(what string, st v1alpha1.StandardStatus) {
		for _, c := range st.Conditions {
			if c.Type == v1alpha1.ConditionValid && c.Status != "True" {
				msg := c.Message
				if !strings.HasPrefix(msg, what) {
					msg = what + ": " + msg
				}
				errs = append(errs, errors.New(msg))
			}
		}
	}
	for _, c := range clusters {
		invalid("ClusterScalingStandard "+c.Name, clusterStatus[c.Name])
	}
	for _, o := range overrides {
		invalid("ScalingStandard "+o.Namespace+"/"+o.Name, overrideStatus[o.Namespace+"/"+o.Name])
	}
	return store, errors.Join(errs...)
}

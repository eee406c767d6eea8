package audit

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scaleguard/scaleguard/policies"
)

// CustomWorkload is one stored object of a kind settings.workloadKinds
// lists, read as the webhook reads it (policies.WorkloadFromUnstructured).
type CustomWorkload struct {
	// APIVersion is the version it was read in, the listed one.
	APIVersion string
	Workload   policies.Workload
	// Err says why it could not be read (a field of the wrong type); the
	// audit reports it as unchecked rather than pass the object.
	Err error
	// Namespace and Name name it even when it could not be read.
	Namespace, Name string
}

// listCustomWorkloads reads the stored objects of every listed kind. A kind
// the API server does not serve (its CRD is absent) has none: that is not
// an error of the scan.
func (a *Auditor) listCustomWorkloads(ctx context.Context, namespace string, s *policies.Settings) ([]CustomWorkload, error) {
	var out []CustomWorkload
	var errs []error
	for _, k := range s.WorkloadKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(k.GroupVersionKind().GroupVersion().WithKind(k.Kind + "List"))
		err := a.reader.List(ctx, list, client.InNamespace(namespace), client.UnsafeDisableDeepCopy)
		switch {
		case meta.IsNoMatchError(err):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("listing %s %s: %w", k.APIVersion(), k.Resource, err))
			continue
		}
		for i := range list.Items {
			u := &list.Items[i]
			w, err := policies.WorkloadFromUnstructured(k, u.Object)
			w.Kind = k.Kind
			out = append(out, CustomWorkload{APIVersion: k.APIVersion(), Workload: w, Err: err, Namespace: u.GetNamespace(), Name: u.GetName()})
		}
	}
	return out, errors.Join(errs...)
}

// customWorkload judges one custom workload like a Deployment; one that
// could not be read is reported as unchecked, with the reason.
func (sc *scanner) customWorkload(c *CustomWorkload) {
	if c.Err == nil {
		sc.workload(c.Workload, c.APIVersion)
		return
	}
	if policies.NamespaceExempt(sc.s, sc.cluster, c.Namespace) {
		return
	}
	f := policies.Finding{Rule: policies.RequestsRequired, Action: policies.Warn, Path: field.NewPath("spec"),
		Message: "not checked: " + c.Err.Error(), Unchecked: true}
	obj := ref(c.APIVersion, c.Workload.Kind, &c.Workload.Meta)
	obj.Namespace, obj.Name = c.Namespace, c.Name
	sc.add(obj, nil, policies.Findings{f})
}

package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// reportSync is what one PolicyReport sync did.
type reportSync struct {
	// Installed says whether the PolicyReport CRD was found.
	Installed        bool
	Written, Deleted int
	Unchanged        int
}

// syncReports makes scaleguard's PolicyReports say what res found: it
// writes the report of every namespace res judged, when its content
// changed, and deletes scaleguard's reports in every other namespace. A nil
// res deletes them all (the audit or its reports turned off). Without the
// CRD it does nothing: it is looked up at every sync, so installing it
// later needs no restart.
func (a *Auditor) syncReports(ctx context.Context, res *Result, now metav1.Timestamp) (reportSync, error) {
	var done reportSync
	if _, err := a.client.RESTMapper().RESTMapping(reportGVK.GroupKind(), reportGVK.Version); err != nil {
		if meta.IsNoMatchError(err) {
			return done, nil
		}
		return done, fmt.Errorf("looking up the PolicyReport API: %w", err)
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(reportListGVK)
	if err := a.client.List(ctx, list, client.MatchingLabels{LabelManagedBy: managedBy}); err != nil {
		if notInstalled(err) {
			// Removed since the RESTMapper last looked.
			return done, nil
		}
		return done, fmt.Errorf("listing PolicyReports: %w", err)
	}
	done.Installed = true
	existing := map[string]*unstructured.Unstructured{}
	for i := range list.Items {
		if u := &list.Items[i]; u.GetName() == ReportName {
			existing[u.GetNamespace()] = u
		}
	}

	var want map[string]*reportContent
	if res != nil {
		want = buildReports(*res, now)
	}
	var errs []error
	for _, ns := range slices.Sorted(maps.Keys(want)) {
		content := want[ns]
		if u := existing[ns]; u != nil {
			old, err := decodeReport(u)
			if err == nil {
				carryTimestamps(content, old)
				if reflect.DeepEqual(old, content) {
					done.Unchanged++
					continue
				}
			}
		}
		if err := a.applyReport(ctx, ns, content); err != nil {
			errs = append(errs, fmt.Errorf("writing PolicyReport %s/%s: %w", ns, ReportName, err))
			continue
		}
		done.Written++
	}
	for _, ns := range slices.Sorted(maps.Keys(existing)) {
		if _, keep := want[ns]; keep {
			continue
		}
		if err := a.client.Delete(ctx, existing[ns]); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting PolicyReport %s/%s: %w", ns, ReportName, err))
			continue
		}
		done.Deleted++
	}
	return done, errors.Join(errs...)
}

// applyReport writes one report with server-side apply. The results list
// is atomic in the CRD's schema, so each apply replaces it whole.
func (a *Auditor) applyReport(ctx context.Context, namespace string, content *reportContent) error {
	fields, err := runtime.DefaultUnstructuredConverter.ToUnstructured(content)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: fields}
	u.SetGroupVersionKind(reportGVK)
	u.SetNamespace(namespace)
	u.SetName(ReportName)
	u.SetLabels(map[string]string{LabelManagedBy: managedBy})
	if content.Omitted > 0 {
		u.SetAnnotations(map[string]string{AnnotationOmitted: strconv.Itoa(content.Omitted)})
	}
	return a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership)
}

func decodeReport(u *unstructured.Unstructured) (*reportContent, error) {
	rc := &reportContent{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, rc); err != nil {
		return nil, err
	}
	if v, ok := u.GetAnnotations()[AnnotationOmitted]; ok {
		rc.Omitted, _ = strconv.Atoi(v)
	}
	return rc, nil
}

// notInstalled reports whether err says the PolicyReport API is not served.
func notInstalled(err error) bool {
	return meta.IsNoMatchError(err) || apierrors.IsNotFound(err)
}

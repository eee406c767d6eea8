package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// reportSync is what one sync of one report kind did.
type reportSync struct {
	// Served says whether the API server serves the kind.
	Served           bool
	Written, Deleted int
	Unchanged        int
}

// storedReports lists scaleguard's reports of one kind by namespace.
// served is false, with no error, when the API server does not serve the
// kind: discovery is asked at every scan, so installing the CRD later
// needs no restart.
func (a *Auditor) storedReports(ctx context.Context, api reportAPI) (existing map[string]*unstructured.Unstructured, served bool, err error) {
	if _, err := a.client.RESTMapper().RESTMapping(api.gvk.GroupKind(), api.gvk.Version); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("looking up the %s API: %w", api, err)
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(api.listGVK())
	if err := a.client.List(ctx, list, client.MatchingLabels{LabelManagedBy: managedBy}); err != nil {
		if notInstalled(err) {
			// Removed since the RESTMapper last looked.
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("listing %ss: %w", api, err)
	}
	existing = map[string]*unstructured.Unstructured{}
	for i := range list.Items {
		if u := &list.Items[i]; u.GetName() == ReportName {
			existing[u.GetNamespace()] = u
		}
	}
	return existing, true, nil
}

// carryStoredTimestamps gives each result of want the time it was first
// seen by any report kind stored, so that a kind turned on later says
// since when a violation has stood just as the older one does.
func carryStoredTimestamps(api reportAPI, want map[string]*reportContent, existing map[string]*unstructured.Unstructured) {
	for ns, content := range want {
		if u := existing[ns]; u != nil {
			if old, _, err := api.content(u); err == nil {
				carryTimestamps(content, old)
			}
		}
	}
}

// syncReports makes scaleguard's stored reports of one kind say want: it
// writes the report of every namespace in want whose content changed, and
// deletes scaleguard's reports of that kind in every other namespace (all
// of them, for a nil want: the audit or this kind turned off).
func (a *Auditor) syncReports(ctx context.Context, api reportAPI, want map[string]*reportContent, existing map[string]*unstructured.Unstructured) (reportSync, error) {
	done := reportSync{Served: true}
	var errs []error
	for _, ns := range slices.Sorted(maps.Keys(want)) {
		content := want[ns]
		if u := existing[ns]; u != nil {
			old, current, err := api.content(u)
			if err == nil && current && reflect.DeepEqual(old, content) {
				done.Unchanged++
				continue
			}
		}
		if err := a.applyReport(ctx, api, ns, content); err != nil {
			errs = append(errs, fmt.Errorf("writing %s %s/%s: %w", api, ns, ReportName, err))
			continue
		}
		done.Written++
	}
	for _, ns := range slices.Sorted(maps.Keys(existing)) {
		if _, keep := want[ns]; keep {
			continue
		}
		if err := a.client.Delete(ctx, existing[ns]); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting %s %s/%s: %w", api, ns, ReportName, err))
			continue
		}
		done.Deleted++
	}
	return done, errors.Join(errs...)
}

// applyReport writes one report with server-side apply. The results list
// is atomic in both CRDs' schemas, so each apply replaces it whole.
func (a *Auditor) applyReport(ctx context.Context, api reportAPI, namespace string, content *reportContent) error {
	u, err := api.object(namespace, content)
	if err != nil {
		return err
	}
	return a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership)
}

// notInstalled reports whether err says a report API is not served.
func notInstalled(err error) bool {
	return meta.IsNoMatchError(err) || apierrors.IsNotFound(err)
}

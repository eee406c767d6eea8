package cluster

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// listPageSize is how many objects one page of an informer's first LIST
// holds (see listReduced).
const listPageSize = 500

// listReduced wraps an informer's LIST so that it is asked page by page
// and each page's objects are reduced, as transform reduces them, before
// the next page is asked for. It matters only against an API server that
// answers the first list as a plain LIST rather than a stream (watch-list):
// client-go would otherwise hold every full object of the resource at once
// (the reflector transforms them only once the whole list is in), and
// 10,000 Deployments beside 10,000 HPAs took scaleguard to 316 MiB, over a
// 256 MiB container limit (`make bench-rss`). With watch-list the
// informers never call it.
//
// Each page is a consistent read (no resourceVersion "0", which the API
// server would answer whole from its cache whatever the limit); the list
// returned carries the last page's resourceVersion, from which the
// informer watches, and no continue token.
func listReduced(resource string, list func(context.Context, metav1.ListOptions) (runtime.Object, error)) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
	return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		o.Limit, o.Continue = listPageSize, ""
		if o.ResourceVersion == "0" {
			o.ResourceVersion, o.ResourceVersionMatch = "", ""
		}
		var kept []runtime.Object
		for {
			page, err := list(ctx, o)
			if err != nil {
				return nil, err
			}
			items, err := reducedItems(resource, page)
			if err != nil {
				return nil, err
			}
			for _, t := range items {
				r, err := typedAgain(resource, t)
				if err != nil {
					return nil, err
				}
				kept = append(kept, r)
			}
			m, err := meta.ListAccessor(page)
			if err != nil {
				return nil, fmt.Errorf("listing %s: %w", resource, err)
			}
			if m.GetContinue() == "" {
				if err := meta.SetList(page, kept); err != nil {
					return nil, fmt.Errorf("listing %s: %w", resource, err)
				}
				return page, nil
			}
			// The next page continues this one's snapshot.
			o.Continue, o.ResourceVersion, o.ResourceVersionMatch = m.GetContinue(), "", ""
		}
	}
}

// reducedItems are the items of list as transform keeps them.
func reducedItems(resource string, list runtime.Object) ([]any, error) {
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", resource, err)
	}
	out := make([]any, 0, len(items))
	for _, item := range items {
		t, err := transform(item)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// typedAgain is what transform kept of an object as a typed object again,
// holding only what the entry keeps; the informer's transform turns it back
// into the same entry.
func typedAgain(resource string, kept any) (runtime.Object, error) {
	e, ok := kept.(*entry)
	if !ok {
		r, ok := kept.(runtime.Object)
		if !ok {
			return nil, fmt.Errorf("listing %s: kept as %T", resource, kept)
		}
		return r, nil
	}
	switch resource {
	case deployments:
		return e.deployment()
	case statefulSets:
		return e.statefulSet()
	}
	return e.horizontalPodAutoscaler()
}

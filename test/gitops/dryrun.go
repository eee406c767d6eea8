package gitops

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/util/proto"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// DryRunner is the request Argo CD's Server-Side Diff makes for each
// resource (diff.ServerSideDryRunner): a server-side apply of the desired
// object under the controller's field manager with dryRun=All, without
// forcing conflicts, answered with the predicted live object. Argo CD sends
// it through kubectl's apply code; this sends the same PATCH with the
// dynamic client.
type DryRunner struct {
	Config *rest.Config
}

// Run implements diff.ServerSideDryRunner.
func (d DryRunner) Run(ctx context.Context, obj *unstructured.Unstructured, manager string) (string, error) {
	dyn, err := dynamic.NewForConfig(d.Config)
	if err != nil {
		return "", err
	}
	httpClient, err := rest.HTTPClientFor(d.Config)
	if err != nil {
		return "", err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(d.Config, httpClient)
	if err != nil {
		return "", err
	}
	gvk := obj.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return "", err
	}
	res, err := dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.ApplyPatchType, data,
		metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: manager})
	if err != nil {
		return "", fmt.Errorf("server-side apply dry run of %s %s/%s as %q: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), manager, err)
	}
	out, err := res.MarshalJSON()
	return string(out), err
}

// GVKParser reads the API server's OpenAPI v2 document into the typed
// schema Argo CD's Structured-Merge and Server-Side diffs need, as Argo CD's
// cluster cache does.
func GVKParser(cfg *rest.Config) (*managedfields.GvkParser, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	doc, err := dc.OpenAPISchema()
	if err != nil {
		return nil, fmt.Errorf("reading the API server's OpenAPI v2 document: %w", err)
	}
	models, err := proto.NewOpenAPIData(doc)
	if err != nil {
		return nil, err
	}
	return managedfields.NewGVKParser(models, false)
}

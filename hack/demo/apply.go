package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/test/testbed"
)

// outcome is what the API server did with one object.
type outcome int

const (
	admitted outcome = iota // stored as written
	warned                  // stored as written, with warnings
	patched                 // stored with scaleguard's changes
	refused                 // not stored
)

// result is one object of a manifest file and what became of it.
type result struct {
	// File is the manifest's path relative to the repository root.
	File                  string
	Kind, Namespace, Name string
	Outcome               outcome
	// Message is the API server's refusal as kubectl printed it.
	Message string
	// Warnings are kubectl's "Warning:" lines, without the prefix.
	Warnings []string
	// Diff is a unified diff of the object's spec from what the API server
	// stores without scaleguard to what it stored.
	Diff string
}

// document is one object of a manifest file, as written.
type document struct {
	file string
	raw  []byte
	obj  *unstructured.Unstructured
}

// exampleFiles lists the manifests in dir (relative to root), sorted, as
// paths relative to root.
func exampleFiles(root, dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, dir))
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .yaml, .yml or .json files in %s", dir)
	}
	slices.Sort(files)
	return files, nil
}

// readDocuments splits each file into its objects, in order.
func readDocuments(root string, files []string) ([]document, error) {
	var docs []document
	for _, file := range files {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			return nil, err
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for n := 1; ; n++ {
			raw, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s#%d: %w", file, n, err)
			}
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(raw, &obj.Object); err != nil {
				return nil, fmt.Errorf("%s#%d: %w", file, n, err)
			}
			if len(obj.Object) == 0 {
				continue // only comments
			}
			if obj.GetKind() == "" || obj.GetAPIVersion() == "" || obj.GetName() == "" {
				return nil, fmt.Errorf("%s#%d: want apiVersion, kind and metadata.name", file, n)
			}
			docs = append(docs, document{file: file, raw: raw, obj: obj})
		}
	}
	return docs, nil
}

// namespacesOf lists the namespaces the documents name, sorted.
func namespacesOf(docs []document) []string {
	var names []string
	for _, d := range docs {
		if ns := d.obj.GetNamespace(); ns != "" && !slices.Contains(names, ns) {
			names = append(names, ns)
		}
	}
	slices.Sort(names)
	return names
}

// applyExamples creates the namespaces the files use, applies every object
// with the real kubectl and finds out what the API server did with it.
func applyExamples(ctx context.Context, bed *testbed.Testbed, root string, files []string) ([]result, error) {
	docs, err := readDocuments(root, files)
	if err != nil {
		return nil, err
	}
	if err := createNamespaces(ctx, bed.Client, namespacesOf(docs)); err != nil {
		return nil, err
	}
	results := make([]result, 0, len(docs))
	for _, d := range docs {
		r, err := applyDocument(ctx, bed, d)
		if err != nil {
			return results, fmt.Errorf("%s: %s %s: %w", d.file, d.obj.GetKind(), d.obj.GetName(), err)
		}
		results = append(results, r)
	}
	return results, nil
}

// applyDocument runs `kubectl apply -f -` on one object as written. One
// object per run, because kubectl prints the warnings of every object of a
// file as they come and its errors only at the end, so a file's output
// cannot always be split back into objects.
func applyDocument(ctx context.Context, bed *testbed.Testbed, d document) (result, error) {
	r := result{File: d.file, Kind: d.obj.GetKind(), Namespace: d.obj.GetNamespace(), Name: d.obj.GetName()}
	namespaced, err := bed.Client.IsObjectNamespaced(d.obj)
	if err != nil {
		return r, err
	}
	if namespaced && r.Namespace == "" {
		r.Namespace = metav1.NamespaceDefault
	}

	res, applyErr := bed.KubectlStdin(ctx, string(d.raw), "apply", "-f", "-")
	var errLines []string
	for line := range strings.Lines(res.Stderr) {
		line = strings.TrimRight(line, "\n")
		if w, ok := strings.CutPrefix(line, "Warning: "); ok {
			r.Warnings = append(r.Warnings, w)
		} else if strings.TrimSpace(line) != "" {
			errLines = append(errLines, line)
		}
	}
	if applyErr != nil {
		msg := strings.Join(errLines, "\n")
		if !strings.Contains(msg, "Error from server") {
			return r, applyErr // kubectl itself failed: not a verdict
		}
		r.Outcome = refused
		r.Message = strings.Replace(msg, `error when creating "STDIN": `, "", 1)
		return r, nil
	}

	stored := &unstructured.Unstructured{}
	stored.SetGroupVersionKind(d.obj.GroupVersionKind())
	if err := bed.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.Name}, stored); err != nil {
		return r, fmt.Errorf("reading back the stored object: %w", err)
	}
	// scaleguard's webhooks match namespaced resources only.
	if namespaced {
		base, err := withoutScaleguard(ctx, bed.Client, d.obj)
		if err != nil {
			return r, err
		}
		from, to := specYAML(base), specYAML(stored)
		if from != to {
			r.Outcome = patched
			r.Diff = unifiedDiff("as written, with the API server's defaults", "as stored, after scaleguard", from, to, 3)
			return r, nil
		}
	}
	if len(r.Warnings) > 0 {
		r.Outcome = warned
	}
	return r, nil
}

// baselineNamespace is never intercepted by scaleguard: config/webhook's
// namespaceSelector leaves kube-system out.
const baselineNamespace = metav1.NamespaceSystem

// withoutScaleguard returns obj as the API server would store it if no
// webhook changed it: a server-side dry-run create in a namespace scaleguard
// does not intercept. Comparing with it, rather than with the file, keeps
// the API server's own defaults (Deployment strategy, minReplicas 1, …)
// out of what is called a patch.
func withoutScaleguard(ctx context.Context, c client.Client, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	base := obj.DeepCopy()
	base.SetNamespace(baselineNamespace)
	if err := c.Create(ctx, base, client.DryRunAll); err != nil {
		return nil, fmt.Errorf("dry-run create in %s (the object without scaleguard): %w", baselineNamespace, err)
	}
	return base, nil
}

// specYAML renders what an object asks for: everything but its identity,
// metadata and status (spec for most kinds, data for a ConfigMap).
func specYAML(obj *unstructured.Unstructured) string {
	content := map[string]any{}
	for k, v := range obj.Object {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
		default:
			content[k] = v
		}
	}
	b, err := yaml.Marshal(content)
	if err != nil {
		return fmt.Sprintf("# cannot render: %v\n", err)
	}
	return string(b)
}

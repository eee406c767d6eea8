// Package gitops shows what GitOps tools report for objects scaleguard's
// mutating webhook patched, through the test bed's real kube-apiserver with
// `scaleguard serve` as the webhook:
//
//   - Argo CD's default comparison ("legacy" diff: three-way with the
//     last-applied-configuration annotation, else two-way) and its
//     Structured-Merge and Server-Side diffs, computed by Argo CD's own diff
//     package, github.com/argoproj/gitops-engine/pkg/diff, with Argo CD's
//     ignoreDifferences jqPathExpressions applied as Argo CD applies them;
//   - the server-side dry runs of `kubectl diff` (and of Flux, which
//     detects drift with a server-side apply dry run), with the real kubectl;
//   - the manifest `scaleguard check --fix` writes, which leaves the webhook
//     nothing to patch.
//
// It is a module of its own so that the scaleguard module never depends on
// gitops-engine, nor on the k8s.io/kubernetes packages its scheme imports;
// the kubernetes version comes from hack/tools/go.mod through
// hack/tools/update-k8s-replaces.sh.
package gitops

// Package oracle checks scaleguard's reproduction of the HPA controller's
// arithmetic (policies/scaling, through the replay `scaleguard simulate`
// runs) against the real controller of k8s.io/kubernetes
// (pkg/controller/podautoscaler.NewHorizontalController), sync by sync.
//
// It is a module of its own so that the scaleguard module never depends on
// k8s.io/kubernetes; the kubernetes version comes from hack/tools/go.mod
// through hack/tools/update-k8s-replaces.sh.
//
// The real controller runs over fake clients (scale, HPAs, pods, resource
// metrics) inside a testing/synctest bubble, so its 15 s syncs take no real
// time and every run is deterministic. Random HPAs and metric traces
// (generate.go) go through both sides; any disagreement is shrunk to a small
// HPA YAML and trace CSV that `scaleguard simulate` replays (reproducer.go).
// tables_test.go runs the controller's own table tests against
// policies/scaling, read from the module cache with go/ast.
package oracle

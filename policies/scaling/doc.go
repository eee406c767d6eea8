// Package scaling reproduces the scaling arithmetic of the Kubernetes
// HorizontalPodAutoscaler controller (k8s.io/kubernetes
// pkg/controller/podautoscaler: horizontal.go and replica_calculator.go) and
// builds analyses on top of it: how fast an HPA can reach maxReplicas or
// minReplicas, and which specs can never get there.
//
// The arithmetic is reproduced exactly, float64 included, because integer
// shortcuts give different answers: a Percent scale-down of 90 % from 10
// replicas is trunc(10*(1-0.9)) = trunc(0.9999999999999998) = 0, not 1, and a
// Percent scale-up of 12 % from 25 replicas is ceil(28.000000000000004) = 29,
// not 28.
//
// One Controller holds the memory the real controller keeps for one HPA
// (recommendations and scale events) and is stepped once per sync. The
// analyses (FastestScaleUp, FastestScaleDown) drive the same Controller, so a
// trace replay and a policy verdict cannot disagree.
//
// Simplifications, all deliberate:
//   - Ready pods are taken to equal current replicas: the replica calculator's
//     handling of unready, missing and ignored pods is not modelled.
//   - Float-to-int32 conversions the controller leaves to the platform
//     (out-of-range values) saturate at math.MinInt32/math.MaxInt32 here.
//   - Specs are defaulted the way the API server would (behavior fields,
//     minReplicas), so raw manifests and admitted objects give the same answer.
package scaling

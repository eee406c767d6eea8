// Package audit judges the objects already stored in the cluster with the
// same rules the webhook applies to new writes, and publishes what it finds:
// Prometheus gauges of current violations and one report per namespace, as
// a wgpolicyk8s.io PolicyReport, an openreports.io Report or both, as the
// settings ask and the API server serves them.
//
// Scan is the pure part: objects, what is known of the cluster and the
// settings in, findings out. Auditor is the part that runs in a
// controller-runtime Manager: on the elected leader only, every
// audit.intervalSeconds, it reads the stored objects namespace by namespace
// from its Source (in `scaleguard serve`, the cluster view's informers),
// scans them and publishes the result.
//
// A stored object is judged as the webhook would judge it if it were
// written now, with three differences that make the audit a report of the
// standard rather than of admission:
//
//   - HPAs are final (the validating webhook's view): a mutate rule the
//     stored HPA still breaks is a violation with action "mutate", meaning
//     the mutating webhook would change it on its next write;
//   - mode: warn is ignored: the audit reports what enforce mode would
//     refuse, which is what a roll-out in warn mode needs to see;
//   - allowExistingViolations does not apply: there is no update, and an old
//     violation is exactly what the audit is for.
//
// Exempt namespaces are not scanned, and rules an object is exempt from by
// annotation report nothing on it.
package audit

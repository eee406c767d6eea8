// Package explain makes the HPA controller's arithmetic visible to the people
// who write HPAs: the fastest paths between an HPA's bounds as step tables
// (which policy allowed how much, and why), the replay of a metric trace
// through the same scaling.Controller the webhook's rules use, and charts of
// the resulting replica trajectories for a terminal, as SVG or as PNG.
//
// Nothing here decides anything: the numbers come from policies/scaling and
// the findings from policies, so what `scaleguard explain` and
// `scaleguard simulate` show cannot disagree with what the webhook does.
package explain

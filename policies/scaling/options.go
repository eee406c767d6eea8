package scaling

import "time"

// Controller defaults, as kube-controller-manager ships them.
const (
	// DefaultSyncPeriod is --horizontal-pod-autoscaler-sync-period.
	DefaultSyncPeriod = 15 * time.Second
	// DefaultDownscaleStabilizationWindow is
	// --horizontal-pod-autoscaler-downscale-stabilization; it applies when
	// behavior.scaleDown.stabilizationWindowSeconds is unset and on the legacy
	// (no behavior) path.
	DefaultDownscaleStabilizationWindow = 5 * time.Minute
	// DefaultTolerance is --horizontal-pod-autoscaler-tolerance.
	DefaultTolerance = 0.1
	// DefaultHorizon bounds the simulated time of the path analyses so they
	// always terminate; an HPA that needs longer is reported as too slow.
	DefaultHorizon = 24 * time.Hour

	// maxHorizon keeps time arithmetic far from time.Duration overflow.
	maxHorizon = 366 * 24 * time.Hour
	// maxAnalysisSteps bounds the work of one path analysis whatever the
	// options (a tiny sync period with a long horizon would otherwise loop
	// for hours).
	maxAnalysisSteps = 1 << 20
)

// Options are the kube-controller-manager settings the arithmetic depends on,
// plus the bound of the analyses. The zero value means the controller
// defaults; pointers distinguish "unset" from a deliberate zero.
type Options struct {
	// SyncPeriod is how often the controller reconciles an HPA; zero or
	// negative means DefaultSyncPeriod.
	SyncPeriod time.Duration
	// DownscaleStabilizationWindow overrides
	// DefaultDownscaleStabilizationWindow when non-nil.
	DownscaleStabilizationWindow *time.Duration
	// Tolerance overrides DefaultTolerance (the cluster-wide tolerance) when
	// non-nil. Per-direction behavior.*.tolerance still wins over it.
	Tolerance *float64
	// Horizon bounds the simulated time of FastestScaleUp/FastestScaleDown;
	// zero or negative means DefaultHorizon, values above a year are capped.
	Horizon time.Duration
	// Fields are where the fields the analyses' reasons name
	// (StuckReason.Field) are written; the zero value is the HPA's own.
	Fields Fields
}

// resolvedOptions are Options with every default applied.
type resolvedOptions struct {
	syncPeriod             time.Duration
	downscaleStabilization time.Duration
	tolerance              float64
	horizon                time.Duration
}

func (o Options) resolve() resolvedOptions {
	r := resolvedOptions{
		syncPeriod:             o.SyncPeriod,
		downscaleStabilization: DefaultDownscaleStabilizationWindow,
		tolerance:              DefaultTolerance,
		horizon:                o.Horizon,
	}
	if r.syncPeriod <= 0 {
		r.syncPeriod = DefaultSyncPeriod
	}
	if o.DownscaleStabilizationWindow != nil {
		r.downscaleStabilization = *o.DownscaleStabilizationWindow
	}
	if o.Tolerance != nil {
		r.tolerance = *o.Tolerance
	}
	if r.horizon <= 0 {
		r.horizon = DefaultHorizon
	}
	r.horizon = min(r.horizon, maxHorizon)
	return r
}

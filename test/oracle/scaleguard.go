package oracle

import (
	"bytes"
	"fmt"

	"github.com/scaleguard/scaleguard/explain"
	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// ReplayScaleguard replays c the way `scaleguard simulate -f hpa.yaml
// --trace trace.csv <c.Flags()>` does with the built-in settings: the same
// manifest loading (explain.LoadHPAs), the same trace parser and the same
// explain.Replay over policies/scaling. Going through the YAML and CSV a
// reproducer prints keeps the reproducer and the comparison the same thing.
func ReplayScaleguard(c Case) (explain.Run, error) {
	data, err := c.YAML()
	if err != nil {
		return explain.Run{}, err
	}
	docs, err := manifests.Parse("hpa.yaml", data)
	if err != nil {
		return explain.Run{}, err
	}
	settings := policies.Defaults()
	hpas, err := explain.LoadHPAs(docs, &settings)
	if err != nil {
		return explain.Run{}, err
	}
	if len(hpas) != 1 {
		return explain.Run{}, fmt.Errorf("%d HPAs in the case's YAML", len(hpas))
	}
	trace, err := explain.ParseTrace("trace.csv", bytes.NewReader(c.Trace.CSV()))
	if err != nil {
		return explain.Run{}, err
	}
	opts := explain.ReplayOptions{
		Scaling:         explain.ScalingOptions(&settings),
		InitialReplicas: c.InitialReplicas,
		MeasuredAt:      c.MeasuredAt,
		OpenLoop:        c.OpenLoop,
	}
	return explain.Replay("scaleguard", hpas[0].Effective.Spec.DeepCopy(), trace, opts)
}

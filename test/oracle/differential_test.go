package oracle

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/klog/v2"
)

var (
	flagCases = flag.Int("oracle.n", 40, "random HPAs and traces to compare (make test: 40; make oracle N=…)")
	flagSeed  = flag.Uint64("oracle.seed", 1, "seed of the random cases; the same seed gives the same cases")
	flagSyncs = flag.Int("oracle.syncs", 120, "syncs per trace")
	flagOut   = flag.String("oracle.out", "", "folder to write each disagreement's hpa.yaml and trace.csv into (default: printed only)")
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The controller reports failed syncs through klog; the comparison
	// reads them from the HPA's conditions instead.
	klog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

// TestDifferential replays random HPAs and traces through the real HPA
// controller and through scaleguard's replay, and fails with a shrunk
// reproducer at the first disagreement of any case.
func TestDifferential(t *testing.T) {
	var mu sync.Mutex
	compared, syncs, disagreements := 0, 0, 0
	seen := map[string]int{}
	t.Run("cases", func(t *testing.T) {
		for i := range *flagCases {
			c := RandomCase(*flagSeed, i, *flagSyncs)
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				check := func(c Case) (*Disagreement, error) { return compareCase(t, c) }
				d, err := check(c)
				if err != nil {
					t.Fatalf("%s: %v", c.Name, err)
				}
				mu.Lock()
				compared, syncs = compared+1, syncs+c.Trace.Syncs()
				if d != nil {
					disagreements++
				}
				for _, what := range exercised(c) {
					seen[what]++
				}
				mu.Unlock()
				if d == nil {
					return
				}
				small, sd := Shrink(c, *d, check, 400)
				text, err := Reproducer(small, sd)
				if err != nil {
					t.Fatal(err)
				}
				if *flagOut != "" {
					dir := filepath.Join(*flagOut, fmt.Sprintf("seed-%d-case-%d", *flagSeed, i))
					if err := WriteReproducer(dir, small); err != nil {
						t.Error(err)
					}
					text += "written to " + dir + "\n"
				}
				t.Errorf("the real controller and scaleguard disagree\n%s", text)
			})
		}
	})
	t.Logf("oracle: seed %d: %d traces × %d syncs compared (%d syncs), %d disagreements",
		*flagSeed, compared, *flagSyncs, syncs, disagreements)
	t.Logf("syncs per outcome: %v", seen)
	// A comparison that never reaches a branch proves nothing about it:
	// fail when the random cases stop covering one.
	for _, what := range coverage {
		if seen[what] == 0 && compared >= 40 {
			t.Errorf("no sync of the %d cases reached %s; the generator needs to reach it again", compared, what)
		}
	}
}

// coverage lists the outcomes every run of 40 cases or more must reach.
var coverage = []string{
	"ScalingLimited/DesiredWithinRange", "ScalingLimited/ScaleUpLimit", "ScalingLimited/ScaleDownLimit",
	"ScalingLimited/TooManyReplicas", "ScalingLimited/TooFewReplicas",
	"AbleToScale/ScaleUpStabilized", "AbleToScale/ScaleDownStabilized", "AbleToScale/ReadyForNewScale",
	"AbleToScale/SucceededRescale", "jump/AboveMaxReplicas", "jump/BelowMinReplicas",
	"path/legacy", "path/behavior", "tolerance/per-direction", "selectPolicy/Min", "selectPolicy/Disabled",
}

// outcomes of the last comparison of each case, by case name, for exercised.
var outcomes sync.Map

// exercised names what the case's syncs reached, on the real controller's
// side, as coverage lists it.
func exercised(c Case) []string {
	v, _ := outcomes.Load(c.Name)
	up, _ := v.([]UpstreamSync)
	var out []string
	for _, s := range up {
		if s.MetricLogged {
			out = append(out, "ScalingLimited/"+s.ScalingLimited)
			if s.AbleToScale != reasonSucceededRescale {
				out = append(out, "AbleToScale/"+s.AbleToScale)
			}
		}
		if s.Replicas != s.Current {
			out = append(out, "AbleToScale/"+reasonSucceededRescale)
		}
		if !s.MetricLogged && s.Current > c.HPA.Spec.MaxReplicas {
			out = append(out, "jump/AboveMaxReplicas")
		}
		if !s.MetricLogged && s.Current < c.minReplicas() {
			out = append(out, "jump/BelowMinReplicas")
		}
	}
	b := c.HPA.Spec.Behavior
	if b == nil {
		return append(out, "path/legacy")
	}
	out = append(out, "path/behavior")
	for _, r := range []*autoscalingv2.HPAScalingRules{b.ScaleUp, b.ScaleDown} {
		if r == nil {
			continue
		}
		if r.Tolerance != nil {
			out = append(out, "tolerance/per-direction")
		}
		if r.SelectPolicy != nil {
			out = append(out, "selectPolicy/"+string(*r.SelectPolicy))
		}
	}
	return out
}

// compareCase replays c through both sides and compares them.
func compareCase(t *testing.T, c Case) (*Disagreement, error) {
	run, err := ReplayScaleguard(c)
	if err != nil {
		return nil, fmt.Errorf("scaleguard: %w", err)
	}
	up, err := replayUpstream(t, c)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	outcomes.Store(c.Name, up)
	return Compare(up, run), nil
}

package oracle

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// SyncPeriodSeconds is the controller's --horizontal-pod-autoscaler-sync-period
// on both sides.
const SyncPeriodSeconds = 15

// Case is one HPA and one metric trace, with the replay settings
// `scaleguard simulate` takes as flags.
type Case struct {
	// Name says where the case came from: the seed and index of a random
	// case, or a shrunk one.
	Name string
	// HPA is the object as written; the API server's defaults are applied
	// by each side (upstream's own defaulting for the real controller,
	// scaleguard's for simulate), so they are compared too.
	HPA   *autoscalingv2.HorizontalPodAutoscaler
	Trace Trace
	// InitialReplicas is the target's count before the first sync.
	InitialReplicas int32
	// MeasuredAt is --measured-at: the count at which the trace's
	// utilization was measured (0: minReplicas).
	MeasuredAt int32
	// OpenLoop is --open-loop.
	OpenLoop bool
}

// Trace is a utilization trace: one column per Resource metric, values in
// tenths of a percent so that every value is exact in decimal, in float64
// and in the milli-units the metrics API serves.
type Trace struct {
	Columns []string
	Samples []Sample
}

// Sample is one row: seconds from the start, one value per column in
// tenths of a percent.
type Sample struct {
	Seconds int
	Tenths  []int64
}

// Syncs is how many syncs simulate runs over the trace: one at the first
// sample and one every sync period up to the last.
func (t Trace) Syncs() int {
	return (t.Samples[len(t.Samples)-1].Seconds-t.Samples[0].Seconds)/SyncPeriodSeconds + 1
}

// At is the sample in force at a time: the last one not after it (samples
// are held, never interpolated).
func (t Trace) At(seconds int) Sample {
	s := t.Samples[0]
	for _, x := range t.Samples {
		if x.Seconds > seconds {
			break
		}
		s = x
	}
	return s
}

// CSV is the trace as `scaleguard simulate --trace` reads it.
func (t Trace) CSV() []byte {
	var b bytes.Buffer
	b.WriteString("seconds," + strings.Join(t.Columns, ",") + "\n")
	for _, s := range t.Samples {
		b.WriteString(strconv.Itoa(s.Seconds))
		for _, v := range s.Tenths {
			fmt.Fprintf(&b, ",%d.%d", v/10, v%10)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// YAML is the HPA as a manifest `scaleguard simulate -f` reads. The
// exemption annotation keeps scaleguard's mutations (behavior-defaults,
// min-replicas, memory-target) off it, so simulate replays it as written,
// with only the API server's defaults: the object the real controller gets.
func (c Case) YAML() ([]byte, error) {
	hpa := c.HPA.DeepCopy()
	if hpa.Annotations == nil {
		hpa.Annotations = map[string]string{}
	}
	hpa.Annotations[policies.AnnotationExempt] = "*"
	hpa.Annotations[policies.AnnotationExemptReason] = "replayed as written by the oracle (test/oracle)"
	return manifests.HPAYAML(hpa)
}

// Flags are the simulate flags besides -f and --trace.
func (c Case) Flags() []string {
	flags := []string{"--initial-replicas", strconv.Itoa(int(c.InitialReplicas))}
	if c.MeasuredAt > 0 {
		flags = append(flags, "--measured-at", strconv.Itoa(int(c.MeasuredAt)))
	}
	if c.OpenLoop {
		flags = append(flags, "--open-loop")
	}
	return flags
}

// minReplicas is the HPA's minReplicas after the API server's default.
func (c Case) minReplicas() int32 {
	if c.HPA.Spec.MinReplicas == nil {
		return 1
	}
	return *c.HPA.Spec.MinReplicas
}

// measuredAt is MeasuredAt with simulate's default applied.
func (c Case) measuredAt() int32 {
	if c.MeasuredAt > 0 {
		return c.MeasuredAt
	}
	return c.minReplicas()
}

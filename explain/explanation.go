package explain

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/scaling"
)

// Explanation is how one HPA moves between its bounds and what the rules
// say about it.
type Explanation struct {
	HPA      HPA
	Settings *policies.Settings
	Up, Down scaling.Path
	// UpSteps and DownSteps explain each rescale of Up and Down.
	UpSteps, DownSteps []Step
}

// Explain computes both fastest paths of h's effective spec with the
// controller settings the behavior-consistency rule assumes.
func Explain(h HPA, s *policies.Settings) Explanation {
	spec := &h.Effective.Spec
	opts := ScalingOptions(s)
	e := Explanation{HPA: h, Settings: s, Up: scaling.FastestScaleUp(spec, opts), Down: scaling.FastestScaleDown(spec, opts)}
	e.UpSteps, e.DownSteps = Steps(spec, e.Up), Steps(spec, e.Down)
	return e
}

// Chart draws both paths from the moment demand changes.
func (e Explanation) Chart() Chart {
	c := Chart{
		Title:       e.HPA.Name() + ": fastest paths between minReplicas and maxReplicas",
		XLabel:      "time since demand changed",
		MinReplicas: e.Up.From, MaxReplicas: e.Up.To,
	}
	for _, p := range []scaling.Path{e.Up, e.Down} {
		s := Series{Name: fmt.Sprintf("scale %s %d to %d", direction(p.Direction), p.From, p.To)}
		for _, pt := range p.Points {
			s.Points = append(s.Points, Point{At: pt.After, Replicas: pt.Replicas})
			c.End = max(c.End, pt.After)
		}
		c.Series = append(c.Series, s)
	}
	// Leave room after the last step so that it is visible as a step.
	c.End += max(c.End/10, e.syncPeriod())
	return c
}

func (e Explanation) syncPeriod() time.Duration {
	if p := ScalingOptions(e.Settings).SyncPeriod; p > 0 {
		return p
	}
	return scaling.DefaultSyncPeriod
}

// downscaleWindow is the controller's default scale-down window, as the
// settings assume it.
func (e Explanation) downscaleWindow() time.Duration {
	return time.Duration(e.Settings.Rules.BehaviorConsistency.DownscaleStabilizationSeconds) * time.Second
}

// pad aligns s in a column of width runes.
func pad(s string, width int, right bool) string {
	fill := strings.Repeat(" ", max(width-utf8.RuneCountInString(s), 0))
	if right {
		return fill + s
	}
	return s + fill
}

func direction(d scaling.Direction) string {
	if d == scaling.ScaleDown {
		return "down"
	}
	return "up"
}

// WriteText prints the effective HPA, both paths as step tables, the chart
// (chartWidth columns; 0 leaves it out) and the findings.
func (e Explanation) WriteText(w io.Writer, chartWidth int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "HorizontalPodAutoscaler %s (%s)\n\n", e.HPA.Name(), e.HPA.Source)
	y, err := e.HPA.EffectiveYAML()
	if err != nil {
		return err
	}
	b.WriteString("Effective HPA, as the webhook would store it (API server defaults and scaleguard's mutations applied):\n\n")
	for _, line := range strings.Split(strings.TrimRight(string(y), "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
	c := e.Settings.Rules.BehaviorConsistency
	e.writePath(&b, e.Up, e.UpSteps, time.Duration(c.MaxScaleUpSeconds)*time.Second)
	e.writePath(&b, e.Down, e.DownSteps, time.Duration(c.MaxScaleDownSeconds)*time.Second)
	if chartWidth > 0 {
		b.WriteString("\n" + e.Chart().Text(chartWidth))
	}
	b.WriteString("\n")
	writeFindings(&b, "Findings on the HPA", e.HPA.Findings)
	if t := e.HPA.Target; t != nil {
		writeFindings(&b, fmt.Sprintf("Findings on its scale target %s %s (%s)", t.Doc.Kind, t.Doc.Name, t.Doc.Source), t.Findings)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// maxStepRows is the longest step table printed whole; longer ones show
// their start and end.
const maxStepRows = 12

// writePath prints one direction: the rules in force, one row per rescale
// with the arithmetic of every policy, and the total against the rule's
// limit.
func (e Explanation) writePath(b *strings.Builder, p scaling.Path, steps []Step, limit time.Duration) {
	fmt.Fprintf(b, "\nScale %s from %d to %d replicas", direction(p.Direction), p.From, p.To)
	switch {
	case p.Reached:
		fmt.Fprintf(b, ": %s in %d steps (behavior-consistency allows %s)\n", FormatDuration(p.Duration), len(steps), FormatDuration(limit))
	case len(p.Stuck) > 0:
		fmt.Fprintf(b, ": never gets there, %s\n", p.Stuck[0])
	}
	b.WriteString("  " + e.rulesLine(p.Direction) + "\n")
	if p.Direction == scaling.ScaleUp {
		fmt.Fprintf(b, "  From a steady %d, demand jumps far above target just before the sync at 0; the controller syncs every %s.\n", p.From, FormatDuration(e.syncPeriod()))
	} else {
		fmt.Fprintf(b, "  From a steady %d, demand drops to zero just before the sync at 0; the controller syncs every %s.\n", p.From, FormatDuration(e.syncPeriod()))
	}
	if len(steps) == 0 {
		return
	}
	if first := steps[0].At; first > 0 {
		fmt.Fprintf(b, "  The first step waits %s: the recommendation of %d made at the last sync before the change counts until it leaves the stabilization window.\n",
			FormatDuration(first), p.From)
	}
	rows := [][4]string{{"at", "replicas", "limited by", "what each policy allowed (* = picked by selectPolicy)"}}
	for i, s := range steps {
		if len(steps) > maxStepRows && i == maxStepRows/2 {
			rows = append(rows, [4]string{"⋮", "", "", fmt.Sprintf("(%d more steps)", len(steps)-maxStepRows+1)})
		}
		if len(steps) > maxStepRows && i >= maxStepRows/2 && i < len(steps)-maxStepRows/2+1 {
			continue
		}
		rows = append(rows, [4]string{FormatDuration(s.At), fmt.Sprintf("%d → %d", s.From, s.To), limitedBy(s), arithmetic(s)})
	}
	var width [3]int
	for _, r := range rows {
		for i := range width {
			width[i] = max(width[i], utf8.RuneCountInString(r[i]))
		}
	}
	for _, r := range rows {
		line := fmt.Sprintf("  %s  %s  %s  %s", pad(r[0], width[0], true), pad(r[1], width[1], true), pad(r[2], width[2], false), r[3])
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
}

// rulesLine states the behavior of one direction as the controller reads
// it.
func (e Explanation) rulesLine(dir scaling.Direction) string {
	b := scaling.DefaultedBehavior(e.HPA.Effective.Spec.Behavior)
	if b == nil {
		if dir == scaling.ScaleUp {
			return "No behavior (legacy path): at most max(2 × current, 4) per sync, no window."
		}
		return fmt.Sprintf("No behavior (legacy path): no rate limit, %s stabilization window.", FormatDuration(e.downscaleWindow()))
	}
	rules := b.ScaleUp
	window := time.Duration(0)
	if dir == scaling.ScaleDown {
		rules = b.ScaleDown
		window = e.downscaleWindow()
	}
	if rules.StabilizationWindowSeconds != nil {
		window = time.Duration(*rules.StabilizationWindowSeconds) * time.Second
	}
	var ps []string
	for _, p := range rules.Policies {
		ps = append(ps, policyName(p))
	}
	sel := autoscalingv2.MaxChangePolicySelect
	if rules.SelectPolicy != nil {
		sel = *rules.SelectPolicy
	}
	return fmt.Sprintf("Policies %s; selectPolicy %s; stabilization window %s.", strings.Join(ps, ", "), sel, FormatDuration(window))
}

func policyName(p autoscalingv2.HPAScalingPolicy) string {
	if p.Type == autoscalingv2.PercentScalingPolicy {
		return fmt.Sprintf("Percent %d%%/%ds", p.Value, p.PeriodSeconds)
	}
	return fmt.Sprintf("%s %d/%ds", p.Type, p.Value, p.PeriodSeconds)
}

// limitedBy names what bound a step.
func limitedBy(s Step) string {
	switch s.Reason {
	case scaling.ReasonScaleUpLimit, scaling.ReasonScaleDownLimit:
		if s.Legacy > 0 {
			return "legacy cap"
		}
		return "policy"
	case scaling.ReasonTooManyReplicas:
		return "maxReplicas"
	case scaling.ReasonTooFewReplicas:
		return "minReplicas"
	case scaling.ReasonDesiredWithinRange:
		return "nothing"
	}
	return string(s.Reason)
}

// arithmetic shows every policy's allowance, the chosen one starred.
func arithmetic(s Step) string {
	if s.Legacy > 0 {
		return fmt.Sprintf("max(2 × %d, 4) = %d", s.From, s.Legacy)
	}
	parts := make([]string, len(s.Allowances))
	for i, a := range s.Allowances {
		mark := "  "
		if a.Chosen {
			mark = "* "
		}
		parts[i] = mark + a.String()
	}
	return strings.Join(parts, "  ")
}

func writeFindings(b *strings.Builder, title string, fs policies.Findings) {
	if len(fs) == 0 {
		fmt.Fprintf(b, "%s: none.\n", title)
		return
	}
	fmt.Fprintf(b, "%s:\n", title)
	for _, f := range fs {
		fmt.Fprintf(b, "  %-6s [%s] %s: %s\n", f.Action, f.Rule, f.Path, f.Message)
	}
}

package apibench

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report writes the "Through the API server" section of docs/PERFORMANCE.md
// from the runs: results by kind key and configuration name, the verdicts of
// the mixed streams and the HPAs read back, by configuration name.
func report(f focus, configs []config, results map[string][]run, mixed map[string]*verdicts, hpas map[string]*hpaCheck, rounds, perRound, concurrency int) string {
	var b strings.Builder
	b.WriteString(f.heading() + "\n\n")
	if f.narrowed() {
		fmt.Fprintf(&b, "A focused run of the benchmark below (`make bench-apiserver-focus`, here SCALEGUARD_BENCH_CONFIGS=%q, SCALEGUARD_BENCH_KINDS=%q, SCALEGUARD_BENCH_ROUNDS=%d): "+
			"fewer configurations and more rounds, to settle one comparison more precisely than the full run can in its time. ",
			strings.Join(f.configs, ";"), strings.Join(f.kinds, ","), rounds)
	}
	fmt.Fprintf(&b, ""+
		"What admission adds to creates through a real kube-apiserver (the test bed of `make tools`, v1.37.2, etcd v3.6.16, all on this machine): "+
		"%d rounds of %d creates at concurrency %d per configuration and kind, forward then backward: "+
		"compliant Deployments (one container with requests); a mixed stream of Deployments, every 20th without requests (5 %%); "+
		"and compliant HPAs (the standard's shape, each scaling a Deployment created beforehand, untimed). "+
		"`make bench-apiserver` reproduces it (`test/apibench`). Each webhook server runs only during its own configuration and is called over loopback TLS "+
		"through the webhook configurations of the one generator (`webhook/configuration`) the chart and `config/webhook` use, "+
		"with or without the matchConditions generated from the settings (`policies/celpolicy`). "+
		"The test bed has metrics-server's APIService registered (as a local one), as a cluster whose HPAs scale does, so that scaleguard's metrics-available rule has nothing to warn about:\n\n",
		rounds, perRound, concurrency)
	for _, c := range configs {
		if c.doc == "" {
			continue
		}
		fmt.Fprintf(&b, "- %s: %s", c.name, c.doc)
		if c.rounds > 0 && c.rounds < rounds {
			fmt.Fprintf(&b, " In the first %d rounds only.", c.rounds)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nThe answers are checked, not only timed: a create of a compliant object that fails fails the benchmark; in the mixed stream every Deployment without requests must be refused with the configuration's own message " +
		"and every other one admitted; after each HPA run every HPA is read back and must be stored exactly as the standard's HPA is with nothing installed " +
		"(minReplicas 2, CPU 70 % and memory 80 %, the standard behavior), and a configuration that mutates is given 20 more created bare (a CPU target alone), untimed, which must come back the same.\n\n" +
		"Rates and latencies are means over the rounds; a configuration is compared with no policy round by round, and the table gives the median of those comparisons and their range.\n\n")
	fmt.Fprintf(&b, "Measured %s, %d CPUs, %s.\n", time.Now().Format("2006-01-02"), runtime.NumCPU(), runtime.Version())

	for _, k := range kinds {
		if !f.measures(k) {
			continue
		}
		fmt.Fprintf(&b, "\n### %s creates\n\n", k.name)
		ran := slices.DeleteFunc(slices.Clone(configs), func(c config) bool { return len(results[k.key+"/"+c.name]) == 0 })
		base := results[k.key+"/no policy"]
		b.WriteString(rateTable(k, ran, results, base))
		b.WriteString("\nCPU time per create, by process (user + system from `/proc/<pid>/stat`, 10 ms ticks, over each run; webhook is the configuration's own server):\n\n")
		b.WriteString(cpuTable(k, ran, results))
		b.WriteString("\n")
		switch k.key {
		case "dep":
			b.WriteString(deploymentGoal(ran, results, base))
		case "mix":
			b.WriteString(mixedVerdicts(ran, results, mixed, base))
		case "hpa":
			b.WriteString(hpaFigures(ran, results, hpas, base))
		}
	}
	return b.String()
}

var cpuColumns = []string{"kube-apiserver", "etcd", "webhook", "client"}

func totalCPU(m run) (all time.Duration) {
	for _, c := range cpuColumns {
		all += m.cpu[c]
	}
	return all
}

func rateTable(k kind, configs []config, results map[string][]run, base []run) string {
	var b strings.Builder
	b.WriteString("| configuration | creates/s | median | p99 | rate vs no policy | (range) | median added | (range) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, cfg := range configs {
		rs := results[k.key+"/"+cfg.name]
		m := mean(rs)
		ratio, added := againstBase(rs, base)
		fmt.Fprintf(&b, "| %s | %.0f | %.2f ms | %.2f ms | %.2f | %.2f–%.2f | %+.2f ms | %+.2f – %+.2f ms |\n", cfg.name, m.rate, ms(m.median), ms(m.p99),
			ratio.mid, ratio.lo, ratio.hi, added.mid, added.lo, added.hi)
	}
	return b.String()
}

func cpuTable(k kind, configs []config, results map[string][]run) string {
	var b strings.Builder
	b.WriteString("| configuration |")
	for _, c := range cpuColumns {
		fmt.Fprintf(&b, " %s |", c)
	}
	b.WriteString(" all | added |\n|---|")
	for range cpuColumns {
		b.WriteString("---:|")
	}
	b.WriteString("---:|---:|\n")
	base := mean(results[k.key+"/no policy"])
	for _, cfg := range configs {
		m := mean(results[k.key+"/"+cfg.name])
		fmt.Fprintf(&b, "| %s |", cfg.name)
		for _, c := range cpuColumns {
			fmt.Fprintf(&b, " %d µs |", m.cpu[c].Microseconds())
		}
		fmt.Fprintf(&b, " %d µs | %+d µs |\n", totalCPU(m).Microseconds(), (totalCPU(m) - totalCPU(base)).Microseconds())
	}
	return b.String()
}

// versus is a configuration's median ratio and median added latency
// against no policy, with their text.
type versus struct {
	ratio, added spread
	ran          bool
}

func against(results map[string][]run, key string, base []run) versus {
	rs := results[key]
	if len(rs) == 0 || len(base) == 0 {
		return versus{}
	}
	r, a := againstBase(rs, base)
	return versus{ratio: r, added: a, ran: true}
}

func (v versus) String() string {
	if !v.ran {
		return "(not run)"
	}
	return fmt.Sprintf("%.2f of the rate, %+.2f ms", v.ratio.mid, v.added.mid)
}

// celPolicies says what the configurations that are scaleguard's exported
// CEL policies keep of the rate of kind key.
func celPolicies(configs []config, results map[string][]run, key string, base []run) string {
	var b strings.Builder
	for _, cfg := range configs {
		if cfg.celPolicies {
			fmt.Fprintf(&b, " %s, with no webhook, keeps %s.", cfg.name, against(results, key+"/"+cfg.name, base))
		}
	}
	return b.String()
}

// deploymentGoal is issue 11's goal for compliant Deployment creates, and
// what scaleguard's cluster view costs when no create reaches the webhook.
func deploymentGoal(configs []config, results map[string][]run, base []run) string {
	var b strings.Builder
	sg := against(results, "dep/scaleguard", base)
	vap := against(results, "dep/ValidatingAdmissionPolicy", base)
	every := against(results, "dep/scaleguard, every write sent", base)
	floor := against(results, "dep/webhook floor", base)
	met := sg.ran && sg.ratio.mid >= 0.90 && sg.added.mid <= 0.5
	vapMisses := vap.ratio.mid < 0.90 || vap.added.mid > 0.5
	verdict := metOrNot(met)
	switch {
	case met:
	case vap.ran && vapMisses && sg.ratio.mid >= vap.ratio.mid:
		verdict = fmt.Sprintf("met against the ValidatingAdmissionPolicy, which itself keeps %s in this run (not met against 0.90 and 0.5 ms)", vap)
	case vap.ran && vapMisses:
		verdict = fmt.Sprintf("not met, not even against the ValidatingAdmissionPolicy, which keeps %s in this run", vap)
	}
	fmt.Fprintf(&b, "Goal (issue 11: compliant Deployment creates with scaleguard installed ≥ 0.90 of the no-policy rate in the same round and ≤ 0.5 ms added to the median, "+
		"or, where the ValidatingAdmissionPolicy itself stays below that, at least its ratio): %s — %s. "+
		"The ValidatingAdmissionPolicy keeps %s; scaleguard with every write sent %s, as before its matchConditions; the floor webhook %s: what the API server and a webhook process spend on calls that judge nothing.",
		sg, verdict, vap, every, floor)
	b.WriteString(celPolicies(configs, results, "dep", base))
	if kv := against(results, "dep/Kyverno ValidatingPolicy", base); kv.ran {
		fmt.Fprintf(&b, " Kyverno's ValidatingPolicy keeps %.2f.", kv.ratio.mid)
	}
	b.WriteString("\n")
	if nv := against(results, "dep/scaleguard, no cluster view", base); nv.ran {
		with, without := mean(results["dep/scaleguard"]), mean(results["dep/scaleguard, no cluster view"])
		fmt.Fprintf(&b, "\nWhat scaleguard's cluster view costs, with no create sent to it: scaleguard's own CPU is %d µs per Deployment create with its cluster view "+
			"and %d µs without it (`--cluster-view=false`); "+
			"the API server's is %d µs and %d µs, all processes' %d µs and %d µs. Without the cluster view scaleguard keeps %s, with it %s.\n",
			with.cpu["webhook"].Microseconds(), without.cpu["webhook"].Microseconds(),
			with.cpu["kube-apiserver"].Microseconds(), without.cpu["kube-apiserver"].Microseconds(),
			totalCPU(with).Microseconds(), totalCPU(without).Microseconds(), nv, sg)
	}
	if w := against(results, "dep/scaleguard, watching workloads", base); w.ran {
		m := mean(results["dep/scaleguard, watching workloads"])
		fmt.Fprintf(&b, "\nWatching workloads (`--watch-workloads=true`), every create reaches scaleguard's Deployment informer as a watch event: it keeps %s, "+
			"its own CPU %d µs per Deployment create, the API server's %d µs (sending the event to one more watcher).\n",
			w, m.cpu["webhook"].Microseconds(), m.cpu["kube-apiserver"].Microseconds())
	}
	return b.String()
}

// mixedVerdicts is what the mixed stream's creates were told, and its goal.
func mixedVerdicts(configs []config, results map[string][]run, mixed map[string]*verdicts, base []run) string {
	var b strings.Builder
	b.WriteString("What the creates of the mixed stream were told, over all rounds:\n\n" +
		"| configuration | violating creates | refused with its message | compliant creates | admitted |\n|---|---:|---:|---:|---:|\n")
	var sample string
	for _, cfg := range configs {
		v := mixed[cfg.name]
		if v == nil {
			continue
		}
		refused := fmt.Sprint(v.refused)
		if cfg.refusal == nil {
			refused = "— (admitted)"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %d | %d |\n", cfg.name, v.violating, refused, v.compliant, v.admitted)
		if cfg.name == "scaleguard" {
			sample = v.sample
		}
	}
	sg := against(results, "mix/scaleguard", base)
	fmt.Fprintf(&b, "\nGoal (issue 11: scaleguard with its matchConditions ≥ 0.85 of the no-policy rate on this stream): %s — %s. "+
		"Every write sent, scaleguard keeps %s; the ValidatingAdmissionPolicy %s.",
		sg, metOrNot(sg.ran && sg.ratio.mid >= 0.85), against(results, "mix/scaleguard, every write sent", base), against(results, "mix/ValidatingAdmissionPolicy", base))
	b.WriteString(celPolicies(configs, results, "mix", base))
	if sample != "" {
		fmt.Fprintf(&b, " A refusal, as the client got it: `%s`", sample)
	}
	b.WriteString("\n")
	return b.String()
}

// hpaFigures are the HPAs read back and the rates of the configurations
// that judge HPAs against the P3 goal.
func hpaFigures(configs []config, results map[string][]run, hpas map[string]*hpaCheck, base []run) string {
	var b strings.Builder
	b.WriteString("The HPAs read back after the runs, over all rounds:\n\n" +
		"| configuration | HPAs created compliant | stored as the standard | created bare | stored as the standard |\n|---|---:|---:|---:|---:|\n")
	for _, cfg := range configs {
		c := hpas[cfg.name]
		if c == nil {
			continue
		}
		bare, mutated := "—", "—"
		if cfg.mutates {
			bare, mutated = fmt.Sprint(c.bare), fmt.Sprint(c.mutated)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s |\n", cfg.name, c.stored, c.standard, bare, mutated)
	}
	sg := against(results, "hpa/scaleguard", base)
	fmt.Fprintf(&b, "\nP3's goal (issue 7: ≥ 0.90 of the no-policy rate, ≤ 1 ms added to the median), for HPA creates: scaleguard with its matchConditions %s — %s. "+
		"Its conditions spare a compliant HPA the mutating call, not the validating one, whose rules read the cluster (the target, the other HPAs). "+
		"Every write sent (both calls), scaleguard keeps %s; the floor webhook %s.",
		sg, metOrNot(sg.ran && sg.ratio.mid >= 0.9 && sg.added.mid <= 1), against(results, "hpa/scaleguard, every write sent", base), against(results, "hpa/webhook floor", base))
	b.WriteString(celPolicies(configs, results, "hpa", base))
	b.WriteString("\n")
	return b.String()
}

// spread is a median and the range around it.
type spread struct{ mid, lo, hi float64 }

func spreadOf(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	n := len(xs)
	mid := xs[n/2]
	if n%2 == 0 {
		mid = (xs[n/2-1] + xs[n/2]) / 2
	}
	return spread{mid: mid, lo: xs[0], hi: xs[n-1]}
}

// againstBase compares each run with the no-policy run of the same round
// (rounds run every configuration in turn, so a drift of the machine or of
// etcd's size weighs on both): the rate as a ratio, the median latency as
// milliseconds added. Each is the median over the rounds and their range.
func againstBase(rs, base []run) (ratio, added spread) {
	var ratios, adds []float64
	for _, r := range rs {
		for _, b := range base {
			if b.round == r.round {
				ratios = append(ratios, r.rate/b.rate)
				adds = append(adds, ms(r.median-b.median))
			}
		}
	}
	return spreadOf(ratios), spreadOf(adds)
}

func mean(rs []run) run {
	out := run{cpu: map[string]time.Duration{}}
	for _, r := range rs {
		for p, d := range r.cpu {
			out.cpu[p] += d / time.Duration(len(rs))
		}
		out.rate += r.rate / float64(len(rs))
		out.median += r.median / time.Duration(len(rs))
		out.p99 += r.p99 / time.Duration(len(rs))
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func metOrNot(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

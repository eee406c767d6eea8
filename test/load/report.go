package load

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Machine describes where a sweep ran.
type Machine struct {
	Date, GoVersion, CPU, Revision string
	NProc, GOMAXPROCS              int
	// GeneratorGOGC is the load generator's own collector target.
	GeneratorGOGC int
}

// Markdown renders a sweep as the "Load" section of docs/PERFORMANCE.md:
// a row per concurrency with the ratios a/b, the in-process cost of each
// review, and what was sent.
func Markdown(steps []Step, costs []Cost, reviews []*Review, m Machine, o SweepOptions, command, a, b string) string {
	var s strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&s, format, args...) }
	w("## Load\n\n")
	w("`%s` drives `scaleguard serve` (%s) and a stock controller-runtime server (%s: the same rules behind typed\n", command, a, b)
	w("`admission.Defaulter`/`Validator` with `PatchResponseFromRaw`, `test/stock`, served by `test/load/cmd/stockserver`)\n")
	w("with AdmissionReviews over loopback TLS 1.3 and HTTP/1.1 keep-alive, one connection per caller, each caller sending\n")
	w("its next review as soon as the last is answered. Every answer is checked: UID, allowed or denied and by which rule, and\n")
	w("each distinct patch applied to the object and compared with what the policies package says it must become. Both\n")
	w("servers are separate processes on the machine that runs the load generator; at each concurrency they take turns\n")
	w("(%d rounds of %v each, in ABBA order) so that they share its noise. scaleguard runs with `--cluster-view=false`:\n", o.Rounds, o.Duration)
	w("neither server has a cluster to look things up in.\n\n")
	w("Measured %s on %d CPUs (%s), %s, GOMAXPROCS %d, scaleguard %s; the load generator's collector at GOGC=%d.\n\n",
		m.Date, m.NProc, m.CPU, m.GoVersion, m.GOMAXPROCS, m.Revision, m.GeneratorGOGC)
	w("| callers | %s reviews/s | p50 | p99 | CPU/review | %s reviews/s | p50 | p99 | CPU/review | rate ratio | CPU ratio | errors | wrong |\n", a, b)
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, st := range steps {
		ra, rb := st.Results[a], st.Results[b]
		w("| %d | %.0f | %s | %s | %s | %.0f | %s | %s | %s | %.2f | %.2f | %d | %d |\n", st.Concurrency,
			ra.Rate(), ms(ra.Percentile(0.5)), ms(ra.Percentile(0.99)), us(st.CPUPerReview(a)),
			rb.Rate(), ms(rb.Percentile(0.5)), ms(rb.Percentile(0.99)), us(st.CPUPerReview(b)),
			ratio(ra.Rate(), rb.Rate()), ratio(float64(st.CPUPerReview(a)), float64(st.CPUPerReview(b))),
			ra.Errors+rb.Errors, ra.Wrong+rb.Wrong)
	}
	var total [2]int
	var errs, wrong int
	for _, st := range steps {
		for i, name := range []string{a, b} {
			r := st.Results[name]
			total[i] += r.Reviews
			errs += r.Errors
			wrong += r.Wrong
		}
	}
	w("\nIn all %d reviews to %s and %d to %s: %d errors, %d wrong verdicts.\n", total[0], a, total[1], b, errs, wrong)
	for _, st := range steps {
		if st.Concurrency != 8 {
			continue
		}
		ra, rb := st.Results[a], st.Results[b]
		rate, p99 := ratio(ra.Rate(), rb.Rate()), ra.Percentile(0.99)
		verdict := "met"
		if rate < 2 || p99 > 5*time.Millisecond {
			verdict = "not met"
		}
		w("Goal at 8 callers (≥ 2× the stock server's rate, p99 ≤ 5 ms): rate ratio %.2f, p99 %s — %s.\n", rate, ms(p99), verdict)
	}
	w("\n- rate ratio: %s/%s reviews per second, above 1 when %s is faster. CPU ratio: %s/%s CPU per review, below 1 when\n", a, b, a, a, b)
	w("  %s is cheaper.\n", a)
	w("- CPU/review: the server process's user+system time (`/proc/<pid>/stat`, 10 ms ticks) over the reviews it answered. It\n")
	w("  does not depend on how the cores were shared with the load generator or anything else running, which the rates and\n")
	w("  latencies do: on a 2-core machine the load generator's TLS and checks take part of the same cores.\n")
	w("- errors: reviews without a well-formed answer (transport, HTTP status, body); wrong: answers with the wrong verdict;\n")
	w("  both servers together.\n\n")
	if len(costs) > 0 {
		w("The same reviews through each server's handlers in process (`ServeHTTP` alone, no TLS, no network, one at a time;\n")
		w("best of five runs of about 150 ms; `go test -bench Mix ./test/load -cpuprofile …` profiles it). The floor decodes\n")
		w("each review with encoding/json and allows it (`load.Floor`): what any Go webhook pays before it judges anything.\n\n")
		w("| review | size | %s µs | allocs | %s µs | allocs | floor µs | %s/%s time | %s/floor time |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n", a, b, a, b, a)
		byKey := map[string]Cost{}
		for _, c := range costs {
			byKey[c.Server+"/"+c.Review] = c
		}
		for _, r := range reviews {
			ca, cb, cf := byKey[a+"/"+r.Name], byKey[b+"/"+r.Name], byKey["floor/"+r.Name]
			w("| %s | %.1f KB | %.0f | %d | %.0f | %d | %.0f | %.2f | %.2f |\n", r.Name, float64(r.Size())/1000,
				float64(ca.NsPerOp)/1000, ca.AllocsPerOp, float64(cb.NsPerOp)/1000, cb.AllocsPerOp, float64(cf.NsPerOp)/1000,
				ratio(float64(ca.NsPerOp), float64(cb.NsPerOp)), ratio(float64(ca.NsPerOp), float64(cf.NsPerOp)))
		}
		worstStock, worstFloor := 0.0, 0.0
		for _, r := range reviews {
			ca := float64(byKey[a+"/"+r.Name].NsPerOp)
			worstStock = max(worstStock, ratio(ca, float64(byKey[b+"/"+r.Name].NsPerOp)))
			worstFloor = max(worstFloor, ratio(ca, float64(byKey["floor/"+r.Name].NsPerOp)))
		}
		met := "met"
		if worstStock > 1.0/3 || worstFloor > 1.5 {
			met = "not met"
		}
		w("\nGoal for every review (≥ 3× faster than %s, ≤ 1.5× the floor): at worst %.1f× faster than %s and %.2f× the floor — %s.\n\n",
			b, 1/worstStock, b, worstFloor, met)
	}
	w("The callers cycle through these reviews, all UPDATEs carrying `oldObject`, the objects as an API server sends them\n")
	w("(managedFields of the writer and of the controller's status updates, status):\n\n")
	w("| review | path | size | what | expected |\n|---|---|---:|---|---|\n")
	for _, r := range reviews {
		want := "allowed"
		switch {
		case !r.Allowed:
			want = "denied, " + r.Denial
		case r.want != nil:
			want = "allowed with the standard's patch (minReplicas, memory target, behavior)"
		}
		w("| %s | `%s` | %.1f KB | %s | %s |\n", r.Name, r.Path, float64(r.Size())/1000, r.About, want)
	}
	return s.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }
func ratio(x, y float64) float64 {
	if y == 0 {
		return 0
	}
	return x / y
}

// WriteSection replaces the section that starts with heading ("## Load")
// in the markdown file at path, up to the next heading of the same level,
// or appends it when absent; the rest of the file is left as it is. A
// missing file is created with a title.
func WriteSection(path, heading, section string) error {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		b, err = []byte("# Performance\n"), nil
	}
	if err != nil {
		return err
	}
	doc := string(b)
	section = strings.TrimRight(section, "\n") + "\n"
	start := -1
	for i := 0; i < len(doc); {
		line := doc[i:]
		if j := strings.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		if line == heading {
			start = i
			break
		}
		i += len(line) + 1
	}
	if start < 0 {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + section
		return os.WriteFile(path, []byte(doc), 0o644)
	}
	// The section ends at the next heading of its level or above ("## "
	// or "# "); it holds no code blocks whose comments could look like one.
	end := len(doc)
	for i := start + len(heading) + 1; i < len(doc); {
		line := doc[i:]
		if j := strings.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		if strings.HasPrefix(line, "## ") || strings.HasPrefix(line, "# ") {
			end = i
			break
		}
		i += len(line) + 1
	}
	rest := doc[end:]
	if rest != "" {
		section += "\n"
	}
	return os.WriteFile(path, []byte(doc[:start]+section+rest), 0o644)
}

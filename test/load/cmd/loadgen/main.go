// Command loadgen measures `scaleguard serve` against the stock
// controller-runtime server (test/load/cmd/stockserver) under the same
// AdmissionReview load, over a concurrency sweep, and prints the "Load"
// section of docs/PERFORMANCE.md (-doc writes it there). `make bench-load`
// runs it.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/load"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run() error {
	conc := flag.String("c", "1,2,4,8,16", "concurrency levels, comma-separated")
	duration := flag.Duration("duration", time.Second, "length of one run of one server at one concurrency")
	rounds := flag.Int("rounds", 4, "runs per server and concurrency, alternating between the servers")
	maxReviews := flag.Int("max-reviews", 0, "end a run after this many reviews too (0: duration only)")
	warmup := flag.Duration("warmup", time.Second, "warm-up run per server before the sweep")
	inProcess := flag.Bool("in-process", true, "also benchmark each review through both servers' handlers in this process")
	doc := flag.String("doc", "", "markdown file whose \"## Load\" section is replaced with the result (e.g. docs/PERFORMANCE.md)")
	gcPercent := flag.Int("gc-percent", 400, "the load generator's own collector target (GOGC); 100 is Go's default. Its live heap is a few MiB, so at 100 its collector "+
		"runs dozens of times a second on the cores the servers it measures run on")
	cpuProfile := flag.String("cpuprofile", "", "write the load generator's CPU profile to this file")
	sgPprof := flag.String("scaleguard-pprof", "", "serve scaleguard's profiles on this address (--pprof-addr), e.g. 127.0.0.1:6061, to profile it under load")
	bBinary := flag.String("b", "", "also load this scaleguard binary (e.g. built from another commit) as scaleguard-b, in the same rounds: an A/B comparison, printed and not written to -doc")
	bEnv := flag.String("b-env", "", "extra environment of scaleguard-b, space-separated NAME=value (e.g. GOGC=100); with it and no -b, scaleguard-b is the binary built here")
	flag.Parse()
	debug.SetGCPercent(*gcPercent)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	abTest := *bBinary != "" || *bEnv != ""
	if abTest && *doc != "" {
		return fmt.Errorf("-b and -b-env compare two builds; their figures are not written to -doc")
	}
	// controller-runtime's webhook logs through its global logger; the
	// in-process handlers have nothing to say that matters here.
	ctrllog.SetLogger(logr.Discard())
	var levels []int
	for _, f := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-c %q: want positive integers", *conc)
		}
		levels = append(levels, n)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "scaleguard-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintln(os.Stderr, "building scaleguard and the stock server …")
	sgBin, err := harness.Build(ctx, root, dir)
	if err != nil {
		return err
	}
	stockBin, err := harness.BuildCommand(ctx, root, dir, "./test/load/cmd/stockserver")
	if err != nil {
		return err
	}
	ca, err := harness.NewCA()
	if err != nil {
		return err
	}
	certPEM, keyPEM, err := ca.Issue(2)
	if err != nil {
		return err
	}
	sgDir, stockDir := filepath.Join(dir, "scaleguard-run"), filepath.Join(dir, "stock-run")
	for _, d := range []string{sgDir, stockDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	var sgArgs []string
	if *sgPprof != "" {
		sgArgs = []string{"--pprof-addr=" + *sgPprof}
	}
	sg, err := harness.StartWith(ctx, sgBin, sgDir, harness.Options{CA: ca.PEM, Cert: certPEM, Key: keyPEM, Args: sgArgs})
	if err != nil {
		return err
	}
	defer func() {
		if err := sg.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping scaleguard:", err)
		}
	}()
	if err := ca.WriteServing(stockDir, 3); err != nil {
		return err
	}
	ports, err := harness.FreePorts(1)
	if err != nil {
		return err
	}
	st, err := load.StartStockServer(ctx, stockBin, stockDir, ports[0], ca)
	if err != nil {
		return err
	}
	defer st.Stop()

	s := policies.Defaults()
	reviews, err := load.Mix(&s)
	if err != nil {
		return err
	}
	servers := []load.Server{
		{Target: load.Target{Name: "scaleguard", BaseURL: sg.URL(), RootCAs: ca.Pool()}, PID: sg.PID()},
		{Target: load.Target{Name: "stock", BaseURL: "https://127.0.0.1:" + strconv.Itoa(st.Port), RootCAs: ca.Pool()}, PID: st.PID()},
	}
	if abTest {
		bin := sgBin
		if *bBinary != "" {
			bin = *bBinary
		}
		bDir := filepath.Join(dir, "scaleguard-b-run")
		if err := os.Mkdir(bDir, 0o700); err != nil {
			return err
		}
		sb, err := harness.StartWith(ctx, bin, bDir, harness.Options{CA: ca.PEM, Cert: certPEM, Key: keyPEM, Env: strings.Fields(*bEnv)})
		if err != nil {
			return fmt.Errorf("scaleguard-b: %w", err)
		}
		defer func() {
			if err := sb.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "stopping scaleguard-b:", err)
			}
		}()
		servers = append(servers, load.Server{Target: load.Target{Name: "scaleguard-b", BaseURL: sb.URL(), RootCAs: ca.Pool()}, PID: sb.PID()})
	}
	o := load.SweepOptions{Concurrency: levels, Duration: *duration, MaxReviews: *maxReviews, Rounds: *rounds, Warmup: *warmup}
	steps, err := load.Sweep(ctx, servers, reviews, o, os.Stderr)
	if err != nil {
		return err
	}
	var costs []load.Cost
	if *inProcess {
		fmt.Fprintln(os.Stderr, "in-process cost of each review …")
		handlers, err := load.Handlers(&s)
		if err != nil {
			return err
		}
		if costs, err = load.InProcess(handlers, []string{"scaleguard", "stock", "floor"}, reviews); err != nil {
			return err
		}
	}
	m := machine(root)
	m.GeneratorGOGC = *gcPercent
	md := load.Markdown(steps, costs, reviews, m, o, "make bench-load", "scaleguard", "stock")
	fmt.Println(md)
	if *doc != "" {
		if err := load.WriteSection(*doc, "## Load", md); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote the Load section of", *doc)
	}
	for _, st := range steps {
		for _, r := range st.Results {
			if r.Errors > 0 || r.Wrong > 0 {
				return fmt.Errorf("%s at %d callers: %d errors, %d wrong verdicts", r.Target, r.Concurrency, r.Errors, r.Wrong)
			}
		}
	}
	return nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run loadgen inside the scaleguard module")
	}
	return filepath.Dir(gomod), nil
}

func machine(root string) load.Machine {
	m := load.Machine{Date: time.Now().Format("2006-01-02"), GoVersion: runtime.Version(),
		NProc: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), CPU: "unknown CPU", Revision: "unknown"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	cmd := exec.Command("git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		m.Revision = strings.TrimSpace(string(out))
	}
	return m
}

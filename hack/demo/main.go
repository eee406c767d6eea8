// Command demo runs scaleguard the way a cluster does, on this machine: etcd,
// kube-apiserver and `scaleguard serve` registered with config/webhook. It
// applies examples/ with the real kubectl, shows what was refused, patched
// and warned about, and leaves the cluster running for the user's own
// kubectl until SIGINT or SIGTERM (`make demo-stop`).
//
//	go run ./hack/demo            # what `make demo` runs
//	go run ./hack/demo --once     # apply, print, stop (scripts)
//	go run ./hack/demo --stop     # what `make demo-stop` runs
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/scaleguard/scaleguard/test/harness"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// stateDir holds the demo's files, relative to the repository root (the
// README documents .demo/kubeconfig).
const stateDir = ".demo"

func main() {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	once := fs.Bool("once", false, "apply the examples, print what happened and stop everything (for scripts)")
	stop := fs.Bool("stop", false, "stop the running demo (SIGTERM to the PID in "+stateDir+"/pid) and wait for it to exit")
	examples := fs.String("examples", "examples", "folder of manifests to apply, relative to the repository root")
	_ = fs.Parse(os.Args[1:])

	root, err := testbed.RepoRoot()
	if err == nil {
		if *stop {
			err = stopDemo(filepath.Join(root, stateDir, "pid"), os.Stdout, 2*time.Minute)
		} else {
			err = run(root, *examples, *once)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(root, examples string, once bool) (err error) {
	state := filepath.Join(root, stateDir)
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	pidPath := filepath.Join(state, "pid")
	if err := claimPID(pidPath); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, releasePID(pidPath)) }()

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", err)
		}
	}()
	out := os.Stdout
	p := colourFor(out)
	step := printSteps(out, p)

	files, err := exampleFiles(root, examples)
	if err != nil {
		return err
	}
	// A fresh folder for scaleguard each run, only once the PID file says
	// no other demo is using it.
	sgDir := filepath.Join(state, "scaleguard")
	if err := os.RemoveAll(sgDir); err != nil {
		return err
	}
	if err := os.MkdirAll(sgDir, 0o755); err != nil {
		return err
	}

	fmt.Fprintln(out, p.bold("scaleguard demo: etcd, kube-apiserver and scaleguard on this machine"))
	var bed *testbed.Testbed
	if err := step("starting etcd and kube-apiserver", func() (err error) {
		bed, err = testbed.New(ctx, testbed.Options{})
		return err
	}); err != nil {
		return err
	}
	var sg *harness.Scaleguard
	// Stop in the reverse order of start: scaleguard, then the API server
	// and etcd (envtest stops those two in that order).
	defer func() {
		fmt.Fprintln(out, "stopping scaleguard, kube-apiserver and etcd…")
		if sg != nil {
			err = errors.Join(err, sg.Stop())
		}
		err = errors.Join(err, bed.Stop())
		if err == nil {
			fmt.Fprintln(out, "stopped")
		}
	}()
	if sg, err = startScaleguard(ctx, bed, root, sgDir, step); err != nil {
		return err
	}
	kubeconfig := filepath.Join(state, "kubeconfig")
	if err := os.WriteFile(kubeconfig, bed.Env.KubeConfig, 0o600); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}

	fmt.Fprintf(out, "\n%s\n", p.bold(fmt.Sprintf("Applying %s/ (%d files) with kubectl apply, one object at a time:", examples, len(files))))
	results, err := applyExamples(ctx, bed, root, files)
	if err != nil {
		return err
	}
	printReport(out, results, p)
	if once {
		return nil
	}

	printAccess(out, p, root, kubeconfig, bed.BinDir, sg.LogPath())
	<-ctx.Done()
	fmt.Fprintln(out)
	return nil
}

// printSteps returns a stepper that prints each step and how long it took.
func printSteps(out io.Writer, p palette) stepper {
	return func(name string, f func() error) error {
		fmt.Fprintf(out, "  %s… ", name)
		start := time.Now()
		err := f()
		if err != nil {
			fmt.Fprintln(out, p.red("failed"))
			return err
		}
		fmt.Fprintln(out, p.dim(time.Since(start).Round(100*time.Millisecond).String()))
		return nil
	}
}

// printAccess tells how to use the cluster that stays up.
func printAccess(out io.Writer, p palette, root, kubeconfig, binDir, scaleguardLog string) {
	rel := func(path string) string {
		if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return path
	}
	fmt.Fprintf(out, "\n%s\n", p.bold("Use the cluster from another terminal:"))
	fmt.Fprintf(out, "  export KUBECONFIG=%s\n", kubeconfig)
	fmt.Fprintf(out, "  alias kubectl=%s   # the kubectl built by `make tools`\n", filepath.Join(binDir, "kubectl"))
	fmt.Fprintln(out, "  kubectl get hpa -A")
	fmt.Fprintf(out, "  kubectl apply --dry-run=server -f %s\n", rel(filepath.Join(root, "examples", "04-checkout-hpa-minimal.yaml")))
	fmt.Fprintf(out, "scaleguard's log: %s\n", rel(scaleguardLog))
	fmt.Fprintf(out, "\n%s\n", p.green("cluster is up; press Ctrl-C or run `make demo-stop` to stop"))
}

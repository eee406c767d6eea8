package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// errAlreadyRunning says a demo named by the PID file is still alive: two
// would fight over the one kubeconfig path the README documents.
type errAlreadyRunning struct {
	pid  int
	path string
}

func (e errAlreadyRunning) Error() string {
	return fmt.Sprintf("a demo is already running (pid %d, from %s); use its cluster, or stop it with `make demo-stop`", e.pid, e.path)
}

// claimPID writes this process's PID to path, created exclusively so two
// demos starting at once cannot both win. A file naming a process that no
// longer exists (a demo killed with SIGKILL) is replaced.
func claimPID(path string) error {
	for range 2 {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = fmt.Fprintf(f, "%d\n", os.Getpid())
			return errors.Join(err, f.Close())
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		if pid, err := readPID(path); err == nil && alive(pid) {
			return errAlreadyRunning{pid: pid, path: path}
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing stale %s: %w", path, err)
		}
	}
	return fmt.Errorf("could not claim %s: another demo is starting", path)
}

// releasePID removes path if it still names this process.
func releasePID(path string) error {
	if pid, err := readPID(path); err != nil || pid != os.Getpid() {
		return nil
	}
	return os.Remove(path)
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s does not hold a PID: %q", path, b)
	}
	return pid, nil
}

// alive reports whether a process with this PID exists (signal 0 checks
// without sending anything; EPERM means it exists but is someone else's).
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// stopDemo sends SIGTERM to the demo named by path and waits for it to
// shut everything down and exit.
func stopDemo(path string, out io.Writer, timeout time.Duration) error {
	pid, err := readPID(path)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(out, "no demo is running (no "+path+")")
		return nil
	}
	if err != nil {
		return err
	}
	if !alive(pid) {
		fmt.Fprintf(out, "no demo is running (pid %d in %s is gone); removed the stale file\n", pid, path)
		return os.Remove(path)
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signalling demo (pid %d): %w", pid, err)
	}
	fmt.Fprintf(out, "stopping the demo (pid %d): scaleguard, kube-apiserver, etcd…\n", pid)
	deadline := time.Now().Add(timeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("demo (pid %d) still running after %s", pid, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintln(out, "stopped")
	return nil
}

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestClaimPID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pid")
	if err := claimPID(path); err != nil {
		t.Fatal(err)
	}
	if pid, err := readPID(path); err != nil || pid != os.Getpid() {
		t.Fatalf("pid file holds %d (%v), want %d", pid, err, os.Getpid())
	}

	// A second demo while this one is alive is refused.
	var running errAlreadyRunning
	if err := claimPID(path); !errors.As(err, &running) || running.pid != os.Getpid() {
		t.Fatalf("second claim: %v, want errAlreadyRunning for pid %d", err, os.Getpid())
	}

	if err := releasePID(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("pid file left after release: %v", err)
	}
}

func TestClaimPIDReplacesStaleFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pid")
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d\n", deadPID(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := claimPID(path); err != nil {
		t.Fatalf("stale pid file not replaced: %v", err)
	}
	if pid, _ := readPID(path); pid != os.Getpid() {
		t.Fatalf("pid file holds %d, want %d", pid, os.Getpid())
	}
}

func TestReleasePIDKeepsAnotherDemosFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pid")
	if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := releasePID(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("another process's pid file was removed: %v", err)
	}
}

func TestStopDemo(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pid")
	var out strings.Builder
	if err := stopDemo(path, &out, time.Second); err != nil || !strings.Contains(out.String(), "no demo is running") {
		t.Fatalf("without a pid file: %v, %q", err, out.String())
	}

	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep binary: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d\n", cmd.Process.Pid), 0o644); err != nil {
		t.Fatal(err)
	}
	// The child is reaped by Wait above, so alive() sees it go.
	out.Reset()
	if err := stopDemo(path, &out, 10*time.Second); err != nil {
		t.Fatalf("stopDemo: %v (%s)", err, out.String())
	}
	if err := <-waited; err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("child ended with %v, want SIGTERM", err)
	}
}

// deadPID returns the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no true binary: %v", err)
	}
	return cmd.Process.Pid
}

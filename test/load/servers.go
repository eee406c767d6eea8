package load

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/scaleguard/scaleguard/test/harness"
)

// StockServer is a running stockserver process.
type StockServer struct {
	Port int
	cmd  *exec.Cmd
	done chan struct{}
}

// StartStockServer starts the stock server binary on port with the
// certificate in certDir and more flags (such as --floor), and returns once
// it completes a TLS handshake.
func StartStockServer(ctx context.Context, binary, certDir string, port int, ca *harness.CA, flags ...string) (*StockServer, error) {
	log, err := os.Create(filepath.Join(certDir, "stockserver.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, append([]string{"--port", strconv.Itoa(port), "--cert-dir", certDir}, flags...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	s := &StockServer{Port: port, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); log.Close(); close(s.done) }()
	if err := WaitTLS(ctx, port, ca, s.done); err != nil {
		s.Stop()
		return nil, fmt.Errorf("stock server: %w (log: %s)", err, log.Name())
	}
	return s, nil
}

// PID is the process's id.
func (s *StockServer) PID() int { return s.cmd.Process.Pid }

// Stop ends the process with SIGTERM and waits for it.
func (s *StockServer) Stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// WaitTLS returns once 127.0.0.1:port completes a handshake with a
// certificate ca trusts, or fails when exited closes or 30 s pass.
func WaitTLS(ctx context.Context, port int, ca *harness.CA, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		d := tls.Dialer{Config: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before serving: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("not serving TLS on %s: %w", addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// CPUTime is the user and system CPU time process pid has used, from
// /proc/<pid>/stat (in clock ticks of 10 ms).
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The command name is in parentheses and may hold spaces; fields
	// count from after it: state is field 3, utime 14, stime 15.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

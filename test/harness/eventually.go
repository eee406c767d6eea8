package harness

import (
	"errors"
	"testing"
	"time"
)

// Eventually polls f until it returns nil, failing tb with what and f's last
// error once within has passed. Tests against a real API server use it for
// everything that becomes true asynchronously (caches, webhook
// configurations, reloads): a deadline, never a fixed sleep.
func Eventually(tb testing.TB, within time.Duration, what string, f func() error) {
	tb.Helper()
	poll := min(max(within/200, 20*time.Millisecond), 200*time.Millisecond)
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: still not so after %s: %v", what, within, err)
		}
		time.Sleep(poll)
	}
}

// Holds adapts a condition to Eventually.
func Holds(cond func() bool) func() error {
	return func() error {
		if cond() {
			return nil
		}
		return errors.New("condition false")
	}
}

//go:build !scaleguard_faultinject

package webhook

import (
	"net/http"
	"testing"
)

// TestFaultInjectionNeedsTheBuildTag: in a build without the
// scaleguard_faultinject tag, as every release is, the variable that makes
// the test build panic does nothing.
func TestFaultInjectionNeedsTheBuildTag(t *testing.T) {
	t.Setenv("SCALEGUARD_FAULT_PANIC_NAME", "checkout")
	_, validator, _, _ := handlers()
	if code, resp := serveReview(t, validator, reviewOf(hpaV2, minimalHPA)); code != http.StatusOK || resp.Result == nil || resp.Result.Code != http.StatusForbidden {
		t.Errorf("HTTP %d, %+v; want the rules' denial", code, resp.Result)
	}
}

package certmanager_test

import (
	"testing"

	"github.com/scaleguard/scaleguard/test/certmanager"
	"github.com/scaleguard/scaleguard/test/testbed"
)

// TestWiringMatchesThePinnedVersion fails when go.mod pins a cert-manager
// other than the one wiring.go was read from: its internal packages change
// between versions, and the wiring must be re-read against the new
// version's cmd/ packages before WiredVersion is moved.
func TestWiringMatchesThePinnedVersion(t *testing.T) {
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	mod, err := certmanager.LocateModule(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	if mod.Version != certmanager.WiredVersion {
		t.Errorf("go.mod pins %s %s, but test/certmanager/wiring.go follows %s: re-read cmd/controller/app, cmd/cainjector/app and test/webhook of %s, bring wiring.go in step and set WiredVersion",
			certmanager.ModulePath, mod.Version, certmanager.WiredVersion, mod.Version)
	}
}

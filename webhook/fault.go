//go:build !scaleguard_faultinject

package webhook

// injectFault does nothing: faults are injected only by a binary built
// with the scaleguard_faultinject tag (fault_inject.go), which no release
// build sets.
func injectFault(handler, name string) {}

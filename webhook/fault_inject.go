//go:build scaleguard_faultinject

package webhook

import (
	"fmt"
	"os"
)

// FaultPanicEnv names an object, in a binary built with the
// scaleguard_faultinject tag only: every handler panics while reviewing an
// object of that name. test/faults uses it to check what the API server
// does with a handler that panics; a release build has no such variable.
const FaultPanicEnv = "SCALEGUARD_FAULT_PANIC_NAME"

// injectFault panics when name is the object named by FaultPanicEnv.
func injectFault(handler, name string) {
	if want := os.Getenv(FaultPanicEnv); want != "" && want == name {
		panic(fmt.Sprintf("fault injected in %s for %q (%s)", handler, name, FaultPanicEnv))
	}
}

//go:build tools

// Package tools pins the Kyverno admission controller command built by
// hack/build-kyverno.sh.
package tools

import (
	_ "github.com/kyverno/kyverno/cmd/kyverno"
)

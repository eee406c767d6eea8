//go:build tools

// Package tools pins controller-gen, which generates the CRDs and deepcopy
// functions of api/ (make generate). Its own module so that
// controller-tools' dependency versions do not move scaleguard's.
package tools

import (
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)

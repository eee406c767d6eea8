//go:build tools

// Package tools pins the commands that hack/build-tools.sh builds from this
// module. It is never compiled into anything.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)

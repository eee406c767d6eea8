//go:build tools

// Package tools pins golangci-lint, which `make lint` runs with the linters
// of .golangci.yml. Its own module so that the linters' dependency versions
// do not move scaleguard's.
package tools

import (
	_ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
)

package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
)

// memoryLimitEnv names the environment variable the chart fills, through
// the downward API (resourceFieldRef limits.memory), with the container's
// memory limit in bytes.
const memoryLimitEnv = "SCALEGUARD_MEMORY_LIMIT"

// memoryLimitShare is the part of the container's limit the Go runtime is
// told to stay under (debug.SetMemoryLimit): the rest is for what the
// runtime does not count (thread stacks outside the heap's accounting, the
// binary's text, cgroup-counted page cache) and for the moments the
// collector cannot keep up.
const memoryLimitShare = 0.9

// goMemoryLimit works out the soft memory limit for the Go runtime from the
// environment: none when GOMEMLIMIT is set (the runtime read it; whoever set
// it chose) or no container limit is given; otherwise memoryLimitShare of
// the limit. A value that is not a number of bytes is an error, so that a
// broken chart is seen at start.
func goMemoryLimit(getenv func(string) string) (int64, error) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	v := getenv(memoryLimitEnv)
	if v == "" {
		return 0, nil
	}
	limit, err := strconv.ParseInt(v, 10, 64)
	if err != nil || limit <= 0 {
		return 0, fmt.Errorf("%s=%q: want the container's memory limit in bytes (the downward API's limits.memory with divisor 1), or unset", memoryLimitEnv, v)
	}
	return int64(float64(limit) * memoryLimitShare), nil
}

// setGoMemoryLimit applies goMemoryLimit, returning what it set (0: nothing).
func setGoMemoryLimit() (int64, error) {
	limit, err := goMemoryLimit(os.Getenv)
	if err != nil || limit == 0 {
		return 0, err
	}
	debug.SetMemoryLimit(limit)
	return limit, nil
}

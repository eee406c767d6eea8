package apibench

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// focus narrows TestCreatesThroughTheAPIServer to some configurations and
// kinds, usually with more rounds, to settle one comparison more precisely
// than the full run can in its time (`make bench-apiserver-focus`). No
// policy always runs: every configuration is measured against it round by
// round. A focused run writes its own section of docs/PERFORMANCE.md, so the
// full run's stays as it was.
type focus struct {
	configs []string // empty: all
	kinds   []string // empty: all
	rounds  int
}

// focusFromEnv reads SCALEGUARD_BENCH_CONFIGS (configuration names,
// separated by semicolons), SCALEGUARD_BENCH_KINDS (dep, mix, hpa) and
// SCALEGUARD_BENCH_ROUNDS; unset, the full run of 6 rounds.
func focusFromEnv() (focus, error) {
	f := focus{rounds: 6}
	split := func(v, sep string) []string {
		var out []string
		for s := range strings.SplitSeq(v, sep) {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	// Configuration names hold commas ("scaleguard, no cluster view").
	f.configs = split(os.Getenv("SCALEGUARD_BENCH_CONFIGS"), ";")
	f.kinds = split(os.Getenv("SCALEGUARD_BENCH_KINDS"), ",")
	for _, k := range f.kinds {
		if !slices.ContainsFunc(kinds, func(x kind) bool { return x.key == k }) {
			return f, fmt.Errorf("SCALEGUARD_BENCH_KINDS: no kind %q: use dep, mix or hpa", k)
		}
	}
	if v := os.Getenv("SCALEGUARD_BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			return f, fmt.Errorf("SCALEGUARD_BENCH_ROUNDS=%q: want a whole number of at least 2 (forward and backward)", v)
		}
		f.rounds = n
	}
	return f, nil
}

func (f focus) narrowed() bool { return len(f.configs) > 0 || len(f.kinds) > 0 }

func (f focus) wants(config string) bool {
	return len(f.configs) == 0 || config == "no policy" || slices.Contains(f.configs, config)
}

func (f focus) measures(k kind) bool { return len(f.kinds) == 0 || slices.Contains(f.kinds, k.key) }

// unknown names a configuration asked for that the run does not have.
func (f focus) unknown(have []config) error {
	for _, name := range f.configs {
		if !slices.ContainsFunc(have, func(c config) bool { return c.name == name }) {
			return fmt.Errorf("SCALEGUARD_BENCH_CONFIGS: no configuration %q", name)
		}
	}
	return nil
}

// heading is the section of docs/PERFORMANCE.md the run writes.
func (f focus) heading() string {
	if f.narrowed() {
		return "## Through the API server, focused"
	}
	return "## Through the API server"
}

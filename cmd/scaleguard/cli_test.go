package main

import (
	"bytes"
	"strings"
	"testing"
)

// cliCase is one run of a subcommand: its arguments and stdin, and the exit
// code and output it must give.
type cliCase struct {
	args   []string
	stdin  string
	code   int
	stdout []string // substrings of stdout
	stderr []string // substrings of stderr
}

// runCases runs `scaleguard command …` for each case.
func runCases(t *testing.T, command string, cases map[string]cliCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{command}, tc.args...), strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
		})
	}
}

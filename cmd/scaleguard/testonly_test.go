package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestShippedBinaryLeavesOutTestOnlyModules keeps go.mod's "Test-only"
// require block true: no module listed there is compiled into scaleguard.
func TestShippedBinaryLeavesOutTestOnlyModules(t *testing.T) {
	gomod := filepath.Join("..", "..", "go.mod")
	testOnly := testOnlyModules(t, gomod)
	if len(testOnly) == 0 {
		t.Fatalf("%s has no \"// Test-only:\" require block", gomod)
	}
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	shipped := strings.Fields(string(out))
	for _, m := range testOnly {
		if slices.Contains(shipped, m) {
			t.Errorf("%s is in go.mod's Test-only block, but scaleguard's binary compiles it in: move it to the main require block with the reason, or drop the import", m)
		}
	}
}

// testOnlyModules reads the module paths of the require block that follows
// a "// Test-only:" comment.
func testOnlyModules(t *testing.T, gomod string) []string {
	f, err := os.Open(gomod)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mods []string
	seen, in := false, false
	for s := bufio.NewScanner(f); s.Scan(); {
		line := strings.TrimSpace(s.Text())
		switch {
		case strings.HasPrefix(line, "// Test-only:"):
			seen = true
		case seen && line == "require (":
			in = true
		case in && line == ")":
			return mods
		case in && line != "" && !strings.HasPrefix(line, "//"):
			mods = append(mods, strings.Fields(line)[0])
		}
	}
	return mods
}

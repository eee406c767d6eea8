package config_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// No container engine runs on the CI machines, so the image is never built
// in CI. These tests read the Dockerfile as text and hold it to what the
// image must be: a static binary on distroless, as a numeric non-root user,
// started the way config/manager starts it.

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper-case: FROM, RUN, USER, …
	args string
}

// stage is the part of a Dockerfile from one FROM to the next.
type stage struct {
	base, name   string
	instructions []instruction
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.instructions {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// last returns the args of the stage's last cmd instruction, which is the
// one in force for USER, ENTRYPOINT and CMD.
func (s stage) last(cmd string) string {
	all := s.all(cmd)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

// parseDockerfile splits a Dockerfile into stages. It knows comments, line
// continuations and FROM's flags and AS; that is all this Dockerfile uses.
func parseDockerfile(t *testing.T, text string) []stage {
	t.Helper()
	var stages []stage
	var logical strings.Builder
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			logical.WriteString(cont + " ")
			continue
		}
		logical.WriteString(line)
		cmd, args, _ := strings.Cut(logical.String(), " ")
		logical.Reset()
		in := instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")}
		if in.cmd == "FROM" {
			var fields []string
			for _, f := range strings.Fields(in.args) {
				if !strings.HasPrefix(f, "--") {
					fields = append(fields, f)
				}
			}
			s := stage{base: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, in)
		}
	}
	return stages
}

// withoutDigest strips an @sha256:… pin, which release pipelines add.
func withoutDigest(image string) string {
	name, _, _ := strings.Cut(image, "@")
	return name
}

// image is what the Dockerfile says about the image the manager runs.
type image struct {
	uid, gid   string
	entrypoint []string
	cmd        []string
}

func readDockerfile(t *testing.T) image {
	t.Helper()
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(data))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s); want a builder and a final stage", len(stages))
	}
	builder, final := stages[0], stages[len(stages)-1]

	// The builder's Go is the one go.mod asks for.
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if tag, ok := strings.CutPrefix(withoutDigest(builder.base), "golang:"); !ok || (tag != string(goVersion[1]) && !strings.HasPrefix(tag, string(goVersion[1])+".")) {
		t.Errorf("builder FROM %s, want golang:%s (go.mod)", builder.base, goVersion[1])
	}
	var build string
	for _, run := range builder.all("RUN") {
		if strings.Contains(run, "go build") {
			build = run
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "-o /out/scaleguard", "./cmd/scaleguard"} {
		if !strings.Contains(build, want) {
			t.Errorf("builder's go build %q lacks %q", build, want)
		}
	}
	// -X on a variable that does not exist is silently ignored.
	main, err := os.ReadFile("../cmd/scaleguard/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^var version = "`).Match(main) {
		t.Errorf("cmd/scaleguard/main.go has no `var version` for -X main.version")
	}

	if got := withoutDigest(final.base); got != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("final FROM %s, want gcr.io/distroless/static-debian12:nonroot", final.base)
	}
	// No shell in distroless: a RUN there could not even start.
	if runs := final.all("RUN"); len(runs) > 0 {
		t.Errorf("final stage has RUN %q", runs)
	}
	if copies := final.all("COPY"); !slices.Contains(copies, "--from="+builder.name+" /out/scaleguard /scaleguard") {
		t.Errorf("final stage COPY %q, want the binary from %s at /scaleguard", copies, builder.name)
	}
	labels := strings.Join(final.all("LABEL"), " ")
	for _, want := range []string{"org.opencontainers.image.source=", "org.opencontainers.image.version=", "org.opencontainers.image.revision="} {
		if !strings.Contains(labels, want) {
			t.Errorf("final stage has no %s label", strings.TrimSuffix(want, "="))
		}
	}

	var img image
	user := regexp.MustCompile(`^([0-9]+):([0-9]+)$`).FindStringSubmatch(final.last("USER"))
	if user == nil || user[1] == "0" || user[2] == "0" {
		t.Errorf("final USER %q, want a numeric non-root uid:gid", final.last("USER"))
	} else {
		img.uid, img.gid = user[1], user[2]
	}
	// Exec form (a JSON array): the shell form needs /bin/sh.
	if err := json.Unmarshal([]byte(final.last("ENTRYPOINT")), &img.entrypoint); err != nil {
		t.Errorf("ENTRYPOINT %q is not in exec form: %v", final.last("ENTRYPOINT"), err)
	}
	if err := json.Unmarshal([]byte(final.last("CMD")), &img.cmd); err != nil {
		t.Errorf("CMD %q is not in exec form: %v", final.last("CMD"), err)
	}
	if !slices.Equal(img.entrypoint, []string{"/scaleguard"}) || !slices.Equal(img.cmd, []string{"serve"}) {
		t.Errorf("ENTRYPOINT %q CMD %q, want [/scaleguard] [serve]", img.entrypoint, img.cmd)
	}
	return img
}

func TestDockerfile(t *testing.T) {
	readDockerfile(t)
}

// TestManagerRunsTheImage checks config/manager's Deployment against the
// image: it keeps the ENTRYPOINT, runs the serve subcommand, and names the
// image's user.
func TestManagerRunsTheImage(t *testing.T) {
	img := readDockerfile(t)
	data, err := os.ReadFile("manager/manager.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if len(c.Command) != 0 {
		t.Errorf("container %s sets command %q, which replaces the image's ENTRYPOINT %q", c.Name, c.Command, img.entrypoint)
	}
	if len(c.Args) == 0 || len(img.cmd) == 0 || c.Args[0] != img.cmd[0] {
		t.Errorf("container %s args %q, want the %q subcommand first", c.Name, c.Args, img.cmd)
	}
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pod securityContext must set runAsNonRoot")
	}
	if sc == nil || sc.RunAsUser == nil || sc.RunAsGroup == nil ||
		img.uid != strconv.FormatInt(*sc.RunAsUser, 10) || img.gid != strconv.FormatInt(*sc.RunAsGroup, 10) {
		t.Errorf("pod securityContext %+v, want runAsUser %s and runAsGroup %s as in the Dockerfile", sc, img.uid, img.gid)
	}
}

// TestDockerIgnoreKeepsWhatTheBuildReads checks the build context: the
// .dockerignore keeps Go sources (not tests, not hack/ or test/) and the
// module files, so the packages of cmd/scaleguard must need nothing else.
func TestDockerIgnoreKeepsWhatTheBuildReads(t *testing.T) {
	data, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	want := []string{"**", "!**/*.go", "**/*_test.go", "hack/", "test/", "!go.mod", "!go.sum"}
	if !slices.Equal(patterns, want) {
		t.Fatalf(".dockerignore patterns %q; this test knows what %q keep, update both together", patterns, want)
	}

	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-json", "./cmd/scaleguard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			ImportPath, Dir string
			Module          *struct{ Path string }
			EmbedFiles      []string
			CgoFiles        []string
			OtherFiles      []string
			SysoFiles       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || p.Module.Path != "github.com/scaleguard/scaleguard" {
			continue
		}
		rel, _ := filepath.Rel(root, p.Dir)
		if top, _, _ := strings.Cut(filepath.ToSlash(rel), "/"); top == "hack" || top == "test" {
			t.Errorf("%s is under %s/, which .dockerignore leaves out of the build", p.ImportPath, top)
		}
		if files := slices.Concat(p.EmbedFiles, p.CgoFiles, p.OtherFiles, p.SysoFiles); len(files) > 0 {
			t.Errorf("%s needs %q, which .dockerignore leaves out of the build", p.ImportPath, files)
		}
	}
}

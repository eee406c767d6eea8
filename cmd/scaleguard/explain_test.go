package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestExplain(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]cliCase{
		"standard injected": {args: []string{"-f", "../../examples/traces/hpa.yaml"}, code: 0, stdout: []string{
			"HorizontalPodAutoscaler demo/web (../../examples/traces/hpa.yaml#1)",
			"stabilizationWindowSeconds: 300",
			"Scale up from 2 to 20 replicas: 1m30s in 4 steps (behavior-consistency allows 5m)",
			"16 → 20  maxReplicas  * Percent 100%/30s: ceil(16 × 2) = 32    Pods 2/30s: 16 + 2 = 18",
			"Scale down from 20 to 2 replicas: 6m45s in 3 steps",
			"The first step waits 4m45s",
			"━━ scale up 2 to 20",
			"mutate [behavior-defaults] spec.behavior",
		}},
		"never scales up is denied": {args: []string{"-f", "../../examples/05-search-hpa-contradictions.yaml", "--width", "0"}, code: 1, stdout: []string{
			"Scale up from 2 to 12 replicas: never gets there, spec.behavior.scaleUp.selectPolicy: scale-up is Disabled",
			"deny   [behavior-consistency]",
		}},
		"with its workload": {args: []string{"-f", "../../examples/01-web-compliant.yaml"}, code: 0, stdout: []string{
			"Findings on the HPA: none.", "Findings on its scale target Deployment web (../../examples/01-web-compliant.yaml#1): none.",
		}},
		"slow scale-up warns":  {args: []string{"-f", "../../examples/06-reports-slow-scale-up.yaml"}, code: 0, stdout: []string{"1h14m in 38 steps", "(27 more steps)", "1h14m   39 → 40  maxReplicas", "warn   [behavior-consistency]"}},
		"no hpa":               {args: []string{"-f", "../../examples/02-api-missing-requests.yaml"}, code: 2, stderr: []string{"no HorizontalPodAutoscaler"}},
		"plot needs one hpa":   {args: []string{"-f", "../../examples", "--plot", filepath.Join(dir, "x.svg")}, code: 2, stderr: []string{"--plot draws one HPA"}},
		"plot needs extension": {args: []string{"-f", "../../examples/traces/hpa.yaml", "--plot", "x.jpg"}, code: 2, stderr: []string{"usage: scaleguard explain"}},
		"no -f":                {code: 2, stderr: []string{"usage: scaleguard explain"}},
	}
	runCases(t, "explain", tests)
}

func TestExplainPlots(t *testing.T) {
	dir := t.TempDir()
	svg, pngFile := filepath.Join(dir, "chart.svg"), filepath.Join(dir, "chart.png")
	for _, p := range []string{svg, pngFile} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"explain", "-f", "../../examples/traces/hpa.yaml", "--plot", p}, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	}
	checkSVG(t, svg)
	checkPNG(t, pngFile)
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s: root element %q", path, root)
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s does not decode: %v", path, err)
	}
}

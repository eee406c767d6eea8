package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/policies/celpolicy"
	"github.com/scaleguard/scaleguard/webhook/configuration"
)

// exportFormats are what `scaleguard export` can print, each from the
// settings.
var exportFormats = map[string]func(s *policies.Settings, o exportOptions) ([]any, error){
	"webhook-configurations": exportWebhookConfigurations,
	"admission-policy":       exportAdmissionPolicies,
}

// exportOptions are the flags every format may read.
type exportOptions struct {
	conditions bool
	service    string
	url        string
}

func runExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "", "what to print: "+strings.Join(exportFormatNames(), ", "))
	configPath := fs.String("config", "", "settings file (default: the built-in standard)")
	var o exportOptions
	fs.BoolVar(&o.conditions, "match-conditions", true, "webhook-configurations: include the matchConditions of the settings (leave them out when scaleguard serve keeps them in step itself)")
	fs.StringVar(&o.service, "service", "scaleguard-system/scaleguard-webhook-service", "webhook-configurations: namespace/name of the Service the API server calls")
	fs.StringVar(&o.url, "url", "", "webhook-configurations: a base URL to call instead of the Service")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scaleguard export --format <format> [--config settings.yaml] [flags]")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	fail := usageError(stderr, "export")
	gen, ok := exportFormats[*format]
	switch {
	case fs.NArg() > 0:
		return fail(fmt.Errorf("unexpected arguments %q", fs.Args()))
	case !ok:
		return fail(fmt.Errorf("--format %q: use one of %s", *format, strings.Join(exportFormatNames(), ", ")))
	}
	settings, err := loadSettings(*configPath)
	if err != nil {
		return fail(err)
	}
	objs, err := gen(&settings, o)
	if err != nil {
		return fail(err)
	}
	out, err := configuration.YAMLStream(objs...)
	if err != nil {
		fmt.Fprintln(stderr, "scaleguard export:", err)
		return exitFailure
	}
	_, _ = stdout.Write(out)
	return exitOK
}

func exportFormatNames() []string {
	names := make([]string, 0, len(exportFormats))
	for n := range exportFormats {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func exportWebhookConfigurations(s *policies.Settings, o exportOptions) ([]any, error) {
	opts := configuration.ConfigurationOptions{URL: strings.TrimSuffix(o.url, "/"), Settings: s, MatchConditions: o.conditions}
	if o.url == "" {
		ns, name, ok := strings.Cut(o.service, "/")
		if !ok || ns == "" || name == "" {
			return nil, fmt.Errorf("--service %q: give namespace/name", o.service)
		}
		opts.Service = &admissionregistrationv1.ServiceReference{Namespace: ns, Name: name, Port: ptr.To[int32](443)}
	}
	m, v := configuration.Configurations(opts)
	return []any{m, v}, nil
}

// exportAdmissionPolicies prints the ValidatingAdmissionPolicies,
// MutatingAdmissionPolicies and bindings of the rules CEL can express
// (docs/operations.md, "Admission policies").
func exportAdmissionPolicies(s *policies.Settings, _ exportOptions) ([]any, error) {
	objs := celpolicy.AdmissionPolicies(s)
	out := make([]any, len(objs))
	for i, o := range objs {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, err
		}
		// A policy's empty status is the API server's to fill.
		delete(u, "status")
		out[i] = u
	}
	return out, nil
}

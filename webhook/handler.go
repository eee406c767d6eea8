package webhook

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/scaleguard/scaleguard/policies"
	"github.com/scaleguard/scaleguard/webhook/configuration"
)

// Paths the API server calls, as the webhook configurations name them.
const (
	PathMutateHPA        = configuration.PathMutateHPA
	PathValidateHPA      = configuration.PathValidateHPA
	PathMutateWorkload   = configuration.PathMutateWorkload
	PathValidateWorkload = configuration.PathValidateWorkload
	PathValidateVPA      = configuration.PathValidateVPA
	// PathValidateScaledObject judges KEDA ScaledObjects.
	PathValidateScaledObject = configuration.PathValidateScaledObject
)

// SettingsSource gives the settings in force now. The settings file can be
// reloaded while the server runs, so handlers ask for every review.
type SettingsSource interface {
	Current() *policies.Settings
}

// NamespacedSettings is a SettingsSource whose settings differ by
// namespace: the ClusterScalingStandards and ScalingStandards
// (standards.Store). Current gives the cluster-wide settings (what is
// exempt); For the settings a namespace's objects are judged with, whose
// Source every finding names.
type NamespacedSettings interface {
	SettingsSource
	For(namespace string) *policies.Settings
}

// StaticSettings is a SettingsSource that never changes.
type StaticSettings struct{ S *policies.Settings }

// Current returns the settings.
func (s StaticSettings) Current() *policies.Settings { return s.S }

// decide is the part of a handler that differs between resources: it turns
// one request into a response, given the settings, and names the result
// for the metrics. An error is a failure of scaleguard itself, answered
// with HTTP 500; what is wrong with the object is a response.
type decide[D any] func(ctx context.Context, req *request[D], s *policies.Settings) (admission.Response, string, error)

// handler is the mechanism shared by every endpoint: skip what is not ours,
// time the call, recover from a bug without taking the server down, count
// the outcome. D is the document type the object is decoded into.
type handler[D any] struct {
	name     string
	settings SettingsSource
	// cluster is what is known of the rest of the cluster (the informer
	// caches); nil when nothing is, and the rules that need it are skipped.
	cluster policies.Cluster
	metrics *Metrics
	log     logr.Logger
	decide  decide[D]
	// failOpen turns a refusal of the object (malformed, of the wrong
	// kind) into an admission with a warning: a mutating webhook's refusal
	// is a denial whatever its failurePolicy, and the validating webhook,
	// which runs after it, still judges the final object. A failure of
	// scaleguard itself is not a refusal but an HTTP 500, for the
	// failurePolicy.
	failOpen bool
}

// answer judges one request. The error is a failure of scaleguard itself:
// decide's, or a panic, which is logged with its stack and counted as
// result "panic".
func (h *handler[D]) answer(ctx context.Context, req *request[D]) (resp admission.Response, err error) {
	start := time.Now()
	result := "error"
	defer func() {
		if p := recover(); p != nil {
			h.log.Error(fmt.Errorf("panic: %v", p), "review failed", "uid", req.UID, "stack", string(debug.Stack()))
			resp, result = admission.Response{}, "panic"
			err = fmt.Errorf("scaleguard failed on %s %s; this is a bug, see the scaleguard logs", req.Kind.Kind, objectName(req.Namespace, req.Name))
		}
		h.metrics.review(h.name, result, time.Since(start))
		if result == "denied" && !resp.Allowed {
			h.metrics.refusal(req.Namespace, req.DryRun != nil && *req.DryRun)
		}
	}()
	s := h.settings.Current()
	// Subresources (/scale, /status) are written by controllers and must
	// never be judged; the webhook configurations exclude them, this is the
	// second line of defence. DELETE and CONNECT carry nothing to judge.
	if req.SubResource != "" || (req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) {
		result = "skipped"
		return admission.Allowed(""), nil
	}
	// An exempt namespace (listed, or labelled to opt out) is skipped before
	// any work, as the rules would skip it; the webhook configurations'
	// namespaceSelector and matchConditions normally keep it away already.
	if policies.NamespaceExempt(s, h.cluster, req.Namespace) {
		result = "skipped"
		return admission.Allowed(""), nil
	}
	if n, ok := h.settings.(NamespacedSettings); ok {
		s = n.For(req.Namespace)
	}
	injectFault(h.name, req.Name)
	resp, result, err = h.decide(ctx, req, s)
	if err != nil {
		return admission.Response{}, err
	}
	if h.failOpen && !resp.Allowed {
		msg := "scaleguard could not judge this object"
		if resp.Result != nil {
			msg = resp.Result.Message
		}
		resp = admission.Allowed("").WithWarnings("scaleguard did not mutate: " + msg)
	}
	return resp, nil
}

// invalid refuses a request whose object scaleguard cannot read: the
// writer's mistake, answered with a 400 inside the review.
func invalid(err error) (admission.Response, string, error) {
	return admission.Errored(http.StatusBadRequest, err), "error", nil
}

// respond turns findings into the admission response: denials in the
// message, the rest as warnings short enough for kubectl to print.
func respond(kind, namespace, name string, findings policies.Findings) (admission.Response, string) {
	var denied, warnings []string
	for _, f := range findings {
		switch f.Action {
		case policies.Deny:
			denied = append(denied, f.String())
		default:
			warnings = append(warnings, f.String())
		}
	}
	if len(denied) > 0 {
		msg := fmt.Sprintf("scaleguard refused %s %s: %s", kind, objectName(namespace, name), strings.Join(capped(denied), "; "))
		return admission.Denied(msg).WithWarnings(capped(warnings)...), "denied"
	}
	return admission.Allowed("").WithWarnings(capped(warnings)...), "allowed"
}

// maxListed bounds what one answer lists: an object with a thousand
// containers must not produce a megabyte of message for kubectl to print
// and the API server to log. The first ones show what to fix.
const maxListed = 20

func capped(items []string) []string {
	if len(items) <= maxListed {
		return items
	}
	return append(items[:maxListed:maxListed], fmt.Sprintf("… and %d more", len(items)-maxListed))
}

func objectName(namespace, name string) string {
	if name == "" {
		name = "(generated name)"
	}
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func (h *handler[D]) count(req *request[D], kind string, findings policies.Findings) {
	dryRun := req.DryRun != nil && *req.DryRun
	for _, f := range findings {
		h.metrics.decision(f.Rule, string(f.Action), kind, string(req.Operation), dryRun)
	}
}

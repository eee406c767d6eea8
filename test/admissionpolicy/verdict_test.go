package admissionpolicy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/scaleguard/scaleguard/internal/fieldpath"
	"github.com/scaleguard/scaleguard/policies"
)

// warnings collects the warning headers of the requests made with its
// context (rest.Config.WarningHandlerWithContext).
type warnings struct{}

type warningsKey struct{}

type warningList struct {
	mu    sync.Mutex
	texts []string
}

func (warnings) HandleWarningHeaderWithContext(ctx context.Context, _ int, _ string, text string) {
	if l, ok := ctx.Value(warningsKey{}).(*warningList); ok {
		l.mu.Lock()
		l.texts = append(l.texts, text)
		l.mu.Unlock()
	}
}

// answer is what the API server answered one dry-run write.
type answer struct {
	// err is the refusal, nil when admitted.
	err error
	// object is the object the API server would store.
	object *unstructured.Unstructured
	// warnings as sent, in order.
	warnings []string
}

// dryRun writes c once, server-side dry-run, and records the answer.
func dryRun(ctx context.Context, c client.Client, tc testCase, edit func(*unstructured.Unstructured)) (answer, error) {
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(tc.obj), &obj.Object); err != nil {
		return answer{}, fmt.Errorf("%s: %w", tc.name, err)
	}
	if edit != nil {
		edit(obj)
	}
	l := &warningList{}
	ctx = context.WithValue(ctx, warningsKey{}, l)
	var err error
	if tc.stored != "" {
		current := &unstructured.Unstructured{}
		current.SetGroupVersionKind(obj.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), current); err != nil {
			return answer{}, fmt.Errorf("%s: the stored object: %w", tc.name, err)
		}
		obj.SetResourceVersion(current.GetResourceVersion())
		err = c.Update(ctx, obj, client.DryRunAll)
	} else {
		err = c.Create(ctx, obj, client.DryRunAll)
	}
	a := answer{err: err, warnings: l.texts}
	if err == nil {
		a.object = obj
	} else if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
		return a, fmt.Errorf("%s: %w", tc.name, err)
	}
	return a, nil
}

// findings is an answer read as scaleguard's findings: the refusal's
// (all of the webhook's, one rule's for a policy), the warnings', and
// anything else the API server said.
type findings struct {
	// refusedAs is the denial's "<Kind> <namespace/name>" part.
	refusedAs string
	denials   []string
	warnings  []string
	// other is a refusal that is not scaleguard's (the API server's own
	// validation) and warnings that are not findings.
	other []string
	code  int32
}

// Envelopes the API server puts around a message.
var (
	policyWarning = regexp.MustCompile(`^Validation failed for ValidatingAdmissionPolicy '(scaleguard-[a-z-]+)' with binding '(scaleguard-[a-z-]+)': `)
	ruleIDs       = func() string {
		var ids []string
		for _, r := range policies.Catalogue() {
			ids = append(ids, regexp.QuoteMeta(r.ID))
		}
		return strings.Join(ids, "|")
	}()
	findingStart  = regexp.MustCompile(`^\[(` + ruleIDs + `)\] `)
	joinedFinding = regexp.MustCompile(`; \[(` + ruleIDs + `)\] `)
)

func read(a answer) findings {
	var f findings
	if a.err != nil {
		var status apierrors.APIStatus
		if errors.As(a.err, &status) {
			f.code = status.Status().Code
		}
		msg := a.err.Error()
		if _, list, ok := strings.Cut(msg, "scaleguard refused "); ok {
			kind, rest, _ := strings.Cut(list, ": ")
			f.refusedAs = kind
			f.denials = splitFindings(rest)
		} else {
			f.other = append(f.other, msg)
		}
	}
	for _, w := range a.warnings {
		w = policyWarning.ReplaceAllString(w, "")
		if findingStart.MatchString(w) {
			f.warnings = append(f.warnings, w)
		} else {
			f.other = append(f.other, "warning: "+w)
		}
	}
	return f
}

// splitFindings splits "[a] x: y; [b] z: w" at each "; [rule] ".
func splitFindings(list string) []string {
	var out []string
	for {
		loc := joinedFinding.FindStringIndex(list)
		if loc == nil {
			return append(out, list)
		}
		out = append(out, list[:loc[0]])
		list = list[loc[0]+2:]
	}
}

// parse reads "[rule] path: message".
func parse(s string, action policies.Action) policies.Finding {
	rule, rest, _ := strings.Cut(strings.TrimPrefix(s, "["), "] ")
	path, msg, _ := strings.Cut(rest, ": ")
	return policies.Finding{Rule: rule, Action: action, Path: fieldpath.Parse(path), Message: msg}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

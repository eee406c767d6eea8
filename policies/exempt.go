package policies

import (
	"fmt"
	"strings"
)

// Annotations through which an object opts out of named rules. The reason is
// required so that every exemption can be audited later.
const (
	AnnotationExempt       = "scaleguard.io/exempt"
	AnnotationExemptReason = "scaleguard.io/exempt-reason"
)

var pathExempt = pathMetadata.Child("annotations").Key(AnnotationExempt)

// exemptions reads the exemption annotations (exemption-reason): scaleguard's
// own, with no upstream counterpart. It returns the exempt rule IDs
// and findings for exemptions that cannot be honoured; an exemption that is
// not honoured leaves every rule in force.
func exemptions(annotations map[string]string, s *Settings) (map[string]bool, Findings) {
	value, ok := annotations[AnnotationExempt]
	if !ok {
		return nil, nil
	}
	problem := func(msg string) Findings {
		return Findings{{Rule: ExemptionReason, Action: Deny, Path: pathExempt, Message: msg}}
	}
	if !s.ExemptionAnnotations {
		return nil, problem("exemption annotations are turned off in scaleguard's settings; every rule applies")
	}
	if strings.TrimSpace(annotations[AnnotationExemptReason]) == "" {
		return nil, problem(fmt.Sprintf("exemption ignored: add annotation %s saying why", AnnotationExemptReason))
	}
	exempt := map[string]bool{}
	var unknown []string
	for _, id := range strings.Split(value, ",") {
		id = strings.TrimSpace(id)
		switch {
		case id == "":
		case id == "*":
			for _, r := range catalogue {
				exempt[r.ID] = true
			}
		case Known(id):
			exempt[id] = true
		default:
			unknown = append(unknown, id)
		}
	}
	// The rule that polices exemptions cannot exempt itself.
	delete(exempt, ExemptionReason)
	if len(unknown) > 0 {
		return exempt, problem(fmt.Sprintf("unknown rule %s in %s; use rule IDs from docs/rules.md, comma-separated",
			strings.Join(quoteAll(unknown), ", "), AnnotationExempt))
	}
	return exempt, nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// githubCommand is the GitHub Actions workflow command of a finding's
// action: a refusal is an error, a warning a warning, and a mutation, which
// scaleguard makes itself, a notice.
func githubCommand(a policies.Action) string {
	switch a {
	case policies.Deny:
		return "error"
	case policies.Warn:
		return "warning"
	default:
		return "notice"
	}
}

// writeGitHub prints one workflow command per finding, which GitHub Actions
// shows as an annotation on the file and line of the pull request, and the
// summary line of the text output.
func writeGitHub(r manifests.Report, w io.Writer) error {
	for res, f := range r.Located() {
		props := []string{
			"file=" + escapeGitHubProperty(res.Doc.File),
			"line=" + strconv.Itoa(f.Line),
			"col=" + strconv.Itoa(f.Column),
			"title=" + escapeGitHubProperty("scaleguard "+f.Rule),
		}
		msg := fmt.Sprintf("%s %s: %s: %s", res.Doc.Kind, objectName(res.Doc), f.Path, f.Message)
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", githubCommand(f.Action), strings.Join(props, ","), escapeGitHubData(msg)); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, r.Summary())
	return err
}

// escapeGitHubData escapes a workflow command's message as the runner
// unescapes it: "%", which starts an escape, and CR and LF, which would end
// the command. The replacer makes one pass, so no escape is escaped twice.
func escapeGitHubData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeGitHubProperty escapes a property value: as data, and ":" and ","
// too, which separate the properties from each other and from the message.
func escapeGitHubProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

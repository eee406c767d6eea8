package policies

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestFindingJSON: a finding is written as it was when its path was a
// string, {"rule","action","path","message"} with the path as field.Path
// writes it, and reads back to the same finding.
func TestFindingJSON(t *testing.T) {
	f := Finding{Rule: MemoryTarget, Action: Deny, Path: pathMetrics.Index(0).Child("containerResource", "container"), Message: "m"}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"rule":"memory-target","action":"deny","path":"spec.metrics[0].containerResource.container","message":"m"}`
	if string(data) != want {
		t.Errorf("JSON\n%s\nwant\n%s", data, want)
	}
	var back Finding
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.String() != f.String() || back.Action != f.Action {
		t.Errorf("read back as %v, want %v", back, f)
	}
	if got := (Finding{Rule: ExemptionReason, Action: Deny, Path: pathExempt, Message: "m"}).String(); got != "[exemption-reason] metadata.annotations[scaleguard.io/exempt]: m" {
		t.Errorf("String() = %q", got)
	}
}

// TestNotCheckedIsMarked: a rule that could not look the cluster up says
// so in data, not only in its message.
func TestNotCheckedIsMarked(t *testing.T) {
	for _, err := range []error{ErrUnknown, errors.New("timeout")} {
		f := notChecked(DuplicateHPA, "the other HPAs", err)
		if !f.Unchecked || f.Action != Warn || f.Path.String() != "metadata" {
			t.Errorf("%v: %+v", err, f)
		}
	}
}

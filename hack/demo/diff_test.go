package main

import "testing"

func TestUnifiedDiff(t *testing.T) {
	tests := map[string]struct {
		a, b    string
		context int
		want    string
	}{
		"equal": {a: "x\ny\n", b: "x\ny\n", context: 3, want: ""},
		"changed line": {
			a:       "spec:\n  maxReplicas: 8\n  minReplicas: 1\n  scaleTargetRef: {}\n",
			b:       "spec:\n  maxReplicas: 8\n  minReplicas: 2\n  scaleTargetRef: {}\n",
			context: 1,
			want: "--- a\n+++ b\n@@ -2,3 +2,3 @@\n" +
				"   maxReplicas: 8\n-  minReplicas: 1\n+  minReplicas: 2\n   scaleTargetRef: {}\n",
		},
		"insertion at the start": {
			a: "b\nc\n", b: "a\nb\nc\n", context: 1,
			want: "--- a\n+++ b\n@@ -1 +1,2 @@\n+a\n b\n",
		},
		"into empty": {
			a: "", b: "a\n", context: 3,
			want: "--- a\n+++ b\n@@ -0,0 +1 @@\n+a\n",
		},
		"two hunks": {
			a: "1\n2\n3\n4\n5\n6\n7\n8\n", b: "1\nX\n3\n4\n5\n6\nY\n8\n", context: 1,
			want: "--- a\n+++ b\n@@ -1,3 +1,3 @@\n 1\n-2\n+X\n 3\n@@ -6,3 +6,3 @@\n 6\n-7\n+Y\n 8\n",
		},
		"close changes merge": {
			a: "1\n2\n3\n4\n5\n", b: "1\nX\n3\nY\n5\n", context: 1,
			want: "--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n-4\n+Y\n 5\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := unifiedDiff("a", "b", tc.a, tc.b, tc.context); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

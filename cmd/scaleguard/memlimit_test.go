package main

import (
	"strings"
	"testing"
)

func TestGoMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		want    int64
		wantErr string
	}{
		{env: nil, want: 0},
		{env: map[string]string{memoryLimitEnv: "268435456"}, want: 241591910},
		{env: map[string]string{memoryLimitEnv: "268435456", "GOMEMLIMIT": "100MiB"}, want: 0},
		{env: map[string]string{memoryLimitEnv: "256Mi"}, wantErr: "in bytes"},
		{env: map[string]string{memoryLimitEnv: "0"}, wantErr: "in bytes"},
		{env: map[string]string{memoryLimitEnv: "-5"}, wantErr: "in bytes"},
	} {
		got, err := goMemoryLimit(func(k string) string { return tc.env[k] })
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), memoryLimitEnv) {
				t.Errorf("%v: error %v, want one naming %s and %q", tc.env, err, memoryLimitEnv, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: %d, %v; want %d", tc.env, got, err, tc.want)
		}
	}
}

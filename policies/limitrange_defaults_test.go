package policies

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// The cases are read out of k8s.io/kubernetes v1.37.2
// pkg/apis/core/v1/defaults.go SetDefaults_LimitRangeItem: max fills
// default, then default fills defaultRequest, then min fills what
// defaultRequest still lacks; only items of type Container are defaulted.
func TestApplyLimitRangeDefaults(t *testing.T) {
	empty := corev1.ResourceList{}
	tests := map[string]struct {
		item corev1.LimitRangeItem
		want corev1.LimitRangeItem
	}{
		"max only: default and defaultRequest become max": {
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: res("cpu", "2", "memory", "1Gi")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: res("cpu", "2", "memory", "1Gi"),
				Default: res("cpu", "2", "memory", "1Gi"), DefaultRequest: res("cpu", "2", "memory", "1Gi")},
		},
		"default only: defaultRequest becomes default": {
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Default: res("cpu", "500m")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Default: res("cpu", "500m"), DefaultRequest: res("cpu", "500m")},
		},
		"defaultRequest only: nothing else is filled": {
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, DefaultRequest: res("memory", "64Mi")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Default: empty, DefaultRequest: res("memory", "64Mi")},
		},
		"min only: defaultRequest becomes min, default stays empty": {
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: res("cpu", "50m")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: res("cpu", "50m"), Default: empty, DefaultRequest: res("cpu", "50m")},
		},
		"min and max: defaultRequest comes from default (max) before min": {
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: res("cpu", "50m"), Max: res("cpu", "2")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: res("cpu", "50m"), Max: res("cpu", "2"),
				Default: res("cpu", "2"), DefaultRequest: res("cpu", "2")},
		},
		"default and min: defaultRequest comes from default, not min": {
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: res("cpu", "50m"), Default: res("cpu", "1")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: res("cpu", "50m"), Default: res("cpu", "1"), DefaultRequest: res("cpu", "1")},
		},
		"written default and defaultRequest are kept over max and min": {
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: res("cpu", "10m"), Max: res("cpu", "4"),
				Default: res("cpu", "1"), DefaultRequest: res("cpu", "200m")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: res("cpu", "10m"), Max: res("cpu", "4"),
				Default: res("cpu", "1"), DefaultRequest: res("cpu", "200m")},
		},
		"each resource on its own: max cpu, min memory": {
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: res("cpu", "2"), Min: res("memory", "32Mi")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: res("cpu", "2"), Min: res("memory", "32Mi"),
				Default: res("cpu", "2"), DefaultRequest: res("cpu", "2", "memory", "32Mi")},
		},
		"max with a written defaultRequest: only what it lacks is filled": {
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: res("cpu", "2", "memory", "1Gi"), DefaultRequest: res("cpu", "100m")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: res("cpu", "2", "memory", "1Gi"),
				Default: res("cpu", "2", "memory", "1Gi"), DefaultRequest: res("cpu", "100m", "memory", "1Gi")},
		},
		"type Pod is not defaulted": {
			item: corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: res("cpu", "4"), Min: res("cpu", "100m")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: res("cpu", "4"), Min: res("cpu", "100m")},
		},
		"type PersistentVolumeClaim is not defaulted": {
			item: corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim, Max: res("storage", "10Gi")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim, Max: res("storage", "10Gi")},
		},
		"nothing set: empty default and defaultRequest": {
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Default: empty, DefaultRequest: empty},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			lr := &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{tc.item}}}
			ApplyLimitRangeDefaults(lr)
			if got := lr.Spec.Limits[0]; !apiequality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("defaulted to\n%+v\nwant\n%+v", got, tc.want)
			}
			again := lr.DeepCopy()
			ApplyLimitRangeDefaults(again)
			if !apiequality.Semantic.DeepEqual(again, lr) {
				t.Errorf("defaulting twice changed the LimitRange:\n%+v\nthen\n%+v", lr.Spec, again.Spec)
			}
		})
	}
}

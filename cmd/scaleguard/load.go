package main

import (
	"io"

	"github.com/scaleguard/scaleguard/explain"
	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// loadHPAs reads the settings and the manifests and returns their HPAs as
// the webhook would store them, for explain and simulate.
func loadHPAs(configPath string, files []string, stdin io.Reader) (policies.Settings, []explain.HPA, error) {
	settings, err := loadSettings(configPath)
	if err != nil {
		return settings, nil, err
	}
	docs, err := manifests.Load(files, stdin)
	if err != nil {
		return settings, nil, err
	}
	hpas, err := explain.LoadHPAs(docs, &settings)
	return settings, hpas, err
}

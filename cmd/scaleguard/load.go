package main

import (
	"io"

	"github.com/scaleguard/scaleguard/explain"
	"github.com/scaleguard/scaleguard/manifests"
	"github.com/scaleguard/scaleguard/policies"
)

// loadHPAs reads the settings (the --config file, and the standards of
// standardFiles when given) and the manifests, and returns their HPAs as
// the webhook would store them, with the settings each HPA's namespace is
// judged with, for explain and simulate.
func loadHPAs(configPath string, standardFiles, files []string, stdin io.Reader) (func(namespace string) *policies.Settings, []explain.HPA, error) {
	settings, err := loadSettings(configPath)
	if err != nil {
		return nil, nil, err
	}
	docs, err := manifests.Load(files, stdin)
	if err != nil {
		return nil, nil, err
	}
	forNamespace := func(string) *policies.Settings { return &settings }
	if len(standardFiles) > 0 {
		store, err := loadStandards(standardFiles, stdin, &settings, docs)
		if err != nil {
			return nil, nil, err
		}
		forNamespace = store.For
	}
	hpas, err := explain.LoadHPAsWith(docs, &settings, forNamespace)
	return forNamespace, hpas, err
}

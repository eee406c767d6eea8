# scaleguard — every tool version is pinned in go.mod files: the project's
# own (libraries) and hack/tools/**/go.mod (kube-apiserver, kubectl, etcd,
# helm for the test bed). Nothing is downloaded at run time except modules
# through the Go module proxy.

SHELL := /usr/bin/env bash -o pipefail
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Short fuzz runs in `make test`; `make fuzz-short FUZZTIME=2000000x` for a
# real session. A count, not a duration: with a duration, Go 1.26's fuzzing
# coordinator can fail a clean run with "context deadline exceeded" as time
# runs out (golang/go#75804, fixed in Go 1.27), as it did once in CI here.
FUZZTIME ?= 20000x
FUZZ_TARGETS := ./webhook:FuzzHPAMutator ./webhook:FuzzWorkloadValidator ./webhook:FuzzReviewBody \
	./policies:FuzzParseSettings ./policies/scaling:FuzzFastestPath ./internal/patch:FuzzForDocument \
	./policies/celpolicy:FuzzConditionsNeverFail ./standards:FuzzResolve ./manifests:FuzzPositions \
	./internal/fieldpath:FuzzParse

# The test bed's binaries live in a cache folder keyed by their pins; only
# hack/build-tools.sh computes the key.
TOOLS_BIN := $(shell hack/build-tools.sh --print-dir)
export KUBEBUILDER_ASSETS := $(TOOLS_BIN)

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "usage: make \033[36m<target>\033[0m\n"} \
		/^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } \
		/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Run

.PHONY: check-examples
check-examples: build ## Run `scaleguard check` over examples/ (no cluster needed).
	@echo "\$$ scaleguard check -f examples/"
	@$(BIN)/scaleguard check -f examples/; rc=$$?; \
	  echo; echo "exit code $$rc (1 = something was denied, as the bad examples should be)"; \
	  [ $$rc -le 1 ]
	@echo; echo "\$$ scaleguard check --fix -f examples/04-checkout-hpa-minimal.yaml"
	@$(BIN)/scaleguard check --fix -f examples/04-checkout-hpa-minimal.yaml 2>/dev/null

.PHONY: demo
demo: tools ## Start etcd, kube-apiserver and scaleguard here, apply examples/, show the verdicts; stays up until `make demo-stop` (DEMO_FLAGS=--once: exit after).
	$(GO) run ./hack/demo $(DEMO_FLAGS)

.PHONY: demo-stop
demo-stop: ## Stop the cluster `make demo` left running, and wait until it is down.
	@$(GO) run ./hack/demo --stop

##@ Build

.PHONY: build
build: ## Build bin/scaleguard.
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/scaleguard ./cmd/scaleguard

.PHONY: chart-docs
chart-docs: ## Regenerate the chart README's values table from values.yaml.
	$(GO) run ./hack/chartdoc -chart charts/scaleguard

.PHONY: chart-schema
chart-schema: ## Regenerate settings.rules in the chart's values.schema.json (every rule and the actions it accepts) from the rule catalogue, policies/rules.go.
	$(GO) run ./hack/chartschema -chart charts/scaleguard

.PHONY: generate
generate: chart-docs chart-schema ## Regenerate every generated file: the CRDs and deepcopy of api/ (controller-gen, pinned in hack/tools/controller-gen), the webhook configurations of config/webhook and the chart (from webhook/configuration), the chart's admission policies (scaleguard export), the report CRDs the chart can install (copied from the modules pinned in hack/crds), chart-docs and chart-schema. Tests fail when one is stale.
	hack/gen-api.sh
	hack/gen-report-crds.sh
	$(GO) run ./hack/gen-webhooks
	$(GO) run ./cmd/scaleguard export --format admission-policy > charts/scaleguard/files/admission-policies.yaml

##@ Test

.PHONY: test
test: lint tools unit fuzz-short oracle-short promrules gitops ## Everything CI runs: lint, unit, handler and end-to-end tests, short fuzzing, the short differential against the real HPA controller, the dashboard and alerts checked with Prometheus's own code, the GitOps diffs.

.PHONY: lint
lint: $(BIN)/golangci-lint ## gofmt, go vet, golangci-lint (the linters of .golangci.yml, pinned in hack/tools/golangci-lint) and tidy go.mod files.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/golangci-lint run ./...
	@# The test modules require this one: a change to its go.mod is theirs too.
	@for m in . test/oracle test/promrules test/gitops; do (cd $$m && GOWORK=off $(GO) mod tidy -diff >/dev/null) || { echo "go.mod of $$m is not tidy: cd $$m && GOWORK=off go mod tidy"; exit 1; }; done

# Rebuilt when its pin moves; the Go build cache makes an unchanged one quick.
$(BIN)/golangci-lint: hack/tools/golangci-lint/go.mod hack/tools/golangci-lint/go.sum
	cd hack/tools/golangci-lint && GOWORK=off GOFLAGS=-mod=readonly $(GO) build -o $(CURDIR)/$(BIN)/golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint

# The end-to-end tests whose rules read workloads (targets, a namespace's
# workloads, the audit), run a second time against `scaleguard serve
# --watch-workloads=true`, which keeps them in informers.
E2E_WATCHING = ^(TestRuleTableThroughTheAPIServer|TestAppliedTogether|TestTarget.*|TestUtilizationReachable|TestScaleTargetKind.*|TestQuotaCeilingDrainAtMinimumSelectorOverlap|TestHPAVPAConflict|TestScaledObjects|TestExemptNamespacesNeverReviewedNorAudited)$$

.PHONY: test-unit
test-unit: ## The unit tests alone (-short: no kube-apiserver, etcd, kubectl or helm; nothing under test/), for the edit-test loop; make test runs everything.
	$(GO) test -short -count=1 $$($(GO) list ./... | grep -v '/test/')

.PHONY: unit
unit: ## Unit, golden, handler and end-to-end tests (the last need `make tools`); the end-to-end tests that read workloads again with --watch-workloads=true.
	$(GO) test -count=1 ./...
	SCALEGUARD_E2E_SERVE_ARGS=--watch-workloads=true $(GO) test -count=1 ./test/e2e -run '$(E2E_WATCHING)'

.PHONY: fuzz-short
fuzz-short: ## Run each fuzz target for FUZZTIME (default 20000x: 20,000 inputs).
	@mkdir -p $(BIN); set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) >$(BIN)/fuzz.log 2>&1 || { cat $(BIN)/fuzz.log; exit 1; }; \
	done

# The oracle (test/oracle, its own module pinning k8s.io/kubernetes): random
# HPAs and metric traces through the real HPA controller and through
# `scaleguard simulate`'s replay, compared at every sync, plus the
# controller's own table tests. `make oracle N=10000 SEED=2` for a long run;
# disagreements are written to bin/oracle/ as hpa.yaml + trace.csv.
ORACLE := cd test/oracle && GOWORK=off
ORACLE_SHORT_N ?= 100
N ?= 10000
SEED ?= 1
SYNCS ?= 120

.PHONY: oracle-short
oracle-short: ## The short differential make test runs (ORACLE_SHORT_N=100 traces × 120 syncs) and every upstream table case, with vet of the oracle module.
	$(ORACLE) $(GO) vet ./...
	$(ORACLE) $(GO) test -count=1 ./... -oracle.n $(ORACLE_SHORT_N)

# The dashboard and alert tests (test/promrules, its own module pinning
# github.com/prometheus/prometheus): every PromQL expression of the chart's
# dashboard and PrometheusRule parsed by Prometheus's parser, every metric
# they name scraped from a running scaleguard serve (and the test bed's
# kube-apiserver), every alert evaluated by Prometheus's rule engine.
PROMRULES := cd test/promrules && GOWORK=off

.PHONY: promrules
promrules: tools ## Vet and run test/promrules (needs `make tools`: helm, the test bed).
	$(PROMRULES) $(GO) vet ./...
	$(PROMRULES) $(GO) test -count=1 -timeout 30m ./...

# The GitOps diffs (test/gitops, its own module pinning Argo CD's
# gitops-engine and, through its scheme, k8s.io/kubernetes): what Argo CD's
# diff strategies and kubectl diff show for HPAs scaleguard patched, through
# the test bed's API server. Cold (empty Go build cache) the module compiles
# in ~11 CPU-minutes (19.5 min wall on a busy 2-core machine, 1.3 GB of
# cache); warm, the run takes ~30 s, most of it starting the test bed.
GITOPS := cd test/gitops && GOWORK=off

.PHONY: gitops
gitops: tools ## Argo CD's own diff (gitops-engine) and the real kubectl diff over HPAs scaleguard patches, through the test bed, with vet of the gitops module.
	$(GITOPS) $(GO) vet ./...
	$(GITOPS) $(GO) test -count=1 ./...

.PHONY: oracle
oracle: ## The long differential: N random HPAs × traces (default 10000 × 120 syncs, SEED=1) through the real HPA controller and scaleguard (~31 CPU-minutes; 54 min on a busy 2-core machine).
	$(ORACLE) $(GO) test -count=1 -v -run 'TestDifferential|TestUpstreamTables' -timeout 4h . \
	  -oracle.n $(N) -oracle.seed $(SEED) -oracle.syncs $(SYNCS) -oracle.out $(CURDIR)/$(BIN)/oracle \
	  | grep -v -e '^=== ' -e '--- PASS: TestDifferential/cases/' -e '--- PASS: TestUpstreamTables/'

.PHONY: bench
bench: ## Benchmarks: each review through scaleguard, the stock controller-runtime path and the decode floor; the scaling analyses; the audit scan.
	$(GO) test -run '^$$' -bench 'Mix' -benchmem -count 5 ./test/load
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./webhook ./policies/scaling ./audit

##@ Test bed (real kube-apiserver, etcd, kubectl, helm built from the module proxy)

.PHONY: tools
tools: ## Build the pinned test-bed binaries into the cache folder (cold: ~10 min on 2 cores), and copy the pinned CRDs (hack/crds) beside them.
	hack/build-tools.sh
	hack/copy-crds.sh

.PHONY: kyverno
kyverno: ## Build the pinned Kyverno admission controller and copy its CRDs, for bench-apiserver (~5 min on 2 cores).
	hack/build-kyverno.sh

##@ Measure

# `make bench-load LOAD_FLAGS='-c 8 -duration 5s'` for one level, longer.
# A change against a build without it, in the same rounds (printed, not
# written to the docs): `go run ./test/load/cmd/loadgen -c 8 -rounds 6
# -duration 3s -in-process=false -b OTHER_SCALEGUARD_BINARY` (or -b-env
# GOGC=100 for this build with other settings; -help lists the rest).
LOAD_FLAGS ?=

.PHONY: bench-load
bench-load: ## Load `scaleguard serve` and the stock controller-runtime server over loopback TLS at 1-16 callers, every verdict checked; writes the Load section of docs/PERFORMANCE.md (~1 min).
	$(GO) run ./test/load/cmd/loadgen -doc docs/PERFORMANCE.md $(LOAD_FLAGS)

.PHONY: bench-apiserver
bench-apiserver: tools kyverno ## Deployment and HPA creates/s through the API server: no policy, a ValidatingAdmissionPolicy, a floor webhook, the stock controller-runtime webhook, scaleguard with and without its matchConditions, scaleguard's exported CEL policies, Kyverno (Deployments), a mixed stream with every verdict checked; writes a section of docs/PERFORMANCE.md (~12 min).
	SCALEGUARD_BENCH_APISERVER=1 $(GO) test -count=1 -v -run TestCreatesThroughTheAPIServer -timeout 30m ./test/apibench

# `make bench-apiserver-focus` settles one comparison with more rounds than the
# full run affords: by default issue 11's, compliant and 5 % violating
# Deployment creates and HPA creates with no policy, the
# ValidatingAdmissionPolicy and scaleguard: as installed (workloads read on
# demand), watching workloads, and without its cluster view.
BENCH_CONFIGS ?= ValidatingAdmissionPolicy;scaleguard;scaleguard, watching workloads;scaleguard, no cluster view
BENCH_KINDS ?= dep,mix,hpa
BENCH_ROUNDS ?= 12

.PHONY: bench-apiserver-focus
bench-apiserver-focus: tools ## A focused bench-apiserver: BENCH_CONFIGS (names separated by ';'; no policy always runs), BENCH_KINDS (dep,mix,hpa), BENCH_ROUNDS; writes its own section of docs/PERFORMANCE.md (~8 min as set).
	SCALEGUARD_BENCH_APISERVER=1 SCALEGUARD_BENCH_CONFIGS='$(BENCH_CONFIGS)' SCALEGUARD_BENCH_KINDS='$(BENCH_KINDS)' SCALEGUARD_BENCH_ROUNDS='$(BENCH_ROUNDS)' \
		$(GO) test -count=1 -v -run TestCreatesThroughTheAPIServer -timeout 30m ./test/apibench

.PHONY: bench-hpa-creates
bench-hpa-creates: tools ## 1,000 HPA creates beside 1,000 Deployments through the API server: creates/s and scaleguard's CPU per create (SCALEGUARD_BENCH_HPA_ARGS, SCALEGUARD_BENCH_HPA_PROFILE; ~30 s).
	SCALEGUARD_BENCH_HPA=1 $(GO) test -count=1 -v -run TestHPACreatesBesideAThousand -timeout 10m ./test/apibench

.PHONY: bench-policy-gates
bench-policy-gates: tools ## Compliant Deployment creates through the API server with the exported admission policies, with and without their gates (~1 min).
	SCALEGUARD_BENCH_GATES=1 $(GO) test -count=1 -v -run TestExportedPolicyGates -timeout 10m ./test/apibench

.PHONY: bench-rss
bench-rss: tools ## Resident memory of scaleguard serve with 10,000 Deployments and 10,000 HPAs stored, with and without the cluster view (~90 s).
	SCALEGUARD_BENCH_RSS=1 $(GO) test -count=1 -v -run TestClusterViewMemory -timeout 20m ./test/e2e

.PHONY: faults
faults: tools ## Fault injection at full length: SIGKILLs during 1,000 creates per failure policy (R3), 8 certificate rotations under load (R4), three rolling restarts of three replicas and a replica SIGKILL under 200 writes/s (R7, R8), an API server restart with 10,000 Deployments and 10,000 HPAs (R9); see docs/RELIABILITY.md (~8 min).
	$(GO) test -count=1 -v -timeout 20m ./test/faults -objects 1000 -rotations 8 -rolling-rounds 3 -after-kill 10s -restart-objects 10000

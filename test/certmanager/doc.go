// Package certmanager runs cert-manager in a test process: its controllers,
// CA injector and admission webhook, from the library packages of the
// cert-manager module that go.mod pins, against a test bed's API server.
//
// cert-manager's binaries (its cmd/ modules) are not on the Go module proxy,
// but everything they wire is a package of github.com/cert-manager/cert-manager:
// RunController builds a controller.ContextFactory and runs the registered
// controllers the way cmd/controller/app does; RunCAInjector registers
// cainjector.RegisterAllInjectors on a controller-runtime manager the way
// cmd/cainjector/app does; the webhook comes from the module's own
// test/webhook package, which runs the real webhook server and plugin chain.
// The module also ships its CRDs and its Helm chart (see Module), so a test
// installs cert-manager the way a cluster does and runs its three components
// as local processes, because no kubelet runs in the test bed.
//
// Each component can act as the ServiceAccount the chart gives it
// (ServiceAccountKubeconfig), so the chart's RBAC is what authorizes it.
package certmanager

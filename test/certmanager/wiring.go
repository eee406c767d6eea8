// This file is the one place that wires cert-manager's internal packages
// the way its binaries do (cmd/controller/app, cmd/cainjector/app and the
// webhook's test server). Those packages are not a stable API: each
// cert-manager upgrade must re-read the cmd/ packages of the new version
// and bring this wiring in step. WiredVersion names the version it was
// read from, and TestWiringMatchesThePinnedVersion fails when go.mod pins
// another.

package certmanager

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	kscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cmscheme "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/scheme"
	"github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	ingressshim "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/ingresses"
	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	certificatesmetrics "github.com/cert-manager/cert-manager/pkg/controller/certificates/metrics"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	"github.com/cert-manager/cert-manager/pkg/util"
	"github.com/cert-manager/cert-manager/pkg/webhook/server"
	cmwebhooktest "github.com/cert-manager/cert-manager/test/webhook"
	// The Issuer and ClusterIssuer controllers find an issuer type's
	// implementation in a registry these packages fill when imported, as
	// cmd/controller's imports do.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// WiredVersion is the cert-manager version whose cmd/ packages this file
// follows.
const WiredVersion = "v1.21.2"

// StartWebhook runs cert-manager's webhook server on port until the test
// ends, with the serving setup of the chart's webhook Deployment: it creates
// a CA in the Secret cert-manager/cert-manager-webhook-ca, which the CA
// injector copies into the chart's webhook configurations, and serves a
// certificate that CA signs. The chart names the webhook's Service in that
// certificate; here the API server calls https://localhost:port
// (webhook.url.host), so localhost is one of the names.
func StartWebhook(t *testing.T, kubeconfig string, port int) {
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--dynamic-serving-ca-secret-namespace=cert-manager",
		"--dynamic-serving-ca-secret-name=cert-manager-webhook-ca",
		"--dynamic-serving-dns-names=cert-manager-webhook,cert-manager-webhook.cert-manager,cert-manager-webhook.cert-manager.svc,localhost",
	}
	_, stop := cmwebhooktest.StartWebhookServer(t, args, func(s *server.Server) { s.ListenAddr = port })
	t.Cleanup(stop)
}

// Controllers are the controllers RunController starts by default: those
// cert-manager v1.21 enables by default, less the ACME (orders, challenges,
// certificaterequests-issuer-acme), Vault and Venafi ones. Those issuers need
// an outside service, and their packages would bring every DNS provider's
// SDK into this module's build; the SelfSigned and CA issuers the chart uses
// need nothing outside the cluster.
func Controllers() []string {
	return []string{
		issuers.ControllerName,
		clusterissuers.ControllerName,
		certificatesmetrics.ControllerName,
		ingressshim.ControllerName,
		approver.ControllerName,
		crca.CRControllerName,
		crselfsigned.CRControllerName,
		trigger.ControllerName,
		issuing.ControllerName,
		keymanager.ControllerName,
		requestmanager.ControllerName,
		readiness.ControllerName,
		revisionmanager.ControllerName,
	}
}

// ControllerOptions configure RunController. Defaults are the controller's
// own (cert-manager's ControllerConfiguration defaults).
type ControllerOptions struct {
	// Kubeconfig is the kubeconfig file the controllers connect with.
	Kubeconfig string
	// Namespace limits the controllers to one namespace; "" watches all.
	Namespace string
	// ClusterResourceNamespace holds the Secrets of ClusterIssuers; the chart
	// sets it to cert-manager's namespace, "cert-manager" by default.
	ClusterResourceNamespace string
	// Controllers to run, Controllers() by default.
	Controllers []string
	// Workers per controller, 5 by default.
	Workers int
}

// RunController runs cert-manager's controllers until ctx ends, wired as
// cmd/controller/app's Run wires them, without leader election (one
// replica), metrics, health or profiling servers. Logs go to the logr.Logger
// in ctx. It returns the first controller's error, or nil after a clean
// stop.
func RunController(ctx context.Context, o ControllerOptions) error {
	if o.ClusterResourceNamespace == "" {
		o.ClusterResourceNamespace = "cert-manager"
	}
	if o.Controllers == nil {
		o.Controllers = Controllers()
	}
	if o.Workers == 0 {
		o.Workers = 5
	}
	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         o.Kubeconfig,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		Namespace:          o.Namespace,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace: o.ClusterResourceNamespace,
		},
		CertificateOptions: controller.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: 60},
	})
	if err != nil {
		return fmt.Errorf("cert-manager controller context: %w", err)
	}
	base, err := factory.Build()
	if err != nil {
		return err
	}

	// Every controller registers its informers on the shared factories
	// while it is built; the factories start once all of them are.
	known := controller.Known()
	loops := make(map[string]controller.Interface, len(o.Controllers))
	for _, name := range o.Controllers {
		build, ok := known[name]
		if !ok {
			return fmt.Errorf("cert-manager controller %q is not registered: import its package", name)
		}
		if loops[name], err = build(factory); err != nil {
			return fmt.Errorf("building cert-manager controller %s: %w", name, err)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(loops))
	for name, loop := range loops {
		go func() {
			err := loop.Run(o.Workers, ctx)
			if err != nil && ctx.Err() == nil {
				err = fmt.Errorf("cert-manager controller %s: %w", name, err)
				cancel() // one controller down stops them all, as in cmd
			} else {
				err = nil
			}
			errs <- err
		}()
	}
	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	var all []error
	for range loops {
		all = append(all, <-errs)
	}
	base.HTTP01ResourceMetadataInformersFactory.Shutdown()
	base.KubeSharedInformerFactory.Shutdown()
	base.SharedInformerFactory.Shutdown()
	return errors.Join(all...)
}

// RunCAInjector runs cert-manager's CA injector until ctx ends, connecting
// with kubeconfig: the manager cmd/cainjector/app builds (same scheme, same
// cache that never holds Secret data) with every injectable kind and the
// Certificate data source enabled, as by default, without leader election,
// metrics or health servers. Logs go to the logr.Logger in ctx.
func RunCAInjector(ctx context.Context, kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg = util.RestConfigWithUserAgent(cfg, "cainjector")

	scheme := runtime.NewScheme()
	utilruntime.Must(kscheme.AddToScheme(scheme))
	utilruntime.Must(cmscheme.AddToScheme(scheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(scheme))
	utilruntime.Must(apiregistrationv1.AddToScheme(scheme))

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		Logger: logr.FromContextOrDiscard(ctx),
		Cache:  cache.Options{ReaderFailOnMissingInformer: true},
		// Secrets are read from the API server, never cached: cainjector's
		// choice, to avoid listing every Secret of the cluster.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		// controller-runtime refuses a second controller of the same name in
		// one process; a test run with -count=2 starts the injector twice.
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return fmt.Errorf("cainjector manager: %w", err)
	}
	err = cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		EnableCertificatesDataSource: true,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   true,
			cainjector.ValidatingWebhookConfigurationName: true,
			cainjector.APIServiceName:                     true,
			cainjector.CustomResourceDefinitionName:       true,
		},
	})
	if err != nil {
		return fmt.Errorf("cainjector: %w", err)
	}
	return mgr.Start(ctx)
}

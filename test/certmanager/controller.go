package certmanager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cert-manager/cert-manager/pkg/controller"
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
	// The Issuer and ClusterIssuer controllers find an issuer type's
	// implementation in a registry these packages fill when imported, as
	// cmd/controller's imports do.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

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

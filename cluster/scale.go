package cluster

import (
	"fmt"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// DefaultDiscoveryTTL is how long a group-version's resource list is reused.
// Scale subresources change only when a CRD is installed or changed.
const DefaultDiscoveryTTL = time.Minute

// discoveryTimeout bounds one discovery call, well inside the webhook's
// five-second timeout: a slow API server costs a "not checked" warning,
// never the admission request.
const discoveryTimeout = 2 * time.Second

// resourceLister is the part of a discovery client scaleDiscovery uses.
type resourceLister interface {
	ServerResourcesForGroupVersion(groupVersion string) (*metav1.APIResourceList, error)
}

// scaleDiscovery answers whether a kind has a /scale subresource, from
// discovery's resource lists kept for a TTL.
type scaleDiscovery struct {
	client resourceLister
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	lists map[string]discovered
}

type discovered struct {
	list *metav1.APIResourceList
	at   time.Time
}

func newScaleDiscovery(cfg *rest.Config, ttl time.Duration) (*scaleDiscovery, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = discoveryTimeout
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return newScaleDiscoveryWith(dc, ttl), nil
}

func newScaleDiscoveryWith(c resourceLister, ttl time.Duration) *scaleDiscovery {
	if ttl <= 0 {
		ttl = DefaultDiscoveryTTL
	}
	return &scaleDiscovery{client: c, ttl: ttl, now: time.Now, lists: map[string]discovered{}}
}

// scalable looks kind up in apiVersion's resource list, asking discovery
// again when the list is older than the TTL or does not have the kind (its
// CRD may have just been installed). A kind the API server does not serve
// is an error, not a "no": the HPA may have been applied just before its
// CRD.
func (d *scaleDiscovery) scalable(apiVersion, kind string) (bool, error) {
	list, fresh, err := d.list(apiVersion, false)
	if err != nil {
		return false, err
	}
	resource, ok := resourceOf(list, kind)
	if !ok && !fresh {
		if list, _, err = d.list(apiVersion, true); err != nil {
			return false, err
		}
		resource, ok = resourceOf(list, kind)
	}
	if !ok {
		return false, fmt.Errorf("%s %s is not served by the API server", apiVersion, kind)
	}
	for _, r := range list.APIResources {
		if r.Name == resource+"/scale" {
			return true, nil
		}
	}
	return false, nil
}

// list returns apiVersion's resource list and whether it was fetched just
// now. Failures are not kept: the next call asks again.
func (d *scaleDiscovery) list(apiVersion string, refresh bool) (*metav1.APIResourceList, bool, error) {
	d.mu.Lock()
	e, ok := d.lists[apiVersion]
	d.mu.Unlock()
	if ok && !refresh && d.now().Sub(e.at) < d.ttl {
		return e.list, false, nil
	}
	list, err := d.client.ServerResourcesForGroupVersion(apiVersion)
	if err != nil {
		return nil, false, fmt.Errorf("discovery of %s: %w", apiVersion, err)
	}
	d.mu.Lock()
	d.lists[apiVersion] = discovered{list: list, at: d.now()}
	d.mu.Unlock()
	return list, true, nil
}

// resourceOf is the resource serving kind, e.g. "rollouts" for Rollout.
func resourceOf(list *metav1.APIResourceList, kind string) (string, bool) {
	for _, r := range list.APIResources {
		if r.Kind == kind && !strings.Contains(r.Name, "/") {
			return r.Name, true
		}
	}
	return "", false
}

package certmanager

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
)

// ServiceAccountKubeconfig writes to dst a copy of the admin kubeconfig src
// whose user impersonates the ServiceAccount namespace/name. A component
// running with it has exactly the permissions that account is bound to: the
// API server adds the account's groups (system:serviceaccounts and
// system:serviceaccounts:<namespace>) when no group is impersonated.
func ServiceAccountKubeconfig(src, dst, namespace, name string) error {
	cfg, err := clientcmd.LoadFromFile(src)
	if err != nil {
		return err
	}
	if len(cfg.AuthInfos) == 0 {
		return fmt.Errorf("%s has no user to impersonate with", src)
	}
	for _, user := range cfg.AuthInfos {
		user.Impersonate = "system:serviceaccount:" + namespace + ":" + name
		user.ImpersonateGroups = nil
	}
	return clientcmd.WriteToFile(*cfg, dst)
}

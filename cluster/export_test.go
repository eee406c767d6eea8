package cluster

import "fmt"

// Forget drops namespace/name from the named informer's store, as if its
// watch event had not reached the view yet: the cache miss of an object
// stored a moment ago, made on purpose.
func (v *View) Forget(resource, namespace, name string) error {
	store := v.informers[resource].GetStore()
	obj, exists, err := store.GetByKey(namespace + "/" + name)
	if err != nil || !exists {
		return fmt.Errorf("%s %s/%s is not cached (%v)", resource, namespace, name, err)
	}
	return store.Delete(obj)
}

// HoldsAPIService reports whether the APIService informer holds name.
func (v *View) HoldsAPIService(name string) bool {
	_, exists, err := v.informers[apiServices].GetStore().GetByKey(name)
	return exists && err == nil
}

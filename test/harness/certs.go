package harness

// writeServingCerts writes a fresh CA's serving certificate for 127.0.0.1
// and localhost into dir as tls.crt and tls.key (the names scaleguard serve
// reads by default), and returns the CA in PEM for the webhook
// configurations' caBundle.
func writeServingCerts(dir string) ([]byte, error) {
	ca, err := NewCA()
	if err != nil {
		return nil, err
	}
	if err := ca.WriteServing(dir, 2); err != nil {
		return nil, err
	}
	return ca.PEM, nil
}

package harness

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// SlowLink is a TCP proxy to an API server that hands each chunk the server
// sends to the client Delay after it arrived, in order: the link of a
// scaleguard whose watch events reach it late (a busy API server, a long
// network path). What the client sends passes at once. TLS passes through
// untouched.
type SlowLink struct {
	Delay  time.Duration
	target string
	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

// NewSlowLink listens on a free port of 127.0.0.1 and forwards to target
// (host:port).
func NewSlowLink(target string, delay time.Duration) (*SlowLink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &SlowLink{Delay: delay, target: target, ln: ln}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

// Addr is the proxy's host:port.
func (l *SlowLink) Addr() string { return l.ln.Addr().String() }

// Kubeconfig writes into dir a copy of the kubeconfig file at path whose
// clusters are reached through the link, and returns its path.
func (l *SlowLink) Kubeconfig(path, dir string) (string, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return "", err
	}
	for _, c := range cfg.Clusters {
		c.Server = "https://" + l.Addr()
	}
	out := filepath.Join(dir, "slow-kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, out); err != nil {
		return "", err
	}
	return out, os.Chmod(out, 0o600)
}

// Close stops accepting, closes every connection and waits for their
// goroutines.
func (l *SlowLink) Close() error {
	err := l.ln.Close()
	l.mu.Lock()
	for _, c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

func (l *SlowLink) accept() {
	defer l.wg.Done()
	for {
		client, err := l.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", l.target)
		if err != nil {
			client.Close()
			continue
		}
		l.mu.Lock()
		l.conns = append(l.conns, client, server)
		l.mu.Unlock()
		l.wg.Add(2)
		go func() {
			defer l.wg.Done()
			_, _ = io.Copy(server, client)
			server.Close()
		}()
		go func() {
			defer l.wg.Done()
			l.delayed(client, server)
			client.Close()
		}()
	}
}

// chunk is what the server sent, and when.
type chunk struct {
	data []byte
	at   time.Time
}

// delayed copies from server to client, each chunk Delay after it was read.
func (l *SlowLink) delayed(client, server net.Conn) {
	chunks := make(chan chunk, 4096)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := server.Read(buf)
			if n > 0 {
				chunks <- chunk{data: buf[:n], at: time.Now()}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		time.Sleep(time.Until(c.at.Add(l.Delay)))
		if _, err := client.Write(c.data); err != nil {
			server.Close()
			break
		}
	}
	// Drain, so that the reader is not left blocked on a full channel.
	for range chunks {
	}
}

package main

// Pods reach the API server (which runs on the host, usually on loopback) through this TCP
// relay on the host's address in the pods' network. It does not terminate TLS: the pod checks
// the API server's own certificate, under the name it was given (see podAPIServerHost).

import (
	"io"
	"net"
	"sync"
)

type APIRelay struct {
	ln     net.Listener
	target string
}

func StartAPIRelay(listenIP, target string) (*APIRelay, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(listenIP, "0"))
	if err != nil {
		return nil, err
	}
	r := &APIRelay{ln: ln, target: target}
	go r.serve()
	return r, nil
}

func (r *APIRelay) Port() int { return r.ln.Addr().(*net.TCPAddr).Port }

func (r *APIRelay) Close() error { return r.ln.Close() }

func (r *APIRelay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.relay(c)
	}
}

func (r *APIRelay) relay(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", r.target)
	if err != nil {
		return
	}
	defer up.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(up, c)
		if tc, ok := up.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	_, _ = io.Copy(c, up)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	wg.Wait()
}

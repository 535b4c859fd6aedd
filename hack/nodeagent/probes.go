package main

// HTTP, TCP and exec-less probes as the kubelet runs them: initial delay, period, timeout,
// success and failure thresholds. HTTP succeeds on 200-399, as in the kubelet.

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type prober struct {
	spec      *corev1.Probe
	next      time.Time
	successes int32
	failures  int32
	ok        bool // current verdict after thresholds
}

func newProber(p *corev1.Probe, started time.Time, initial bool) *prober {
	if p == nil {
		return nil
	}
	return &prober{spec: p, next: started.Add(time.Duration(p.InitialDelaySeconds) * time.Second), ok: initial}
}

func period(p *corev1.Probe) time.Duration {
	if p.PeriodSeconds > 0 {
		return time.Duration(p.PeriodSeconds) * time.Second
	}
	return 10 * time.Second
}

func threshold(v, def int32) int32 {
	if v > 0 {
		return v
	}
	return def
}

func resolvePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("no container port named %q", port.StrVal)
}

func probeOnce(p *corev1.Probe, c *corev1.Container, podIP string) error {
	timeout := time.Duration(threshold(p.TimeoutSeconds, 1)) * time.Second
	switch {
	case p.HTTPGet != nil:
		g := p.HTTPGet
		port, err := resolvePort(g.Port, c)
		if err != nil {
			return err
		}
		host := g.Host
		if host == "" {
			host = podIP
		}
		scheme := "http"
		if g.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), g.Path), nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "kube-probe/1.37")
		for _, h := range g.HTTPHeaders {
			req.Header.Set(h.Name, h.Value)
		}
		hc := &http.Client{Timeout: timeout, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return nil
	case p.TCPSocket != nil:
		port, err := resolvePort(p.TCPSocket.Port, c)
		if err != nil {
			return err
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), timeout)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return fmt.Errorf("unsupported probe handler (only httpGet and tcpSocket)")
}

// due runs the probe if its period came; it returns whether the verdict changed.
func (pr *prober) due(now time.Time, c *corev1.Container, podIP string) (changed bool, lastErr error) {
	if pr == nil || now.Before(pr.next) {
		return false, nil
	}
	pr.next = now.Add(period(pr.spec))
	err := probeOnce(pr.spec, c, podIP)
	before := pr.ok
	if err == nil {
		pr.failures = 0
		pr.successes++
		if pr.successes >= threshold(pr.spec.SuccessThreshold, 1) {
			pr.ok = true
		}
	} else {
		pr.successes = 0
		pr.failures++
		if pr.failures >= threshold(pr.spec.FailureThreshold, 3) {
			pr.ok = false
		}
	}
	return before != pr.ok, err
}

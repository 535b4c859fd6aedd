// Command testpod is the workload of the node tests: a static binary in a scratch image that
//   - serves /healthz (500 while the file named by UNHEALTHY_FILE exists) and /readyz (503
//     while the file named by NOT_READY_FILE exists),
//   - GET /env: its environment as JSON; GET /file?path=P: a file's content,
//   - GET /fetch?url=U: U fetched from inside the pod (another pod's address): {"status", "body"},
//   - GET /api?path=P: P requested from the API server with the in-cluster configuration
//     (KUBERNETES_SERVICE_HOST/PORT, the ServiceAccount token and CA at the standard path);
//     answers {"status": code, "body": ...},
//   - on SIGTERM appends "SIGTERM <unix nanos> <pod>" to $TERM_LOG (a hostPath file), waits
//     $TERM_DELAY, then exits 0;
//   - with EXIT_AFTER set (a Go duration), exits with status $EXIT_CODE (default 1) that long
//     after it started: a crashing container.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func apiGet(path string) (int, string, error) {
	ca, err := os.ReadFile(saDir + "/ca.crt")
	if err != nil {
		return 0, "", err
	}
	token, err := os.ReadFile(saDir + "/token")
	if err != nil {
		return 0, "", err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return 0, "", fmt.Errorf("ca.crt holds no certificate")
	}
	host := os.Getenv("KUBERNETES_SERVICE_HOST")
	port := os.Getenv("KUBERNETES_SERVICE_PORT")
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequest(http.MethodGet, "https://"+net.JoinHostPort(host, port)+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), nil
}

// exists reports whether path names an existing file ("" never does).
func exists(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func main() {
	addr := os.Getenv("LISTEN")
	if addr == "" {
		addr = ":8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if exists(os.Getenv("UNHEALTHY_FILE")) {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if exists(os.Getenv("NOT_READY_FILE")) {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, _ *http.Request) {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		writeJSON(w, env)
	})
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		hc := &http.Client{Timeout: 5 * time.Second}
		resp, err := hc.Get(r.URL.Query().Get("url"))
		if err != nil {
			writeJSON(w, map[string]any{"error": err.Error()})
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		writeJSON(w, map[string]any{"status": resp.StatusCode, "body": string(b)})
	})
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		code, body, err := apiGet(r.URL.Query().Get("path"))
		if err != nil {
			writeJSON(w, map[string]any{"error": err.Error()})
			return
		}
		writeJSON(w, map[string]any{"status": code, "body": body})
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() { _ = http.Serve(ln, mux) }()
	fmt.Printf("testpod listening on %s\n", ln.Addr())
	if d, err := time.ParseDuration(os.Getenv("EXIT_AFTER")); err == nil {
		code, err := strconv.Atoi(os.Getenv("EXIT_CODE"))
		if err != nil {
			code = 1
		}
		time.AfterFunc(d, func() { os.Exit(code) })
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	<-sigs
	if p := os.Getenv("TERM_LOG"); p != "" {
		if f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o666); err == nil {
			fmt.Fprintf(f, "SIGTERM %d %s\n", time.Now().UnixNano(), os.Getenv("POD_NAME"))
			f.Close()
		}
	}
	if d, err := time.ParseDuration(os.Getenv("TERM_DELAY")); err == nil {
		time.Sleep(d)
	}
	os.Exit(0)
}

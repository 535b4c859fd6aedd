package main

// The agent's control endpoint on loopback, for tests and the demo:
//   GET  /nodes                          the Nodes, their addresses and heartbeat state
//   POST /heartbeat?node=NAME&beat=off   a kubelet gone silent (beat=on: back)
// SIGUSR1 / SIGUSR2 pause / resume every Node's heartbeat.

import (
	"encoding/json"
	"net"
	"net/http"
)

type nodeView struct {
	Name       string `json:"name"`
	Region     string `json:"region"`
	Zone       string `json:"zone"`
	InternalIP string `json:"internalIP"`
	ExternalIP string `json:"externalIP"`
	Heartbeat  bool   `json:"heartbeat"`
	Container  string `json:"container"`
}

func (m *Manager) views(order []*NodeBox) []nodeView {
	var out []nodeView
	for _, n := range order {
		out = append(out, nodeView{n.Name, n.Region, n.Zone, n.InternalIP, n.ExternalIP, !m.paused(n.Name), n.Container})
	}
	return out
}

func (m *Manager) setBeat(node string, on bool) bool {
	h := m.hearts[node]
	if h == nil {
		return false
	}
	h.paused.Store(!on)
	return true
}

func startControl(m *Manager, order []*NodeBox) (string, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /nodes", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(m.views(order))
	})
	mux.HandleFunc("POST /heartbeat", func(w http.ResponseWriter, r *http.Request) {
		beat := r.URL.Query().Get("beat")
		if beat != "on" && beat != "off" {
			http.Error(w, "beat must be on or off", http.StatusBadRequest)
			return
		}
		if !m.setBeat(r.URL.Query().Get("node"), beat == "on") {
			http.Error(w, "no such node", http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go func() { _ = http.Serve(ln, mux) }()
	return ln.Addr().String(), nil
}

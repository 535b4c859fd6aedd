package main

// A small client of the Docker Engine API (v1.41, what Docker 20.10 speaks) over its unix
// socket: only the calls the node agent needs, so the module does not pull in the Docker SDK.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

const dockerAPI = "/v1.41"

type Docker struct{ hc *http.Client }

func NewDocker(socket string) *Docker {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Docker{hc: &http.Client{Transport: tr}}
}

// DockerError is a non-2xx answer; Status 404 means "no such object".
type DockerError struct {
	Status  int
	Message string
}

func (e *DockerError) Error() string { return fmt.Sprintf("docker: %d %s", e.Status, e.Message) }

func IsNotFound(err error) bool {
	de, ok := err.(*DockerError)
	return ok && de.Status == http.StatusNotFound
}

func (d *Docker) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := "http://docker" + dockerAPI + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var m struct{ Message string }
		b, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(b, &m) != nil || m.Message == "" {
			m.Message = string(b)
		}
		return &DockerError{Status: resp.StatusCode, Message: m.Message}
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

type EndpointSettings struct {
	IPAMConfig *struct {
		IPv4Address string `json:",omitempty"`
	} `json:",omitempty"`
	IPAddress string `json:",omitempty"`
	Gateway   string `json:",omitempty"`
}

type HostConfig struct {
	NetworkMode    string            `json:",omitempty"`
	Binds          []string          `json:",omitempty"`
	ExtraHosts     []string          `json:",omitempty"`
	Sysctls        map[string]string `json:",omitempty"`
	CapAdd         []string          `json:",omitempty"`
	Init           *bool             `json:",omitempty"`
	Memory         int64             `json:",omitempty"`
	NanoCPUs       int64             `json:",omitempty"`
	GroupAdd       []string          `json:",omitempty"`
	ReadonlyRootfs bool              `json:",omitempty"`
}

type ContainerSpec struct {
	Image            string
	Entrypoint       []string          `json:",omitempty"`
	Cmd              []string          `json:",omitempty"`
	Env              []string          `json:",omitempty"`
	Labels           map[string]string `json:",omitempty"`
	WorkingDir       string            `json:",omitempty"`
	User             string            `json:",omitempty"`
	Hostname         string            `json:",omitempty"`
	StopSignal       string            `json:",omitempty"`
	Tty              bool              `json:",omitempty"`
	HostConfig       HostConfig
	NetworkingConfig *struct {
		EndpointsConfig map[string]*EndpointSettings
	} `json:",omitempty"`
}

// OnNetwork attaches the container to network at creation, with a fixed address when ip != "".
func (s *ContainerSpec) OnNetwork(network, ip string) {
	ep := &EndpointSettings{}
	if ip != "" {
		ep.IPAMConfig = &struct {
			IPv4Address string `json:",omitempty"`
		}{ip}
	}
	s.HostConfig.NetworkMode = network
	s.NetworkingConfig = &struct{ EndpointsConfig map[string]*EndpointSettings }{map[string]*EndpointSettings{network: ep}}
}

func (d *Docker) Create(ctx context.Context, name string, spec *ContainerSpec) (string, error) {
	var out struct{ Id string }
	err := d.do(ctx, http.MethodPost, "/containers/create", url.Values{"name": {name}}, spec, &out)
	return out.Id, err
}

func (d *Docker) Start(ctx context.Context, id string) error {
	return d.do(ctx, http.MethodPost, "/containers/"+id+"/start", nil, nil, nil)
}

func (d *Docker) Kill(ctx context.Context, id, signal string) error {
	return d.do(ctx, http.MethodPost, "/containers/"+id+"/kill", url.Values{"signal": {signal}}, nil, nil)
}

func (d *Docker) Remove(ctx context.Context, id string) error {
	err := d.do(ctx, http.MethodDelete, "/containers/"+id, url.Values{"force": {"1"}, "v": {"1"}}, nil, nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

type ContainerState struct {
	Status     string // created, running, exited, ...
	Running    bool
	ExitCode   int
	Pid        int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
}

type ContainerInfo struct {
	Id              string
	Image           string
	State           ContainerState
	NetworkSettings struct {
		Networks map[string]EndpointSettings
	}
}

func (d *Docker) Inspect(ctx context.Context, id string) (*ContainerInfo, error) {
	var out ContainerInfo
	if err := d.do(ctx, http.MethodGet, "/containers/"+id+"/json", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

type ImageInfo struct {
	Id     string
	Config struct {
		User       string
		StopSignal string
	}
}

func (d *Docker) InspectImage(ctx context.Context, name string) (*ImageInfo, error) {
	var out ImageInfo
	if err := d.do(ctx, http.MethodGet, "/images/"+url.PathEscape(name)+"/json", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func labelFilter(label string) url.Values {
	f, _ := json.Marshal(map[string][]string{"label": {label}})
	return url.Values{"filters": {string(f)}}
}

// ContainersLabelled lists the ids of all containers (running or not) carrying label ("k=v" or "k").
func (d *Docker) ContainersLabelled(ctx context.Context, label string) ([]string, error) {
	var out []struct{ Id string }
	q := labelFilter(label)
	q.Set("all", "1")
	if err := d.do(ctx, http.MethodGet, "/containers/json", q, nil, &out); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out))
	for _, c := range out {
		ids = append(ids, c.Id)
	}
	return ids, nil
}

type NetworkSpec struct {
	Name    string
	Driver  string
	Labels  map[string]string
	Options map[string]string `json:",omitempty"`
	IPAM    struct {
		Config []struct {
			Subnet  string
			IPRange string `json:",omitempty"`
			Gateway string `json:",omitempty"`
		}
	}
}

func (d *Docker) CreateNetwork(ctx context.Context, spec *NetworkSpec) (string, error) {
	var out struct{ Id string }
	err := d.do(ctx, http.MethodPost, "/networks/create", nil, spec, &out)
	return out.Id, err
}

func (d *Docker) ConnectNetwork(ctx context.Context, network, container, ip string) error {
	body := map[string]any{"Container": container}
	if ip != "" {
		body["EndpointConfig"] = map[string]any{"IPAMConfig": map[string]string{"IPv4Address": ip}}
	}
	return d.do(ctx, http.MethodPost, "/networks/"+network+"/connect", nil, body, nil)
}

func (d *Docker) RemoveNetwork(ctx context.Context, id string) error {
	err := d.do(ctx, http.MethodDelete, "/networks/"+id, nil, nil, nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

func (d *Docker) NetworksLabelled(ctx context.Context, label string) ([]string, error) {
	var out []struct{ Id string }
	if err := d.do(ctx, http.MethodGet, "/networks", labelFilter(label), nil, &out); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out))
	for _, n := range out {
		ids = append(ids, n.Id)
	}
	return ids, nil
}

// RemoveLabelled removes every container, then every network, that carries label.
func (d *Docker) RemoveLabelled(ctx context.Context, label string) (containers, networks int, err error) {
	ids, err := d.ContainersLabelled(ctx, label)
	if err != nil {
		return 0, 0, err
	}
	for _, id := range ids {
		if e := d.Remove(ctx, id); e == nil {
			containers++
		} else {
			err = e
		}
	}
	nets, e := d.NetworksLabelled(ctx, label)
	if e != nil {
		return containers, 0, e
	}
	for _, id := range nets {
		if e := d.RemoveNetwork(ctx, id); e == nil {
			networks++
		} else {
			err = e
		}
	}
	return containers, networks, err
}

type NetworkInfo struct {
	Id   string
	IPAM struct {
		Config []struct {
			Subnet  string
			Gateway string
		}
	}
}

func (d *Docker) InspectNetwork(ctx context.Context, id string) (*NetworkInfo, error) {
	var out NetworkInfo
	if err := d.do(ctx, http.MethodGet, "/networks/"+id, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

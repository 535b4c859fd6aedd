package main

// The Docker side of the simulated machines: networks, one "node" container per Node (its
// network namespace is the Node's host network: hostNetwork pods join it, hostPorts are
// forwarded in it), and the address the pods use to reach the API server.
//
// flat:   one bridge network holds every node and every pod; pod IPs of all Nodes route.
// routed: node containers share a "nodes" network; each Node's pods sit on that Node's own
//         network and leave it through the node container, which masquerades them, so only
//         node addresses route between Nodes (hostPort is how peers reach a pod).
//
// The pods' networks are not Docker "internal" networks: Docker guards an internal network
// with host FORWARD rules that drop whatever enters its bridge for, or leaves it from, an
// address outside its subnet. Where the host has bridge-nf-call-iptables on (br_netfilter),
// frames bridged between a pod and its node container pass those rules too, so a pod's packet
// to any address beyond its Node (another Node, the API relay) and every reply to it were
// dropped on the bridge before the node container saw them. An ordinary bridge network keeps
// the isolation that matters here, since Docker drops what the host would forward between two
// of its bridge networks (a pod address of another Node does not route), and with the host's
// masquerading off it is no way out either: the node container is.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

const labelKey = "kong-cluster.nodeagent"

type NodeBox struct {
	Name        string
	Region      string
	Zone        string
	Container   string // node container id
	Pid         int    // its init pid, for nsenter
	InternalIP  string // address on its pods network (routed) or the flat network
	ExternalIP  string // address on the network between Nodes
	PodNetwork  string // where its pods' sandboxes attach
	PodGateway  string // pods' default route (routed: the node container)
	APIServerIP string // the host address pods dial for the API server
}

type Topology struct {
	d        *Docker
	instance string
	mode     string
	image    string
	Nodes    []*NodeBox
	shared   string // flat network, or the nodes network in routed mode
	sharedGW string
}

func (t *Topology) labels(extra map[string]string) map[string]string {
	l := map[string]string{labelKey: t.instance}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

// network creates a bridge network (Docker picks a free subnet; options are the bridge
// driver's) and returns its id, gateway (the host's address on it) and subnet.
func (t *Topology) network(ctx context.Context, name string, options map[string]string) (id, gw, subnet string, err error) {
	spec := &NetworkSpec{Name: name, Driver: "bridge", Labels: t.labels(nil), Options: options}
	if id, err = t.d.CreateNetwork(ctx, spec); err != nil {
		return "", "", "", fmt.Errorf("create network %s: %w", name, err)
	}
	info, err := t.d.InspectNetwork(ctx, id)
	if err != nil || len(info.IPAM.Config) == 0 {
		return "", "", "", fmt.Errorf("inspect network %s: %v", name, err)
	}
	return id, info.IPAM.Config[0].Gateway, info.IPAM.Config[0].Subnet, nil
}

// podNetworkOptions: the host does not masquerade a routed pod network, so a packet routed
// through the host's address on it gets no answer from beyond the host; the node container is
// the pods' way out.
var podNetworkOptions = map[string]string{"com.docker.network.bridge.enable_ip_masquerade": "false"}

// BuildTopology creates the networks and node containers for nodes (names, regions, zones set).
func BuildTopology(ctx context.Context, d *Docker, instance, mode, pauseImage string, nodes []*NodeBox) (*Topology, error) {
	t := &Topology{d: d, instance: instance, mode: mode, image: pauseImage, Nodes: nodes}
	var err error
	if t.shared, t.sharedGW, _, err = t.network(ctx, instance+"-net", nil); err != nil {
		return nil, err
	}
	for _, n := range nodes {
		spec := &ContainerSpec{Image: pauseImage, Entrypoint: []string{"/nodeagent", "pause"},
			Hostname: n.Name, Labels: t.labels(map[string]string{labelKey + ".node": n.Name}),
			HostConfig: HostConfig{Sysctls: map[string]string{"net.ipv4.ip_forward": "1"}}}
		spec.OnNetwork(t.shared, "")
		if n.Container, err = d.Create(ctx, instance+"-node-"+n.Name, spec); err != nil {
			return nil, fmt.Errorf("node container %s: %w", n.Name, err)
		}
		podSubnet := ""
		if mode == "routed" {
			if n.PodNetwork, _, podSubnet, err = t.network(ctx, instance+"-pods-"+n.Name, podNetworkOptions); err != nil {
				return nil, err
			}
			if err = d.ConnectNetwork(ctx, n.PodNetwork, n.Container, ""); err != nil {
				return nil, fmt.Errorf("connect %s to its pod network: %w", n.Name, err)
			}
		} else {
			n.PodNetwork = t.shared
		}
		if err = d.Start(ctx, n.Container); err != nil {
			return nil, fmt.Errorf("start node container %s: %w", n.Name, err)
		}
		info, err := d.Inspect(ctx, n.Container)
		if err != nil {
			return nil, err
		}
		n.Pid = info.State.Pid
		n.ExternalIP = info.NetworkSettings.Networks[instance+"-net"].IPAddress
		n.InternalIP = info.NetworkSettings.Networks[instance+"-net"].IPAddress
		n.APIServerIP = t.sharedGW
		if mode == "routed" {
			n.InternalIP = info.NetworkSettings.Networks[instance+"-pods-"+n.Name].IPAddress
			n.PodGateway = n.InternalIP
			// The node container is on two networks with a gateway each; its own way out is the
			// nodes network, whichever Docker picked.
			if err = nsenterIP(n.Pid, "route", "replace", "default", "via", t.sharedGW); err != nil {
				return nil, err
			}
			// Pods leave through this node with its address, as behind a NAT gateway.
			if err = nsenterIptables(n.Pid, "-t", "nat", "-A", "POSTROUTING", "-s", podSubnet, "!", "-d", podSubnet, "-j", "MASQUERADE"); err != nil {
				return nil, err
			}
		}
		if n.ExternalIP == "" || n.InternalIP == "" {
			return nil, fmt.Errorf("node container %s has no address", n.Name)
		}
	}
	return t, nil
}

// nsenterIptables runs the host's iptables inside the network namespace of pid.
func nsenterIptables(pid int, args ...string) error {
	full := append([]string{"-t", fmt.Sprint(pid), "-n", "iptables", "-w"}, args...)
	out, err := exec.Command("nsenter", full...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s in pid %d: %v: %s", strings.Join(args, " "), pid, err, out)
	}
	return nil
}

// nsenterIP runs `ip ARGS` inside the network namespace of pid.
func nsenterIP(pid int, args ...string) error {
	full := append([]string{"-t", fmt.Sprint(pid), "-n", "ip"}, args...)
	out, err := exec.Command("nsenter", full...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s in pid %d: %v: %s", strings.Join(args, " "), pid, err, out)
	}
	return nil
}

// ForwardHostPort makes node:hostPort reach podIP:containerPort (what CNI's portmap does).
func (n *NodeBox) ForwardHostPort(proto string, hostPort, containerPort int32, podIP string) error {
	proto = strings.ToLower(proto)
	if proto == "" {
		proto = "tcp"
	}
	to := fmt.Sprintf("%s:%d", podIP, containerPort)
	if err := nsenterIptables(n.Pid, "-t", "nat", "-A", "PREROUTING", "-p", proto, "--dport", fmt.Sprint(hostPort), "-j", "DNAT", "--to-destination", to); err != nil {
		return err
	}
	if err := nsenterIptables(n.Pid, "-t", "nat", "-A", "OUTPUT", "-p", proto, "--dport", fmt.Sprint(hostPort), "-d", n.ExternalIP, "-j", "DNAT", "--to-destination", to); err != nil {
		return err
	}
	// Replies must come back through this node, so the peer sees the node's address.
	return nsenterIptables(n.Pid, "-t", "nat", "-A", "POSTROUTING", "-p", proto, "-d", podIP, "--dport", fmt.Sprint(containerPort), "-j", "MASQUERADE")
}

// UnforwardHostPort removes what ForwardHostPort added (errors: the rule was already gone).
func (n *NodeBox) UnforwardHostPort(proto string, hostPort, containerPort int32, podIP string) {
	proto = strings.ToLower(proto)
	if proto == "" {
		proto = "tcp"
	}
	to := fmt.Sprintf("%s:%d", podIP, containerPort)
	_ = nsenterIptables(n.Pid, "-t", "nat", "-D", "PREROUTING", "-p", proto, "--dport", fmt.Sprint(hostPort), "-j", "DNAT", "--to-destination", to)
	_ = nsenterIptables(n.Pid, "-t", "nat", "-D", "OUTPUT", "-p", proto, "--dport", fmt.Sprint(hostPort), "-d", n.ExternalIP, "-j", "DNAT", "--to-destination", to)
	_ = nsenterIptables(n.Pid, "-t", "nat", "-D", "POSTROUTING", "-p", proto, "-d", podIP, "--dport", fmt.Sprint(containerPort), "-j", "MASQUERADE")
}

// Teardown removes everything this instance created (the reaper does the same after a crash).
func (t *Topology) Teardown(ctx context.Context) {
	c, n, err := t.d.RemoveLabelled(ctx, labelKey+"="+t.instance)
	fmt.Fprintf(os.Stderr, "nodeagent: removed %d containers, %d networks (err: %v)\n", c, n, err)
}

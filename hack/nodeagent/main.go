// Command nodeagent stands in for the kubelet on a machine without one: it registers N Nodes
// with a real API server and runs the pods bound to them as Docker containers.
//
//	nodeagent --kubeconfig admin.conf --nodes 3 --topology dc1/dc1-a,dc1/dc1-b,dc2/dc2-a \
//	          --network flat --ready-file /tmp/ready.json
//
// See docs/kubernetes-nodes.md for the design and its limits.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "pause":
			os.Exit(runPause())
		case "reap":
			fs := flag.NewFlagSet("reap", flag.ExitOnError)
			sock := fs.String("docker", "/var/run/docker.sock", "")
			inst := fs.String("instance", "", "")
			dir := fs.String("state-dir", "", "")
			_ = fs.Parse(os.Args[2:])
			os.Exit(runReaper(*sock, *inst, *dir))
		}
	}
	if err := run(); err != nil {
		log.Printf("nodeagent: %v", err)
		os.Exit(1)
	}
}

type options struct {
	kubeconfig, network, topology, prefix, readyFile, stateDir, dockerSock, podAPIHost, instance string
	nodes, owner                                                                                 int
}

func parseFlags() *options {
	o := &options{}
	flag.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "admin kubeconfig of the API server")
	flag.IntVar(&o.nodes, "nodes", 2, "number of Nodes")
	flag.StringVar(&o.prefix, "name-prefix", "node-", "Node names are PREFIX1..PREFIXN")
	flag.StringVar(&o.topology, "topology", "dc1/dc1-a", "comma-separated region/zone per Node, reused cyclically")
	flag.StringVar(&o.network, "network", "flat", "flat (pod IPs route between Nodes) or routed (only node addresses route)")
	flag.StringVar(&o.readyFile, "ready-file", "", "written (JSON) once every Node is registered")
	flag.StringVar(&o.stateDir, "state-dir", "", "pod volumes live here (default: a new temp dir, removed at exit)")
	flag.StringVar(&o.dockerSock, "docker", "/var/run/docker.sock", "Docker engine socket")
	flag.StringVar(&o.podAPIHost, "pod-apiserver-host", "kubernetes.default.svc",
		"KUBERNETES_SERVICE_HOST given to pods: a name in the API server's certificate (mapped in the pods' /etc/hosts to the relay) or an IP")
	flag.IntVar(&o.owner, "owner", 0, "exit (removing the Nodes and their containers) when the process with this PID ends")
	flag.StringVar(&o.instance, "instance", "", "label value and name prefix of everything created (default kcna<pid>)")
	flag.Parse()
	if o.instance == "" {
		o.instance = fmt.Sprintf("kcna%d", os.Getpid())
	}
	return o
}

// pauseImage builds (once per agent binary) a scratch image holding this static binary.
func pauseImage(ctx context.Context, d *Docker) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	f, err := os.Open(self)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, _ = io.Copy(h, f)
	f.Close()
	tag := "kong-cluster/nodeagent-pause:" + hex.EncodeToString(h.Sum(nil))[:16]
	if _, err := d.InspectImage(ctx, tag); err == nil {
		return tag, nil
	}
	dir, err := os.MkdirTemp("", "kcna-pause")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	data, err := os.ReadFile(self)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "nodeagent"), data, 0o755); err != nil {
		return "", err
	}
	df := "FROM scratch\nCOPY nodeagent /nodeagent\nENTRYPOINT [\"/nodeagent\", \"pause\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", "--force-rm", "-t", tag, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v: %s", tag, err, out)
	}
	return tag, nil
}

func run() error {
	o := parseFlags()
	if o.kubeconfig == "" {
		return fmt.Errorf("--kubeconfig is required")
	}
	if o.network != "flat" && o.network != "routed" {
		return fmt.Errorf("--network must be flat or routed")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return err
	}
	if o.stateDir == "" {
		if o.stateDir, err = os.MkdirTemp("", "kcna-state"); err != nil {
			return err
		}
	}
	self, _ := os.Executable()
	d := NewDocker(o.dockerSock)
	// From here on, whatever happens to us, the reaper cleans up.
	reaperPipe, err := startReaper(self, o.dockerSock, o.instance, o.stateDir)
	if err != nil {
		return fmt.Errorf("reaper: %w", err)
	}
	// The reaper fires when this write end closes. An *os.File nobody references is closed by
	// its finalizer at the next garbage collection, which would tear the Nodes down under a
	// running agent: keep it reachable until this function (the agent) returns.
	defer runtime.KeepAlive(reaperPipe)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if o.owner > 0 {
		if ctx, err = watchOwner(ctx, o.owner); err != nil {
			return err
		}
	}
	t0 := time.Now()
	img, err := pauseImage(ctx, d)
	if err != nil {
		return err
	}
	zones := strings.Split(o.topology, ",")
	var boxes []*NodeBox
	for i := 0; i < o.nodes; i++ {
		region, zone, _ := strings.Cut(zones[i%len(zones)], "/")
		boxes = append(boxes, &NodeBox{Name: fmt.Sprintf("%s%d", o.prefix, i+1), Region: region, Zone: zone})
	}
	topo, err := BuildTopology(ctx, d, o.instance, o.network, img, boxes)
	if topo != nil {
		defer topo.Teardown(context.Background())
	}
	if err != nil {
		(&Topology{d: d, instance: o.instance}).Teardown(context.Background())
		return err
	}
	relay, err := StartAPIRelay(boxes[0].APIServerIP, u.Host)
	if err != nil {
		return fmt.Errorf("API relay: %w", err)
	}
	defer relay.Close()
	m := &Manager{cs: cs, d: d, instance: o.instance, stateDir: o.stateDir, pauseImage: img, podAPIHost: o.podAPIHost,
		relay: relay, nodes: map[string]*NodeBox{}, hearts: map[string]*NodeHeart{}, workers: map[types.UID]*podWorker{}}
	for _, b := range boxes {
		h := &NodeHeart{box: b, cs: cs}
		if err := h.Register(ctx); err != nil {
			return err
		}
		m.nodes[b.Name], m.hearts[b.Name] = b, h
		go h.Run(ctx)
	}
	ctl, err := startControl(m, boxes)
	if err != nil {
		return err
	}
	go pauseOnSignals(ctx, m, boxes)
	if o.readyFile != "" {
		ready := map[string]any{"control": ctl, "instance": o.instance, "network": o.network,
			"apiRelay": fmt.Sprintf("%s:%d", boxes[0].APIServerIP, relay.Port()), "podAPIServerHost": o.podAPIHost,
			"nodes": m.views(boxes), "startSeconds": time.Since(t0).Seconds(), "pid": os.Getpid()}
		b, _ := json.MarshalIndent(ready, "", "  ")
		tmp := o.readyFile + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, o.readyFile); err != nil {
			return err
		}
	}
	log.Printf("nodeagent %s: %d Nodes (%s network) ready in %.1fs; control on %s", o.instance, len(boxes), o.network, time.Since(t0).Seconds(), ctl)
	m.Run(ctx)
	if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
		log.Printf("nodeagent %s: %v: stopping", o.instance, cause)
	}
	// Graceful exit: the Nodes go too, so the API server keeps no ghost of them.
	bg, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, b := range boxes {
		_ = cs.CoreV1().Nodes().Delete(bg, b.Name, metav1.DeleteOptions{})
	}
	return nil
}

func pauseOnSignals(ctx context.Context, m *Manager, boxes []*NodeBox) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sigs:
			for _, b := range boxes {
				m.setBeat(b.Name, s == syscall.SIGUSR2)
			}
		}
	}
}

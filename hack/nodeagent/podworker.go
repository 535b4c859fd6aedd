package main

// One goroutine per pod bound to one of our Nodes: it creates the pod's sandbox (the network
// namespace holding the pod IP) and containers, restarts them per restartPolicy with a growing
// back-off, runs probes, renews projected tokens, writes the pod status, and on deletion
// stops the containers (stop signal, grace period, SIGKILL) before the final delete.

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const (
	backoffBase = 2 * time.Second
	backoffMax  = 60 * time.Second
	syncEvery   = 500 * time.Millisecond
)

type ctr struct {
	spec       corev1.Container
	id         string
	imageID    string
	restarts   int32
	running    bool
	startedAt  time.Time
	exitedAt   time.Time
	lastTerm   *corev1.ContainerStateTerminated
	recorded   time.Time // StartedAt of the last run whose end is in lastTerm
	waiting    string    // reason while not running
	waitingMsg string
	retryAt    time.Time
	ready      *prober
	live       *prober
	done       bool // exited and will not be restarted
}

type podWorker struct {
	m       *Manager
	node    *NodeBox
	uid     types.UID
	mu      sync.Mutex
	pod     *corev1.Pod // latest seen; nil when gone from the API
	wake    chan struct{}
	sandbox string
	podIP   string
	ctrs    []*ctr
	vols    *podVolumes
	env     *envSource
	started time.Time
	failMsg string // pod-level failure (sandbox)
	volErr  error  // volumes not set up yet (retried each sync)
	ports   []corev1.ContainerPort
	written *corev1.PodStatus
}

func (w *podWorker) update(p *corev1.Pod) {
	w.mu.Lock()
	w.pod = p
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *podWorker) current() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *podWorker) name() string {
	if p := w.current(); p != nil {
		return p.Namespace + "/" + p.Name
	}
	return string(w.uid)
}

func (w *podWorker) labels(extra map[string]string) map[string]string {
	l := map[string]string{labelKey: w.m.instance, labelKey + ".pod-uid": string(w.uid)}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

func (w *podWorker) dir() string { return filepath.Join(w.m.stateDir, "pods", string(w.uid)) }

func (w *podWorker) run(ctx context.Context) {
	defer w.m.forget(w.uid)
	t := time.NewTicker(syncEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
		if w.m.paused(w.node.Name) {
			continue // a silent kubelet: containers run on, nothing is written
		}
		p := w.current()
		if p == nil {
			w.teardown(context.Background(), 0)
			return
		}
		if p.DeletionTimestamp != nil {
			grace := int64(30)
			if p.DeletionGracePeriodSeconds != nil {
				grace = *p.DeletionGracePeriodSeconds
			}
			w.teardown(ctx, time.Duration(grace)*time.Second)
			w.finalDelete(ctx, p)
			return
		}
		if w.started.IsZero() {
			w.start(ctx, p)
		}
		w.sync(ctx, p)
		w.writeStatus(ctx, p, false)
	}
}

func podUser(p *corev1.Pod, c *corev1.Container) (uid, gid *int64) {
	if s := p.Spec.SecurityContext; s != nil {
		uid, gid = s.RunAsUser, s.RunAsGroup
	}
	if s := c.SecurityContext; s != nil {
		if s.RunAsUser != nil {
			uid = s.RunAsUser
		}
		if s.RunAsGroup != nil {
			gid = s.RunAsGroup
		}
	}
	return uid, gid
}

// start makes the sandbox and volumes, then the containers (each is started in sync()).
func (w *podWorker) start(ctx context.Context, p *corev1.Pod) {
	w.started = time.Now()
	if err := os.MkdirAll(filepath.Join(w.dir(), "volumes"), 0o755); err != nil {
		w.failMsg = err.Error()
		return
	}
	hostNet := p.Spec.HostNetwork
	w.env = &envSource{cs: w.m.cs, pod: p, hostIP: w.node.InternalIP, apiHost: w.m.podAPIHost, apiPort: w.m.relay.Port(), node: w.node}
	if hostNet {
		w.sandbox = w.node.Container
		w.podIP = w.node.InternalIP
	} else if err := w.makeSandbox(ctx, p); err != nil {
		w.failMsg = "sandbox: " + err.Error()
		log.Printf("pod %s: %s", w.name(), w.failMsg)
		return
	}
	w.env.podIP = w.podIP
	owner, group := -1, -1
	if len(p.Spec.Containers) > 0 {
		if u, g := podUser(p, &p.Spec.Containers[0]); u != nil {
			owner = int(*u)
			if g != nil {
				group = int(*g)
			}
		}
	}
	if s := p.Spec.SecurityContext; s != nil && s.FSGroup != nil {
		group = int(*s.FSGroup)
	}
	w.vols = &podVolumes{env: w.env, dir: filepath.Join(w.dir(), "volumes"), uid: owner, gid: group}
	if err := w.vols.Setup(ctx); err != nil {
		w.volErr = err
		log.Printf("pod %s: %v", w.name(), err)
	}
	for _, c := range p.Spec.Containers {
		w.ctrs = append(w.ctrs, &ctr{spec: c, waiting: "ContainerCreating"})
		if !hostNet {
			w.ports = append(w.ports, c.Ports...)
		}
	}
	for _, cp := range w.ports {
		if cp.HostPort != 0 {
			if err := w.node.ForwardHostPort(string(cp.Protocol), cp.HostPort, cp.ContainerPort, w.podIP); err != nil {
				log.Printf("pod %s: hostPort %d: %v", w.name(), cp.HostPort, err)
			}
		}
	}
}

func (w *podWorker) makeSandbox(ctx context.Context, p *corev1.Pod) error {
	spec := &ContainerSpec{Image: w.m.pauseImage, Entrypoint: []string{"/nodeagent", "pause"},
		Hostname: p.Name, Labels: w.labels(map[string]string{labelKey + ".role": "sandbox"})}
	if net := w.m.podAPIHost; !isIP(net) {
		spec.HostConfig.ExtraHosts = []string{net + ":" + w.node.APIServerIP}
	}
	spec.OnNetwork(w.node.PodNetwork, "")
	id, err := w.m.d.Create(ctx, w.containerName("sandbox"), spec)
	if err != nil {
		return err
	}
	w.sandbox = id
	if err := w.m.d.Start(ctx, id); err != nil {
		return err
	}
	info, err := w.m.d.Inspect(ctx, id)
	if err != nil {
		return err
	}
	for _, ep := range info.NetworkSettings.Networks {
		w.podIP = ep.IPAddress
	}
	if w.podIP == "" {
		return fmt.Errorf("sandbox has no address")
	}
	if w.node.PodGateway != "" {
		// Routed topology: the way out of the pod network is the node container.
		return nsenterIP(info.State.Pid, "route", "replace", "default", "via", w.node.PodGateway)
	}
	return nil
}

func (w *podWorker) containerName(c string) string {
	p := w.current()
	return fmt.Sprintf("%s-%s-%s-%s-%s", w.m.instance, p.Namespace, p.Name, string(w.uid)[:8], c)
}

func (w *podWorker) create(ctx context.Context, p *corev1.Pod, c *ctr) error {
	img, err := w.m.d.InspectImage(ctx, c.spec.Image)
	if err != nil {
		c.waiting, c.waitingMsg = "ErrImageNeverPull", fmt.Sprintf("image %q is not present on the node (no registry): %v", c.spec.Image, err)
		return err
	}
	c.imageID = img.Id
	env, vals, err := w.env.Env(ctx, &c.spec)
	if err != nil {
		c.waiting, c.waitingMsg = "CreateContainerConfigError", err.Error()
		return err
	}
	binds, err := w.vols.Binds(&c.spec)
	if err != nil {
		c.waiting, c.waitingMsg = "CreateContainerConfigError", err.Error()
		return err
	}
	spec := &ContainerSpec{Image: c.spec.Image, Env: env, WorkingDir: c.spec.WorkingDir,
		Labels: w.labels(map[string]string{labelKey + ".container": c.spec.Name}), Tty: c.spec.TTY,
		HostConfig: HostConfig{NetworkMode: "container:" + w.sandbox, Binds: binds}}
	for _, s := range c.spec.Command {
		spec.Entrypoint = append(spec.Entrypoint, expand(s, vals))
	}
	for _, s := range c.spec.Args {
		spec.Cmd = append(spec.Cmd, expand(s, vals))
	}
	if uid, gid := podUser(p, &c.spec); uid != nil {
		spec.User = fmt.Sprint(*uid)
		if gid != nil {
			spec.User += fmt.Sprintf(":%d", *gid)
		}
	}
	if s := p.Spec.SecurityContext; s != nil {
		for _, g := range s.SupplementalGroups {
			spec.HostConfig.GroupAdd = append(spec.HostConfig.GroupAdd, fmt.Sprint(g))
		}
		if s.FSGroup != nil {
			spec.HostConfig.GroupAdd = append(spec.HostConfig.GroupAdd, fmt.Sprint(*s.FSGroup))
		}
	}
	if s := c.spec.SecurityContext; s != nil && s.ReadOnlyRootFilesystem != nil && *s.ReadOnlyRootFilesystem {
		spec.HostConfig.ReadonlyRootfs = true
	}
	id, err := w.m.d.Create(ctx, w.containerName(c.spec.Name), spec)
	if err != nil {
		c.waiting, c.waitingMsg = "CreateContainerError", err.Error()
		return err
	}
	c.id = id
	return nil
}

func (w *podWorker) backoff(c *ctr) time.Duration {
	d := backoffBase
	for i := int32(1); i < c.restarts && d < backoffMax; i++ {
		d *= 2
	}
	if d > backoffMax {
		d = backoffMax
	}
	return d
}

func shouldRestart(policy corev1.RestartPolicy, exit int) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exit != 0
	}
	return true
}

// sync brings each container to what the pod asks and updates its probe verdicts.
func (w *podWorker) sync(ctx context.Context, p *corev1.Pod) {
	if w.failMsg != "" || w.vols == nil {
		return // no sandbox: the pod stays Pending with the reason in its status message
	}
	now := time.Now()
	if w.volErr != nil {
		// As the kubelet: no container starts before its volumes are there.
		if w.volErr = w.vols.Setup(ctx); w.volErr != nil {
			for _, c := range w.ctrs {
				c.waitingMsg = "volumes: " + w.volErr.Error()
			}
			return
		}
	}
	for _, c := range w.ctrs {
		if c.done {
			continue
		}
		if c.id == "" {
			if !c.retryAt.IsZero() && now.Before(c.retryAt) {
				continue
			}
			if err := w.create(ctx, p, c); err != nil {
				c.retryAt = now.Add(5 * time.Second)
				continue
			}
		}
		info, err := w.m.d.Inspect(ctx, c.id)
		if err != nil {
			c.id = ""
			continue
		}
		st := info.State
		if st.Running {
			if !c.running {
				c.running, c.startedAt, c.waiting, c.waitingMsg = true, st.StartedAt, "", ""
				c.ready = newProber(c.spec.ReadinessProbe, now, false)
				c.live = newProber(c.spec.LivenessProbe, now, true)
			}
			if changed, perr := c.ready.due(now, &c.spec, w.podIP); changed {
				log.Printf("pod %s container %s: ready=%v (%v)", w.name(), c.spec.Name, c.ready.ok, perr)
			}
			if _, perr := c.live.due(now, &c.spec, w.podIP); c.live != nil && !c.live.ok {
				log.Printf("pod %s container %s: liveness failed (%v), restarting", w.name(), c.spec.Name, perr)
				w.stopContainer(ctx, c, terminationGrace(p))
			}
			continue
		}
		switch {
		case st.Status == "created":
			if !now.Before(c.retryAt) {
				w.startContainer(ctx, c, now)
			}
		case !st.StartedAt.Equal(c.recorded):
			// A run ended that we have not accounted for yet (it may have been short).
			c.running, c.recorded = false, st.StartedAt
			reason := "Completed"
			if st.ExitCode != 0 {
				reason = "Error"
			}
			c.lastTerm = &corev1.ContainerStateTerminated{ExitCode: int32(st.ExitCode), Reason: reason,
				StartedAt: metav1.NewTime(st.StartedAt), FinishedAt: metav1.NewTime(st.FinishedAt),
				ContainerID: "docker://" + c.id}
			c.ready, c.live = nil, nil
			if shouldRestart(p.Spec.RestartPolicy, st.ExitCode) {
				c.retryAt = now.Add(w.backoff(c))
				c.waiting, c.waitingMsg = "CrashLoopBackOff", fmt.Sprintf("back-off %s restarting failed container %s", w.backoff(c), c.spec.Name)
			} else {
				c.done = true
			}
		case !now.Before(c.retryAt):
			c.restarts++
			w.startContainer(ctx, c, now)
		}
	}
	if !w.vols.refreshAt.IsZero() && now.After(w.vols.refreshAt) {
		if err := w.vols.Setup(ctx); err != nil {
			log.Printf("pod %s: volume refresh: %v", w.name(), err)
		}
	}
}

func (w *podWorker) startContainer(ctx context.Context, c *ctr, now time.Time) {
	if err := w.m.d.Start(ctx, c.id); err != nil {
		c.waiting, c.waitingMsg = "RunContainerError", err.Error()
		c.retryAt = now.Add(w.backoff(c))
	}
}

func terminationGrace(p *corev1.Pod) time.Duration {
	if p.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*p.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// stopContainer sends the image's stop signal, waits up to grace, then SIGKILL.
func (w *podWorker) stopContainer(ctx context.Context, c *ctr, grace time.Duration) {
	if c.id == "" {
		return
	}
	sig := "SIGTERM"
	if info, err := w.m.d.InspectImage(ctx, c.spec.Image); err == nil && info.Config.StopSignal != "" {
		sig = info.Config.StopSignal
	}
	_ = w.m.d.Kill(ctx, c.id, sig)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		info, err := w.m.d.Inspect(ctx, c.id)
		if err != nil || !info.State.Running {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = w.m.d.Kill(ctx, c.id, "SIGKILL")
}

// teardown stops every container in parallel within grace, then removes them and the sandbox.
func (w *podWorker) teardown(ctx context.Context, grace time.Duration) {
	var wg sync.WaitGroup
	for _, c := range w.ctrs {
		wg.Add(1)
		go func(c *ctr) {
			defer wg.Done()
			w.stopContainer(ctx, c, grace)
		}(c)
	}
	wg.Wait()
	for _, cp := range w.ports {
		if cp.HostPort != 0 {
			w.node.UnforwardHostPort(string(cp.Protocol), cp.HostPort, cp.ContainerPort, w.podIP)
		}
	}
	bg := context.Background()
	for _, c := range w.ctrs {
		if c.id != "" {
			if info, err := w.m.d.Inspect(bg, c.id); err == nil {
				c.running = false
				c.lastTerm = &corev1.ContainerStateTerminated{ExitCode: int32(info.State.ExitCode), Reason: "Completed",
					StartedAt: metav1.NewTime(info.State.StartedAt), FinishedAt: metav1.NewTime(info.State.FinishedAt)}
			}
			_ = w.m.d.Remove(bg, c.id)
		}
	}
	if w.sandbox != "" && w.sandbox != w.node.Container {
		_ = w.m.d.Remove(bg, w.sandbox)
	}
	_ = os.RemoveAll(w.dir())
}

// finalDelete is the kubelet's last word: status with terminated containers, then delete(0).
func (w *podWorker) finalDelete(ctx context.Context, p *corev1.Pod) {
	w.writeStatus(ctx, p, true)
	zero := int64(0)
	err := w.m.cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &w.uid}})
	if err != nil && !strings.Contains(err.Error(), "not found") {
		log.Printf("pod %s: final delete: %v", w.name(), err)
	}
	log.Printf("pod %s: deleted after its containers exited", w.name())
}

func isIP(s string) bool { return strings.Count(s, ".") == 3 && strings.Trim(s, "0123456789.") == "" }

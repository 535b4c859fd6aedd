package main

// Node registration and heartbeats, as the kubelet does them: the Node object with its labels,
// addresses and capacity; its Lease in kube-node-lease renewed every leaseRenew; the Ready
// condition's heartbeat refreshed every statusEvery. A paused heartbeat stops both, so the
// node-lifecycle controller sees a kubelet that went silent.

import (
	"context"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

const (
	leaseSeconds = 40
	leaseRenew   = 2 * time.Second // well inside a short node-monitor grace period (the tests use 10 s)
	statusEvery  = 10 * time.Second
	kubeletVer   = "v1.37.2"
)

type NodeHeart struct {
	box    *NodeBox
	cs     kubernetes.Interface
	paused atomic.Bool
}

func (h *NodeHeart) nodeObject() *corev1.Node {
	n := h.box
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("2"),
		corev1.ResourceMemory:           resource.MustParse("4Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("20Gi"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{
			"kubernetes.io/hostname":        n.Name,
			"kubernetes.io/os":              "linux",
			"kubernetes.io/arch":            "amd64",
			"topology.kubernetes.io/region": n.Region,
			"topology.kubernetes.io/zone":   n.Zone,
			"kong-cluster.io/node-agent":    "docker",
		}},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: n.InternalIP},
				{Type: corev1.NodeExternalIP, Address: n.ExternalIP},
				{Type: corev1.NodeHostName, Address: n.Name},
			},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: kubeletVer, OperatingSystem: "linux",
				Architecture: "amd64", ContainerRuntimeVersion: "docker://20.10", OSImage: "Debian GNU/Linux 12 (bookworm)"},
		},
	}
}

func conditions(now metav1.Time) []corev1.NodeCondition {
	c := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return []corev1.NodeCondition{
		c(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		c(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		c(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		c(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "node agent is posting ready status"),
	}
}

// Register creates the Node (or takes over an existing one of the same name) and posts its status.
func (h *NodeHeart) Register(ctx context.Context) error {
	want := h.nodeObject()
	_, err := h.cs.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", want.Name, err)
	}
	if apierrors.IsAlreadyExists(err) {
		if err := h.takeOverLabels(ctx, want); err != nil {
			return err
		}
	}
	return h.postStatus(ctx, true)
}

// takeOverLabels puts this agent's labels on an existing Node of the same name, retrying when
// the node-lifecycle controller or the scheduler wrote the object in between (a conflict).
func (h *NodeHeart) takeOverLabels(ctx context.Context, want *corev1.Node) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := h.cs.CoreV1().Nodes().Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for k, v := range want.Labels {
			if cur.Labels == nil {
				cur.Labels = map[string]string{}
			}
			cur.Labels[k] = v
		}
		_, err = h.cs.CoreV1().Nodes().Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

// postStatus writes addresses, capacity and conditions; full resets transition times too. The
// node-lifecycle controller writes the same object (taints, conditions), so a conflict means
// read again and retry.
func (h *NodeHeart) postStatus(ctx context.Context, full bool) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error { return h.postStatusOnce(ctx, full) })
}

func (h *NodeHeart) postStatusOnce(ctx context.Context, full bool) error {
	cur, err := h.cs.CoreV1().Nodes().Get(ctx, h.box.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := h.nodeObject()
	now := metav1.Now()
	conds := conditions(now)
	for i := range conds {
		for _, old := range cur.Status.Conditions {
			if old.Type == conds[i].Type && old.Status == conds[i].Status && !full {
				conds[i].LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	cur.Status.Capacity, cur.Status.Allocatable = want.Status.Capacity, want.Status.Allocatable
	cur.Status.Addresses, cur.Status.NodeInfo = want.Status.Addresses, want.Status.NodeInfo
	cur.Status.Conditions = conds
	_, err = h.cs.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
	return err
}

func (h *NodeHeart) renewLease(ctx context.Context, owner *corev1.Node) error {
	leases := h.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, h.box.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l = &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: h.box.Name, Namespace: corev1.NamespaceNodeLease},
			Spec: coordv1.LeaseSpec{HolderIdentity: ptr.To(h.box.Name), LeaseDurationSeconds: ptr.To[int32](leaseSeconds), RenewTime: &now}}
		if owner != nil {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: owner.Name, UID: owner.UID}}
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity = ptr.To(h.box.Name)
	l.Spec.LeaseDurationSeconds = ptr.To[int32](leaseSeconds)
	l.Spec.RenewTime = &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

// Run keeps the Lease and the Ready heartbeat until ctx ends; while paused it writes nothing.
func (h *NodeHeart) Run(ctx context.Context) {
	leaseT := time.NewTicker(leaseRenew)
	statusT := time.NewTicker(statusEvery)
	defer leaseT.Stop()
	defer statusT.Stop()
	wasPaused := false
	var owner *corev1.Node
	beat := func() {
		if owner == nil {
			owner, _ = h.cs.CoreV1().Nodes().Get(ctx, h.box.Name, metav1.GetOptions{})
		}
		if err := h.renewLease(ctx, owner); err != nil && ctx.Err() == nil {
			log.Printf("node %s: lease: %v", h.box.Name, err)
		}
	}
	beat()
	for {
		select {
		case <-ctx.Done():
			return
		case <-leaseT.C:
			if h.paused.Load() {
				wasPaused = true
				continue
			}
			if wasPaused {
				// Back from silence: post a fresh Ready at once, as a restarted kubelet does.
				wasPaused = false
				if err := h.postStatus(ctx, false); err != nil && ctx.Err() == nil {
					log.Printf("node %s: status: %v", h.box.Name, err)
				}
			}
			beat()
		case <-statusT.C:
			if h.paused.Load() {
				continue
			}
			if err := h.postStatus(ctx, false); err != nil && ctx.Err() == nil {
				log.Printf("node %s: status: %v", h.box.Name, err)
			}
		}
	}
}

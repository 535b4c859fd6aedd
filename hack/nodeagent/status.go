package main

// The pod status the kubelet writes: phase, host and pod IPs, start time, the conditions it
// owns (PodReadyToStartContainers, Initialized, ContainersReady, Ready; PodScheduled is the
// scheduler's and is kept) and one containerStatus per container. Written only on change.

import (
	"context"
	"log"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (c *ctr) status() corev1.ContainerStatus {
	s := corev1.ContainerStatus{Name: c.spec.Name, Image: c.spec.Image, ImageID: "docker://" + c.imageID,
		RestartCount: c.restarts, Started: new(bool)}
	if c.id != "" {
		s.ContainerID = "docker://" + c.id
	}
	if c.lastTerm != nil && (c.running || !c.done) {
		s.LastTerminationState.Terminated = c.lastTerm
	}
	switch {
	case c.running:
		s.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.startedAt)}
		*s.Started = true
		s.Ready = c.ready == nil || c.ready.ok
	case c.done && c.lastTerm != nil:
		s.State.Terminated = c.lastTerm
	default:
		reason := c.waiting
		if reason == "" {
			reason = "ContainerCreating"
		}
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: c.waitingMsg}
	}
	return s
}

func (w *podWorker) phase(p *corev1.Pod) corev1.PodPhase {
	if len(w.ctrs) == 0 {
		return corev1.PodPending
	}
	running, done, failed := 0, 0, 0
	for _, c := range w.ctrs {
		switch {
		case c.running:
			running++
		case c.done:
			done++
			if c.lastTerm != nil && c.lastTerm.ExitCode != 0 {
				failed++
			}
		case c.lastTerm != nil:
			running++ // restarting: the pod stays Running
		}
	}
	switch {
	case done == len(w.ctrs) && failed > 0:
		return corev1.PodFailed
	case done == len(w.ctrs):
		return corev1.PodSucceeded
	case running+done == len(w.ctrs):
		return corev1.PodRunning
	}
	return corev1.PodPending
}

func condition(t corev1.PodConditionType, ok bool, reason string) corev1.PodCondition {
	c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason}
	if ok {
		c.Status, c.Reason = corev1.ConditionTrue, ""
	}
	return c
}

// statusFor builds the status from what the worker knows; final marks every container ended.
func (w *podWorker) statusFor(p *corev1.Pod, final bool) corev1.PodStatus {
	st := *p.Status.DeepCopy()
	st.Phase = w.phase(p)
	st.Message, st.Reason = "", ""
	if w.failMsg != "" {
		st.Message = w.failMsg
	}
	st.HostIP = w.node.InternalIP
	st.HostIPs = []corev1.HostIP{{IP: w.node.InternalIP}}
	if w.podIP != "" {
		st.PodIP = w.podIP
		st.PodIPs = []corev1.PodIP{{IP: w.podIP}}
	}
	if st.StartTime == nil {
		t := metav1.NewTime(w.started)
		st.StartTime = &t
	}
	st.ContainerStatuses = nil
	allReady := len(w.ctrs) > 0
	for _, c := range w.ctrs {
		cs := c.status()
		if final {
			cs.State = corev1.ContainerState{Terminated: c.lastTerm}
			if c.lastTerm == nil {
				cs.State.Terminated = &corev1.ContainerStateTerminated{Reason: "ContainerStatusUnknown", ExitCode: 137}
			}
			cs.Ready, cs.Started = false, new(bool)
		}
		allReady = allReady && cs.Ready
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	ready := allReady && st.Phase == corev1.PodRunning && !final
	want := []corev1.PodCondition{
		condition(corev1.PodReadyToStartContainers, w.sandbox != "" && !final, ""),
		condition(corev1.PodInitialized, true, ""),
		condition(corev1.ContainersReady, ready, "ContainersNotReady"),
		condition(corev1.PodReady, ready, "ContainersNotReady"),
	}
	now := metav1.Now()
	var conds []corev1.PodCondition
	for _, old := range st.Conditions {
		owned := false
		for _, c := range want {
			owned = owned || c.Type == old.Type
		}
		if !owned {
			conds = append(conds, old)
		}
	}
	for _, c := range want {
		c.LastTransitionTime = now
		for _, old := range st.Conditions {
			if old.Type == c.Type && old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		conds = append(conds, c)
	}
	st.Conditions = conds
	return st
}

// writeStatus posts the status when it differs from the last one written (final: always).
func (w *podWorker) writeStatus(ctx context.Context, p *corev1.Pod, final bool) {
	st := w.statusFor(p, final)
	if !final && w.written != nil && reflect.DeepEqual(*w.written, st) {
		return
	}
	for attempt := 0; attempt < 3; attempt++ {
		cp := p.DeepCopy()
		cp.Status = st
		_, err := w.m.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, cp, metav1.UpdateOptions{})
		if err == nil {
			w.written = &st
			return
		}
		if apierrors.IsNotFound(err) || ctx.Err() != nil {
			return
		}
		if !apierrors.IsConflict(err) {
			log.Printf("pod %s: status: %v", w.name(), err)
			return
		}
		fresh, gerr := w.m.cs.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if gerr != nil {
			return
		}
		p = fresh
		st = w.statusFor(p, final)
	}
}

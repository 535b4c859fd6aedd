package main

// Watches every pod (one informer) and hands those bound to our Nodes to one worker each.

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

type Manager struct {
	cs         kubernetes.Interface
	d          *Docker
	instance   string
	stateDir   string
	pauseImage string
	podAPIHost string
	relay      *APIRelay
	nodes      map[string]*NodeBox
	hearts     map[string]*NodeHeart

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	wg      sync.WaitGroup
}

func (m *Manager) paused(node string) bool {
	h := m.hearts[node]
	return h != nil && h.paused.Load()
}

func (m *Manager) forget(uid types.UID) {
	m.mu.Lock()
	delete(m.workers, uid)
	m.mu.Unlock()
}

func (m *Manager) observe(ctx context.Context, obj any, gone bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, gone = t.Obj, true
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	node := m.nodes[p.Spec.NodeName]
	if node == nil {
		return
	}
	m.mu.Lock()
	w := m.workers[p.UID]
	if w == nil && !gone {
		w = &podWorker{m: m, node: node, uid: p.UID, pod: p, wake: make(chan struct{}, 1)}
		m.workers[p.UID] = w
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			w.run(ctx)
		}()
	}
	m.mu.Unlock()
	if w == nil {
		return
	}
	if gone {
		w.update(nil)
	} else {
		w.update(p)
	}
}

// Run watches pods until ctx ends, then waits for the workers (which leave containers to the
// topology's teardown).
func (m *Manager) Run(ctx context.Context) {
	// One pod informer only (not the informer factory, which compiles every API group in).
	lw := cache.NewListWatchFromClient(m.cs.CoreV1().RESTClient(), "pods", corev1.NamespaceAll, fields.Everything())
	inf := cache.NewSharedIndexInformer(lw, &corev1.Pod{}, 10*time.Minute, cache.Indexers{})
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { m.observe(ctx, o, false) },
		UpdateFunc: func(_, o any) { m.observe(ctx, o, false) },
		DeleteFunc: func(o any) { m.observe(ctx, o, true) },
	})
	inf.Run(ctx.Done())
	m.wg.Wait()
}

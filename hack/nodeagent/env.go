package main

// Container environment as the kubelet builds it: envFrom, then env in order with $(VAR)
// expansion of earlier values, downward API fieldRef / resourceFieldRef, Secret and ConfigMap
// keys, plus the KUBERNETES_SERVICE_* variables pointing at the API server's real address.

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

type envSource struct {
	cs      kubernetes.Interface
	pod     *corev1.Pod
	podIP   string
	hostIP  string
	apiHost string
	apiPort int
	node    *NodeBox
}

func (s *envSource) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	return s.cs.CoreV1().Secrets(s.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
}

func (s *envSource) configMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	return s.cs.CoreV1().ConfigMaps(s.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
}

func (s *envSource) fieldValue(path string) (string, error) {
	p := s.pod
	switch path {
	case "metadata.name":
		return p.Name, nil
	case "metadata.namespace":
		return p.Namespace, nil
	case "metadata.uid":
		return string(p.UID), nil
	case "spec.nodeName":
		return p.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return p.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return s.podIP, nil
	case "status.hostIP", "status.hostIPs":
		return s.hostIP, nil
	}
	for _, kind := range []struct {
		prefix string
		m      map[string]string
	}{{"metadata.labels['", p.Labels}, {"metadata.annotations['", p.Annotations}} {
		if strings.HasPrefix(path, kind.prefix) && strings.HasSuffix(path, "']") {
			return kind.m[strings.TrimSuffix(strings.TrimPrefix(path, kind.prefix), "']")], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

func (s *envSource) resourceValue(c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	alloc := map[string]resource.Quantity{"cpu": resource.MustParse("2"), "memory": resource.MustParse("4Gi"), "ephemeral-storage": resource.MustParse("20Gi")}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok {
		return "", fmt.Errorf("unsupported resourceFieldRef %q", ref.Resource)
	}
	q, found := alloc[name]
	list := c.Resources.Limits
	if kind == "requests" {
		list = c.Resources.Requests
	}
	if v, ok := list[corev1.ResourceName(name)]; ok {
		q, found = v, true
	}
	if !found {
		return "", fmt.Errorf("unsupported resourceFieldRef %q", ref.Resource)
	}
	div := ref.Divisor
	if div.IsZero() {
		div = resource.MustParse("1")
	}
	if name == "cpu" {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(div.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(div.Value()))), 10), nil
}

// expand replaces $(NAME) by earlier values; $$ escapes, unknown names stay as written.
func expand(in string, vals map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		if in[i] == '$' && i+1 < len(in) {
			if in[i+1] == '$' {
				b.WriteByte('$')
				i++
				continue
			}
			if in[i+1] == '(' {
				if end := strings.IndexByte(in[i+2:], ')'); end >= 0 {
					name := in[i+2 : i+2+end]
					if v, ok := vals[name]; ok {
						b.WriteString(v)
						i += end + 2
						continue
					}
				}
			}
		}
		b.WriteByte(in[i])
	}
	return b.String()
}

// Env returns NAME=value pairs for container c, and the map used to expand command and args.
func (s *envSource) Env(ctx context.Context, c *corev1.Container) ([]string, map[string]string, error) {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	set("KUBERNETES_SERVICE_HOST", s.apiHost)
	set("KUBERNETES_SERVICE_PORT", strconv.Itoa(s.apiPort))
	set("KUBERNETES_SERVICE_PORT_HTTPS", strconv.Itoa(s.apiPort))
	set("KUBERNETES_PORT", fmt.Sprintf("tcp://%s:%d", s.apiHost, s.apiPort))
	for _, from := range c.EnvFrom {
		var data map[string]string
		switch {
		case from.SecretRef != nil:
			sec, err := s.secret(ctx, from.SecretRef.Name)
			if err != nil {
				if from.SecretRef.Optional != nil && *from.SecretRef.Optional {
					continue
				}
				return nil, nil, err
			}
			data = map[string]string{}
			for k, v := range sec.Data {
				data[k] = string(v)
			}
		case from.ConfigMapRef != nil:
			cm, err := s.configMap(ctx, from.ConfigMapRef.Name)
			if err != nil {
				if from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
					continue
				}
				return nil, nil, err
			}
			data = cm.Data
		}
		for k, v := range data {
			set(from.Prefix+k, v)
		}
	}
	for _, e := range c.Env {
		v, err := s.value(ctx, c, e, vals)
		if err != nil {
			return nil, nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if v != nil {
			set(e.Name, *v)
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	return out, vals, nil
}

func (s *envSource) value(ctx context.Context, c *corev1.Container, e corev1.EnvVar, vals map[string]string) (*string, error) {
	if e.ValueFrom == nil {
		v := expand(e.Value, vals)
		return &v, nil
	}
	vf := e.ValueFrom
	var v string
	var err error
	switch {
	case vf.FieldRef != nil:
		v, err = s.fieldValue(vf.FieldRef.FieldPath)
	case vf.ResourceFieldRef != nil:
		v, err = s.resourceValue(c, vf.ResourceFieldRef)
	case vf.SecretKeyRef != nil:
		ref := vf.SecretKeyRef
		sec, gerr := s.secret(ctx, ref.Name)
		b, ok := []byte(nil), false
		if gerr == nil {
			b, ok = sec.Data[ref.Key]
		}
		if !ok {
			if ref.Optional != nil && *ref.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("secret %s key %s: %v", ref.Name, ref.Key, gerr)
		}
		v = string(b)
	case vf.ConfigMapKeyRef != nil:
		ref := vf.ConfigMapKeyRef
		cm, gerr := s.configMap(ctx, ref.Name)
		ok := false
		if gerr == nil {
			v, ok = cm.Data[ref.Key]
		}
		if !ok {
			if ref.Optional != nil && *ref.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("configmap %s key %s: %v", ref.Name, ref.Key, gerr)
		}
	default:
		return nil, fmt.Errorf("unsupported valueFrom")
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

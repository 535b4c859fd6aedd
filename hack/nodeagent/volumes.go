package main

// Pod volumes materialised in the pod's directory on the host and bind-mounted into its
// containers: secret, configMap, downwardAPI, emptyDir, hostPath, and projected (with the
// ServiceAccount token from the TokenRequest API, bound to the pod, refreshed before expiry).
// Files are replaced by rename, so a refreshed token shows through the directory bind mount.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type podVolumes struct {
	env      *envSource
	dir      string // <state>/pods/<uid>/volumes
	uid, gid int    // owner of written files (-1: leave root)
	// Earliest time a projected token must be renewed (zero: no token).
	refreshAt time.Time
}

func (v *podVolumes) path(name string) string { return filepath.Join(v.dir, name) }

func (v *podVolumes) writeFile(dir, rel string, data []byte, mode int32) error {
	full := filepath.Join(dir, rel)
	if !strings.HasPrefix(full, dir+string(os.PathSeparator)) {
		return fmt.Errorf("path %q leaves its volume", rel)
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(full), ".tmp-"+filepath.Base(full))
	if err := os.WriteFile(tmp, data, os.FileMode(mode)); err != nil {
		return err
	}
	_ = os.Chmod(tmp, os.FileMode(mode))
	if v.uid >= 0 || v.gid >= 0 {
		_ = os.Chown(tmp, v.uid, v.gid)
	}
	return os.Rename(tmp, full)
}

func modeOr(m *int32, def int32) int32 {
	if m != nil {
		return *m
	}
	return def
}

func (v *podVolumes) writeKeys(dir string, data map[string][]byte, items []corev1.KeyToPath, def int32) error {
	if len(items) == 0 {
		for k, b := range data {
			if err := v.writeFile(dir, k, b, def); err != nil {
				return err
			}
		}
		return nil
	}
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("key %s missing", it.Key)
		}
		if err := v.writeFile(dir, it.Path, b, modeOr(it.Mode, def)); err != nil {
			return err
		}
	}
	return nil
}

func (v *podVolumes) secretData(ctx context.Context, name string) (map[string][]byte, error) {
	s, err := v.env.secret(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.Data, nil
}

func (v *podVolumes) configMapData(ctx context.Context, name string) (map[string][]byte, error) {
	cm, err := v.env.configMap(ctx, name)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for k, s := range cm.Data {
		out[k] = []byte(s)
	}
	for k, b := range cm.BinaryData {
		out[k] = b
	}
	return out, nil
}

func (v *podVolumes) downward(dir string, items []corev1.DownwardAPIVolumeFile, def int32) error {
	for _, it := range items {
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = v.env.fieldValue(it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			c := v.env.pod.Spec.Containers[0]
			for _, cc := range v.env.pod.Spec.Containers {
				if cc.Name == it.ResourceFieldRef.ContainerName {
					c = cc
				}
			}
			val, err = v.env.resourceValue(&c, it.ResourceFieldRef)
		}
		if err != nil {
			return err
		}
		if err := v.writeFile(dir, it.Path, []byte(val), modeOr(it.Mode, def)); err != nil {
			return err
		}
	}
	return nil
}

// token asks the API server for a token of the pod's ServiceAccount, bound to the pod.
func (v *podVolumes) token(ctx context.Context, src *corev1.ServiceAccountTokenProjection) ([]byte, error) {
	p := v.env.pod
	exp := int64(3600)
	if src.ExpirationSeconds != nil {
		exp = *src.ExpirationSeconds
	}
	req := &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.Name, UID: p.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	sa := p.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr, err := v.env.cs.CoreV1().ServiceAccounts(p.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token for serviceaccount %s/%s: %w", p.Namespace, sa, err)
	}
	// The kubelet renews at 80 % of the lifetime (or after 24 h).
	issued := time.Now()
	life := tr.Status.ExpirationTimestamp.Sub(issued)
	renew := issued.Add(life * 8 / 10)
	if v.refreshAt.IsZero() || renew.Before(v.refreshAt) {
		v.refreshAt = renew
	}
	return []byte(tr.Status.Token), nil
}

func (v *podVolumes) projected(ctx context.Context, dir string, pv *corev1.ProjectedVolumeSource) error {
	def := modeOr(pv.DefaultMode, 0o644)
	for _, s := range pv.Sources {
		switch {
		case s.ServiceAccountToken != nil:
			tok, err := v.token(ctx, s.ServiceAccountToken)
			if err != nil {
				return err
			}
			if err := v.writeFile(dir, s.ServiceAccountToken.Path, tok, def); err != nil {
				return err
			}
		case s.ConfigMap != nil:
			data, err := v.configMapData(ctx, s.ConfigMap.Name)
			if err != nil {
				if s.ConfigMap.Optional != nil && *s.ConfigMap.Optional {
					continue
				}
				return err
			}
			if err := v.writeKeys(dir, data, s.ConfigMap.Items, def); err != nil {
				return err
			}
		case s.Secret != nil:
			data, err := v.secretData(ctx, s.Secret.Name)
			if err != nil {
				if s.Secret.Optional != nil && *s.Secret.Optional {
					continue
				}
				return err
			}
			if err := v.writeKeys(dir, data, s.Secret.Items, def); err != nil {
				return err
			}
		case s.DownwardAPI != nil:
			if err := v.downward(dir, s.DownwardAPI.Items, def); err != nil {
				return err
			}
		}
	}
	return nil
}

// Setup writes every volume (again, on refresh); it returns an error the pod's status reports.
func (v *podVolumes) Setup(ctx context.Context) error {
	v.refreshAt = time.Time{}
	for _, vol := range v.env.pod.Spec.Volumes {
		dir := v.path(vol.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		var err error
		switch src := vol.VolumeSource; {
		case src.Secret != nil:
			var data map[string][]byte
			if data, err = v.secretData(ctx, src.Secret.SecretName); err == nil {
				err = v.writeKeys(dir, data, src.Secret.Items, modeOr(src.Secret.DefaultMode, 0o644))
			} else if src.Secret.Optional != nil && *src.Secret.Optional {
				err = nil
			}
		case src.ConfigMap != nil:
			var data map[string][]byte
			if data, err = v.configMapData(ctx, src.ConfigMap.Name); err == nil {
				err = v.writeKeys(dir, data, src.ConfigMap.Items, modeOr(src.ConfigMap.DefaultMode, 0o644))
			} else if src.ConfigMap.Optional != nil && *src.ConfigMap.Optional {
				err = nil
			}
		case src.Projected != nil:
			err = v.projected(ctx, dir, src.Projected)
		case src.DownwardAPI != nil:
			err = v.downward(dir, src.DownwardAPI.Items, modeOr(src.DownwardAPI.DefaultMode, 0o644))
		case src.EmptyDir != nil:
			err = os.Chmod(dir, 0o777)
		case src.HostPath != nil:
			if src.HostPath.Type != nil && *src.HostPath.Type == corev1.HostPathDirectoryOrCreate {
				err = os.MkdirAll(src.HostPath.Path, 0o755)
			}
		default:
			err = fmt.Errorf("volume %s: unsupported type", vol.Name)
		}
		if err != nil {
			return fmt.Errorf("volume %s: %w", vol.Name, err)
		}
	}
	return nil
}

// Binds returns Docker bind specs for the container's volumeMounts.
func (v *podVolumes) Binds(c *corev1.Container) ([]string, error) {
	var out []string
	for _, m := range c.VolumeMounts {
		src := ""
		for _, vol := range v.env.pod.Spec.Volumes {
			if vol.Name == m.Name {
				src = v.path(vol.Name)
				if vol.HostPath != nil {
					src = vol.HostPath.Path
				}
			}
		}
		if src == "" {
			return nil, fmt.Errorf("volumeMount %s: no such volume", m.Name)
		}
		if m.SubPath != "" {
			src = filepath.Join(src, m.SubPath)
			if _, err := os.Stat(src); os.IsNotExist(err) {
				if err := os.MkdirAll(src, 0o755); err != nil {
					return nil, err
				}
			}
		}
		b := src + ":" + m.MountPath
		if m.ReadOnly {
			b += ":ro"
		}
		out = append(out, b)
	}
	return out, nil
}

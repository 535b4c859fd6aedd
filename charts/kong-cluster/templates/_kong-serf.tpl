{{/*
The pod's identity from the downward API: the member name, the tags the operator maps
members by (pod, namespace, uid, node) and the advertise address. Used by whichever
container runs the member: the agent, or Kong with kong-cluster as its serf.
*/}}
{{- define "kong-cluster.podIdentity.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_UID
  valueFrom:
    fieldRef:
      fieldPath: metadata.uid
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: HOST_IP
  valueFrom:
    fieldRef:
      fieldPath: status.hostIP
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
{{- end }}

{{/*
Kong mode's init container script: copies kong-cluster into the emptyDir, then writes `serf`,
a launcher that runs it under the name `serf` (so it speaks serf's command line) and hands
Kong's CLI calls the RPC token from rpc-auth. The image's binary is static, so it runs in any
Kong image whatever its libc; a dynamically linked build (KC_STATIC_AGENT=OFF) gets every shared
library it links and the dynamic loader copied beside it, and runs through that loader.
*/}}
{{- define "kong-cluster.kongSerf.install" -}}
set -eu
dst={{ .Values.kong.serfPath.mountPath }}
bin=/usr/local/bin/kong-cluster
mkdir -p "$dst/lib"
# lib/serf: the binary under the name it answers to as serf.
cp "$bin" "$dst/lib/serf"
run='"$here/lib/serf"'
# ldd names a loader only for a dynamically linked binary (it fails for a static one).
loader=$(ldd "$bin" 2>/dev/null | awk '$1 ~ /^\// { print $1 }' | head -n 1) || true
if [ -n "$loader" ]; then
  for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    cp -L "$lib" "$dst/lib/"
  done
  run="\"\$here/lib/${loader##*/}\" --library-path \"\$here/lib\" --argv0 serf $run"
fi
printf '%s' "${RPC_AUTH:-}" > "$dst/rpc-auth"
chmod 0600 "$dst/rpc-auth"
cat > "$dst/serf" <<LAUNCHER
#!/bin/sh
here=\${0%/*}
if [ -z "\${SERF_RPC_AUTH:-}" ] && [ -s "\$here/rpc-auth" ]; then
  SERF_RPC_AUTH=\$(cat "\$here/rpc-auth"); export SERF_RPC_AUTH
fi
exec $run "\$@"
LAUNCHER
chmod 0755 "$dst/serf"
{{- end }}

{{/*
The container and command that run the member's CLI in an agent pod, for NOTES: the agent
container's kong-cluster, or in Kong mode (no agent container) the Kong container's serf.
*/}}
{{- define "kong-cluster.memberCli" -}}
{{- if and .Values.kong.enabled .Values.kong.serfPath.enabled -}}
-c kong -- {{ .Values.kong.serfPath.mountPath }}/serf
{{- else -}}
-c agent -- kong-cluster
{{- end -}}
{{- end }}

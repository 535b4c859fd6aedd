{{/*
Shell functions of the helm test pods (bash: its /dev/tcp is the HTTP client; the pods run the
operator image, the Debian one with bash and getent: the agent image is built from scratch and
has only BusyBox). `http_get HOST PORT PATH [TOKEN]` prints the body and succeeds only on a 200;
`retry WHAT CMD...` runs CMD until it succeeds or tests.timeoutSeconds pass.
*/}}
{{- define "kong-cluster.test.functions" -}}
set -u
deadline=$(( $(date +%s) + {{ int .Values.tests.timeoutSeconds }} ))
http_get() {
  local auth=""
  [ -n "${4:-}" ] && auth="Authorization: Bearer $4"$'\r\n'
  exec 3<>"/dev/tcp/$1/$2" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n%s\r\n' "$3" "$1" "$auth" >&3
  local status
  IFS= read -r status <&3 || { exec 3<&-; return 1; }
  local body
  body=$(sed '1,/^\r\{0,1\}$/d' <&3)
  exec 3<&-
  case "$status" in
    *" 200 "*) printf '%s\n' "$body" ;;
    *) echo "GET http://$1:$2$3: $status" >&2; return 1 ;;
  esac
}
retry() {
  local what=$1
  shift
  until "$@" >/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "FAIL: $what (gave up after {{ int .Values.tests.timeoutSeconds }}s)" >&2
      exit 1
    fi
    sleep 2
  done
  echo "ok: $what"
}
{{- end }}

{{/* What every test pod shares: hook annotations, no token, the operator image, non-root. */}}
{{- define "kong-cluster.test.podSpec" -}}
restartPolicy: Never
# These pods talk to the agents and the operator only, never to the apiserver.
automountServiceAccountToken: false
{{- with .Values.operator.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.agent.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

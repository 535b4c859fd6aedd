{{/*
Helpers. Names follow Kong's charts: <chart> or nameOverride, truncated to 63 characters;
<release>-<chart> (or the release name when it already contains the chart name) or
fullnameOverride.
*/}}
{{- define "kong-cluster.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kong-cluster.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kong-cluster.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object: app.kubernetes.io/* plus helm.sh/chart and extraLabels. */}}
{{- define "kong-cluster.labels" -}}
app.kubernetes.io/name: {{ include "kong-cluster.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: kong-cluster
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "kong-cluster.chart" . }}
{{- with .Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels (immutable in DaemonSets and Deployments): name and instance. */}}
{{- define "kong-cluster.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kong-cluster.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
<fullname>-<suffix> within the 63 characters of a DNS label: the fullname is cut to leave room
for the suffix, so two components' names never collapse into the same truncated string.
Call with (list $ "suffix").
*/}}
{{- define "kong-cluster.componentName" -}}
{{- $ctx := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $base := include "kong-cluster.fullname" $ctx | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" -}}
{{- printf "%s-%s" $base $suffix -}}
{{- end -}}

{{- define "kong-cluster.agent.fullname" -}}
{{- include "kong-cluster.componentName" (list . "agent") -}}
{{- end -}}

{{- define "kong-cluster.operator.fullname" -}}
{{- include "kong-cluster.componentName" (list . "operator") -}}
{{- end -}}

{{/* The operator's metrics Service: the suffix is part of what is truncated. */}}
{{- define "kong-cluster.operator.metricsName" -}}
{{- include "kong-cluster.componentName" (list . "operator-metrics") -}}
{{- end -}}

{{/* The operator's leader-election Lease (release namespace). */}}
{{- define "kong-cluster.operator.leaseName" -}}
{{- default (include "kong-cluster.operator.fullname" .) .Values.operator.leaderElection.leaseName -}}
{{- end -}}


{{- define "kong-cluster.agent.serviceAccountName" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{- default (include "kong-cluster.agent.fullname" .) .Values.agent.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.agent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kong-cluster.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (include "kong-cluster.operator.fullname" .) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kong-cluster.agent.image" -}}
{{- printf "%s:%s" .Values.agent.image.repository (default .Chart.AppVersion .Values.agent.image.tag) -}}
{{- end -}}

{{- define "kong-cluster.operator.image" -}}
{{- printf "%s:%s" .Values.operator.image.repository (default .Chart.AppVersion .Values.operator.image.tag) -}}
{{- end -}}

{{/* Secret names: the existing Secret when given, else the chart's. */}}
{{- define "kong-cluster.gossipKey.secretName" -}}
{{- default (include "kong-cluster.componentName" (list . "gossip")) .Values.gossipKey.existingSecret -}}
{{- end -}}

{{- define "kong-cluster.rpcToken.secretName" -}}
{{- default (include "kong-cluster.componentName" (list . "rpc")) .Values.rpcToken.existingSecret -}}
{{- end -}}

{{- define "kong-cluster.postgres.secretName" -}}
{{- default (include "kong-cluster.componentName" (list . "postgres")) .Values.postgres.existingSecret -}}
{{- end -}}

{{/* Whether a Postgres password reaches the pods (a value or an existing Secret). */}}
{{- define "kong-cluster.postgres.hasPassword" -}}
{{- if or .Values.postgres.password .Values.postgres.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* The label selector the operator uses to find agent pods. */}}
{{- define "kong-cluster.agent.selector" -}}
{{- printf "app.kubernetes.io/name=%s,app.kubernetes.io/instance=%s,app.kubernetes.io/component=agent" (include "kong-cluster.name" .) .Release.Name -}}
{{- end -}}

{{/* Postgres env (KONG_PG_*), shared by the agent, the operator and the Kong container. */}}
{{- define "kong-cluster.postgres.env" -}}
{{- if .Values.postgres.host -}}
- name: KONG_PG_HOST
  value: {{ .Values.postgres.host | quote }}
- name: KONG_PG_PORT
  value: {{ int .Values.postgres.port | quote }}
- name: KONG_PG_USER
  value: {{ .Values.postgres.user | quote }}
- name: KONG_PG_DATABASE
  value: {{ .Values.postgres.database | quote }}
- name: KONG_PG_SSL
  value: {{ ternary "on" "off" .Values.postgres.ssl | quote }}
- name: KONG_PG_SSL_VERIFY
  value: {{ ternary "on" "off" .Values.postgres.sslVerify | quote }}
{{- if include "kong-cluster.postgres.hasPassword" . }}
- name: KONG_PG_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "kong-cluster.postgres.secretName" . }}
      key: {{ .Values.postgres.secretKey }}
{{- end }}
{{- end }}
{{- end -}}

{{/* A map as cluster_tags wants it: k1=v1,k2=v2 (keys sorted). */}}
{{- define "kong-cluster.joinTags" -}}
{{- $out := list -}}
{{- range $k, $v := . -}}
{{- $out = append $out (printf "%s=%v" $k $v) -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{/* A NetworkPolicy peer: the `helm test` pods of this release (templates/tests/). */}}
{{- define "kong-cluster.networkPolicy.testPeer" -}}
- podSelector:
    matchLabels:
      {{- include "kong-cluster.selectorLabels" . | nindent 6 }}
      app.kubernetes.io/component: test
{{- end }}

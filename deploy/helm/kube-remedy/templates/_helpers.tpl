{{/*
Names. The prefix is at most 40 characters so every derived name (e.g. "<prefix>-redis-headless",
Service names are DNS labels of at most 63) stays valid. Release "kube-remedy" gives the prefix
"kube-remedy", and the ServiceAccounts kube-remedy-agent, kube-remedy-controller, kube-remedy-workers.
*/}}
{{- define "kube-remedy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{- define "kube-remedy.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kube-remedy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of a role's objects (ServiceAccount, Deployment/DaemonSet, ClusterRole): "<fullname>-<role>". */}}
{{- define "kube-remedy.roleName" -}}
{{- printf "%s-%s" (include "kube-remedy.fullname" .root) .role }}
{{- end }}

{{- define "kube-remedy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kube-remedy.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of every object: call with (dict "root" $ "component" "agent"). */}}
{{- define "kube-remedy.labels" -}}
helm.sh/chart: {{ include "kube-remedy.chart" .root }}
{{ include "kube-remedy.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: kube-remedy
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "kube-remedy.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "kube-remedy.redisImage" -}}
{{- if .Values.redis.image.digest }}
{{- printf "%s@%s" .Values.redis.image.repository .Values.redis.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.redis.image.repository .Values.redis.image.tag }}
{{- end }}
{{- end }}

{{/* Redis: the bundled one's Service, or the external URL (which never carries credentials). */}}
{{- define "kube-remedy.redisUrl" -}}
{{- if .Values.redis.enabled }}
{{- printf "redis://%s-redis.%s.svc:6379" (include "kube-remedy.fullname" .) .Release.Namespace }}
{{- else }}
{{- .Values.redis.external.url }}
{{- end }}
{{- end }}

{{/* The Secret and key holding the Redis password; empty name when there is none. */}}
{{- define "kube-remedy.redisSecretName" -}}
{{- if .Values.redis.enabled }}
{{- default (printf "%s-redis" (include "kube-remedy.fullname" .)) .Values.redis.auth.existingSecret }}
{{- else }}
{{- .Values.redis.external.existingSecret }}
{{- end }}
{{- end }}

{{- define "kube-remedy.redisSecretKey" -}}
{{- if .Values.redis.enabled }}
{{- .Values.redis.auth.existingSecretKey }}
{{- else }}
{{- .Values.redis.external.existingSecretKey }}
{{- end }}
{{- end }}

{{/* The port of a URL (dict "url" … "default" …): explicit, else 443 for https, else the default. */}}
{{- define "kube-remedy.urlPort" -}}
{{- $u := urlParse .url }}
{{- if regexMatch ":[0-9]+$" $u.host }}
{{- regexFind "[0-9]+$" $u.host }}
{{- else if eq $u.scheme "https" }}
{{- print "443" }}
{{- else if eq $u.scheme "http" }}
{{- print "80" }}
{{- else }}
{{- .default }}
{{- end }}
{{- end }}

{{/*
Environment shared by the three roles: only variables of `kube-remedy config reference`.
Call with (dict "root" $ "role" "agent").
*/}}
{{- define "kube-remedy.commonEnv" -}}
{{- $root := .root -}}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: KUBE_REMEDY_HTTP_HOST
  value: 0.0.0.0
- name: KUBE_REMEDY_HTTP_PORT
  value: {{ $root.Values.httpPort | quote }}
- name: KUBE_REMEDY_LOG_LEVEL
  value: {{ $root.Values.log.level | quote }}
- name: KUBE_REMEDY_LOG_FORMAT
  value: {{ $root.Values.log.format | quote }}
- name: KUBE_REMEDY_SHUTDOWN_TIMEOUT
  value: {{ printf "%ds" (int $root.Values.shutdownTimeoutSeconds) | quote }}
- name: KUBE_REMEDY_REDIS_URL
  value: {{ include "kube-remedy.redisUrl" $root | quote }}
- name: KUBE_REMEDY_REDIS_KEY_PREFIX
  value: {{ $root.Values.redis.keyPrefix | quote }}
{{- with include "kube-remedy.redisSecretName" $root }}
- name: KUBE_REMEDY_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ include "kube-remedy.redisSecretKey" $root }}
{{- end }}
{{- end }}

{{/* The container of a role: call with (dict "root" $ "role" "agent" "values" .Values.agent) plus
optional "env", "ports" and "volumeMounts" (YAML lists as strings). */}}
{{- define "kube-remedy.container" -}}
{{- $root := .root -}}
- name: {{ .role }}
  image: {{ include "kube-remedy.image" $root | quote }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  args: [run, --role, {{ .role }}]
  env:
    {{- include "kube-remedy.commonEnv" . | nindent 4 }}
    {{- with default "" .env | trim }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- with .values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: http
      containerPort: {{ $root.Values.httpPort }}
      protocol: TCP
    {{- with default "" .ports | trim }}
    {{- . | nindent 4 }}
    {{- end }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: http
    periodSeconds: 10
    timeoutSeconds: 3
    failureThreshold: 3
  readinessProbe:
    httpGet:
      path: /readyz
      port: http
    periodSeconds: 5
    timeoutSeconds: 3
    failureThreshold: 3
  resources:
    {{- toYaml .values.resources | nindent 4 }}
  securityContext:
    {{- toYaml $root.Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    {{- with default "" .volumeMounts | trim }}
    {{- . | nindent 4 }}
    {{- end }}
{{- end }}

{{/* Pod-level settings of a role: call with (dict "root" $ "role" "agent" "values" .Values.agent) plus
optional "volumes" (a YAML list as a string). */}}
{{- define "kube-remedy.podSpec" -}}
{{- $root := .root -}}
serviceAccountName: {{ include "kube-remedy.roleName" . }}
automountServiceAccountToken: true
# Service links would put variables like KUBE_REMEDY_HTTP_PORT=tcp://… into the environment, where
# they would collide with kube-remedy's own configuration variables.
enableServiceLinks: false
terminationGracePeriodSeconds: {{ add (int $root.Values.shutdownTimeoutSeconds) 5 }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml .values.topologySpreadConstraints | nindent 2 }}
{{- else if .values.spreadAcrossNodes }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "kube-remedy.selectorLabels" (dict "root" $root "component" .role) | nindent 8 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
  {{- with default "" .volumes | trim }}
  {{- . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* Pod template metadata of a role. */}}
{{- define "kube-remedy.podMetadata" -}}
labels:
  {{- include "kube-remedy.labels" (dict "root" .root "component" .role) | nindent 2 }}
  {{- with .values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
The installation's Slack channel, for the roles that enqueue notifications: a policy without
spec.slack gets notification jobs only when there is a channel to post them in. Not a secret.
*/}}
{{- define "kube-remedy.slackChannelEnv" -}}
{{- with (and .Values.workers.slack.enabled .Values.workers.slack.channel) }}
- name: KUBE_REMEDY_SLACK_CHANNEL
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{- define "kube-remedy.agentEnv" -}}
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
{{- with .Values.agent.nodeOptions }}
- name: NODE_OPTIONS
  value: {{ . | quote }}
{{- end }}
{{- include "kube-remedy.slackChannelEnv" . }}
{{- end }}

{{- define "kube-remedy.controllerEnv" -}}
{{- include "kube-remedy.slackChannelEnv" . }}
{{- $p := .Values.controller.prometheus }}
{{- if $p.url }}
- name: KUBE_REMEDY_PROMETHEUS_URL
  value: {{ $p.url | quote }}
{{- end }}
{{- if $p.existingSecret }}
- name: KUBE_REMEDY_PROMETHEUS_BEARER_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $p.existingSecret }}
      key: {{ $p.bearerTokenKey }}
{{- end }}
{{- end }}

{{/* The workers' integrations: settings as values, secrets as references to Secrets. */}}
{{- define "kube-remedy.workersIntegrationEnv" -}}
{{- $s := .Values.workers.slack }}
{{- if $s.enabled }}
- name: KUBE_REMEDY_SLACK_BOT_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret }}
      key: {{ $s.botTokenKey }}
- name: KUBE_REMEDY_SLACK_SIGNING_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret }}
      key: {{ $s.signingSecretKey }}
- name: KUBE_REMEDY_SLACK_BUTTON_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret }}
      key: {{ $s.buttonSecretKey }}
- name: KUBE_REMEDY_SLACK_HOST
  value: 0.0.0.0
- name: KUBE_REMEDY_SLACK_PORT
  value: {{ $s.port | quote }}
{{- with $s.channel }}
- name: KUBE_REMEDY_SLACK_CHANNEL
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- $l := .Values.workers.llm }}
{{- if $l.enabled }}
- name: KUBE_REMEDY_LLM_MODEL
  value: {{ $l.model | quote }}
{{- with $l.baseUrl }}
- name: KUBE_REMEDY_LLM_BASE_URL
  value: {{ . | quote }}
{{- end }}
{{- with $l.existingSecret }}
- name: KUBE_REMEDY_LLM_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $l.apiKeyKey }}
{{- end }}
{{- end }}
{{- $g := .Values.workers.github }}
{{- if $g.enabled }}
- name: KUBE_REMEDY_GITHUB_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $g.existingSecret }}
      key: {{ $g.tokenKey }}
{{- with $g.baseUrl }}
- name: KUBE_REMEDY_GITHUB_BASE_URL
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- $gl := .Values.workers.gitlab }}
{{- if $gl.enabled }}
- name: KUBE_REMEDY_GITLAB_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $gl.existingSecret }}
      key: {{ $gl.tokenKey }}
{{- with $gl.baseUrl }}
- name: KUBE_REMEDY_GITLAB_BASE_URL
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- $j := .Values.workers.jira }}
{{- if $j.enabled }}
- name: KUBE_REMEDY_JIRA_BASE_URL
  value: {{ $j.baseUrl | quote }}
- name: KUBE_REMEDY_JIRA_EMAIL
  value: {{ $j.email | quote }}
- name: KUBE_REMEDY_JIRA_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $j.existingSecret }}
      key: {{ $j.apiTokenKey }}
{{- with $j.issueType }}
- name: KUBE_REMEDY_JIRA_ISSUE_TYPE
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- $s3 := .Values.workers.evidence.s3 }}
{{- with $s3.region }}
- name: KUBE_REMEDY_EVIDENCE_S3_REGION
  value: {{ . | quote }}
{{- end }}
{{- with $s3.endpoint }}
- name: KUBE_REMEDY_EVIDENCE_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- if $s3.forcePathStyle }}
- name: KUBE_REMEDY_EVIDENCE_S3_FORCE_PATH_STYLE
  value: "true"
{{- end }}
- name: KUBE_REMEDY_EVIDENCE_S3_SSE
  value: {{ $s3.serverSideEncryption | quote }}
{{- with $s3.kmsKeyId }}
- name: KUBE_REMEDY_EVIDENCE_S3_KMS_KEY_ID
  value: {{ . | quote }}
{{- end }}
{{- with $s3.existingSecret }}
- name: KUBE_REMEDY_EVIDENCE_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $s3.accessKeyIdKey }}
- name: KUBE_REMEDY_EVIDENCE_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $s3.secretAccessKeyKey }}
{{- end }}
{{- if .Values.workers.evidence.efs.enabled }}
- name: KUBE_REMEDY_EVIDENCE_EFS_ROOT
  value: {{ .Values.workers.evidence.efs.mountPath | quote }}
{{- end }}
{{- with .Values.workers.evidence.linkTemplate }}
- name: KUBE_REMEDY_EVIDENCE_LINK_TEMPLATE
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* The workers' environment: their integrations, then workers.secretEnv. */}}
{{- define "kube-remedy.workersEnv" -}}
{{ include "kube-remedy.workersIntegrationEnv" . }}
{{- range .Values.workers.secretEnv }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}

{{- define "kube-remedy.redisConf" -}}
bind * -::*
port 6379
dir /data
appendonly yes
appendfsync everysec
maxmemory {{ .Values.redis.maxmemory }}
maxmemory-policy noeviction
{{- end }}

{{/* Named templates the chart's manifests share: names, labels, and verifyd's settings. */}}

{{/*
Expand the name of the chart.
*/}}
{{- define "verifyd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
We truncate at 63 chars because some Kubernetes name fields are limited to this (by the DNS naming spec).
If release name contains chart name it will be used as a full name.
*/}}
{{- define "verifyd.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "verifyd.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels
*/}}
{{- define "verifyd.labels" -}}
helm.sh/chart: {{ include "verifyd.chart" . }}
{{ include "verifyd.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels
*/}}
{{- define "verifyd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "verifyd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Create the name of the service account to use
*/}}
{{- define "verifyd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "verifyd.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Secret verifyd's secrets come from: existingSecret (a template), or the chart's own.
*/}}
{{- define "verifyd.secretName" -}}
{{- if .Values.existingSecret }}
{{- tpl .Values.existingSecret . }}
{{- else }}
{{- include "verifyd.fullname" . }}
{{- end }}
{{- end }}

{{/*
The bundled try-it-out Redis: its name, and labels that verifyd's selector never matches.
*/}}
{{- define "verifyd.redis.fullname" -}}
{{- printf "%s-redis" (include "verifyd.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "verifyd.redis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "verifyd.name" . }}-redis
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "verifyd.redis.labels" -}}
helm.sh/chart: {{ include "verifyd.chart" . }}
{{ include "verifyd.redis.selectorLabels" . }}
app.kubernetes.io/component: redis
app.kubernetes.io/part-of: {{ include "verifyd.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Where verifyd finds Redis, without a password: the bundled Redis, or redis.url (a
template). Empty with sentinels and no redis.url, and in mode cluster (the nodes are
VERIFYD_REDIS_CLUSTER).
*/}}
{{- define "verifyd.redisUrl" -}}
{{- if eq .Values.redis.mode "cluster" }}
{{- else if .Values.redis.enabled }}
{{- printf "redis://%s:6379/0" (include "verifyd.redis.fullname" .) }}
{{- else if .Values.redis.url }}
{{- tpl .Values.redis.url . }}
{{- end }}
{{- end }}

{{/*
That URL with redis.password in it, percent-encoded (urlquery writes a space as "+"). In
mode cluster, whose nodes have no URL, it carries the password only: the first seed
node and database 0 (the only one a cluster has) make it a valid URL.
*/}}
{{- define "verifyd.redisUrlWithPassword" -}}
{{- $base := include "verifyd.redisUrl" . }}
{{- if eq .Values.redis.mode "cluster" }}
{{- $base = printf "redis://%s/0" (first .Values.redis.cluster.nodes) }}
{{- end }}
{{- $url := urlParse $base }}
{{- $user := splitList ":" $url.userinfo | first }}
{{- $password := urlquery .Values.redis.password | replace "+" "%20" }}
{{- $_ := set $url "userinfo" (printf "%s:%s" $user $password) }}
{{- urlJoin $url }}
{{- end }}

{{/*
Refuses combinations of values the schema cannot express, with a message saying why.
Included by the ConfigMap, which every release renders.
*/}}
{{- define "verifyd.validateValues" -}}
{{- if and .Values.existingSecret (or .Values.hashKey .Values.sealKey .Values.apiKeys .Values.sent.apiKey .Values.sent.webhookSecret .Values.webhook.secret .Values.events.secret .Values.redis.password .Values.redis.sentinel.password) }}
{{- fail "existingSecret is set: put the secrets in that Secret, not in hashKey, sealKey, apiKeys, sent.apiKey, sent.webhookSecret, webhook.secret, events.secret, redis.password or redis.sentinel.password" }}
{{- end }}
{{- include "verifyd.validateRedis" . }}
{{- if regexMatch "^redis://[^/@]*:[^/@]*@" .Values.redis.url }}
{{- fail "redis.url must not hold a password: put it in redis.password, which the chart keeps in the Secret" }}
{{- end }}
{{- if and .Values.redis.password (ne .Values.redis.mode "cluster") (not (hasPrefix "redis://" (include "verifyd.redisUrl" .))) }}
{{- fail "redis.password needs a redis:// redis.url (with sentinels too: it gives the database; its host is not used)" }}
{{- end }}
{{- if eq (int .Values.containerPort) (int .Values.metricsPort) }}
{{- fail "metricsPort must differ from containerPort: the metrics port is a listener of its own" }}
{{- end }}
{{- if and (eq .Values.provider "sent") (not .Values.sent.baseUrl) }}
{{- fail "sent.baseUrl is required with provider sent" }}
{{- end }}
{{- if and (eq .Values.provider "webhook") (not .Values.webhook.url) }}
{{- fail "webhook.url is required with provider webhook" }}
{{- end }}
{{- $timeoutMs := .Values.delivery.timeoutMs | default 5000 }}
{{- $neededSeconds := add (div (add (.Values.config.shutdownDelayMs | default 0) $timeoutMs) 1000) 5 }}
{{- if lt (int .Values.terminationGracePeriodSeconds) (int $neededSeconds) }}
{{- fail (printf "terminationGracePeriodSeconds must be at least %d: config.shutdownDelayMs + delivery.timeoutMs + 5 s, so that verifyd drains before it is killed" $neededSeconds) }}
{{- end }}
{{- $window := .Values.fraudGuard.window | default 3600 }}
{{- $settle := .Values.fraudGuard.settleSeconds | default 120 }}
{{- if ge (int $settle) (int $window) }}
{{- fail (printf "fraudGuard.settleSeconds (%d) must be less than fraudGuard.window (%d): a send settles within the history the guard looks at" (int $settle) (int $window)) }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (eq (kindIs "invalid" .Values.podDisruptionBudget.minAvailable) (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable)) }}
{{- fail "podDisruptionBudget: set exactly one of minAvailable and maxUnavailable" }}
{{- end }}
{{- end }}

{{/*
Refuses Redis settings that do not belong to redis.mode (values.schema.json says the same,
but helm can skip the schema): each mode takes its own settings only.
*/}}
{{- define "verifyd.validateRedis" -}}
{{- $redis := .Values.redis }}
{{- $sentinel := $redis.sentinel }}
{{- $nodes := $redis.cluster.nodes }}
{{- if not (has $redis.mode (list "standalone" "sentinel" "cluster")) }}
{{- fail (printf "redis.mode must be standalone, sentinel or cluster, not %v" $redis.mode) }}
{{- end }}
{{- if eq $redis.mode "cluster" }}
{{- if $redis.url }}
{{- fail "redis.mode is cluster: leave redis.url empty (verifyd finds the cluster's nodes from redis.cluster.nodes; the password goes in redis.password)" }}
{{- end }}
{{- if $redis.enabled }}
{{- fail "redis.mode is cluster: redis.enabled (the bundled single Redis) must be false" }}
{{- end }}
{{- if or $sentinel.hosts $sentinel.masterName $sentinel.password }}
{{- fail "redis.mode is cluster: leave redis.sentinel empty (a Redis Cluster fails over by itself)" }}
{{- end }}
{{- if not $nodes }}
{{- fail "redis.mode is cluster: redis.cluster.nodes needs at least one host:port seed node" }}
{{- end }}
{{- else if eq $redis.mode "sentinel" }}
{{- if $nodes }}
{{- fail "redis.mode is sentinel: leave redis.cluster.nodes empty, or set redis.mode: cluster" }}
{{- end }}
{{- if $redis.enabled }}
{{- fail "redis.enabled runs the bundled Redis: with redis.mode sentinel it must be false" }}
{{- end }}
{{- if not $sentinel.hosts }}
{{- fail "redis.mode is sentinel: redis.sentinel.hosts needs at least one host:port" }}
{{- end }}
{{- if not $sentinel.masterName }}
{{- fail "redis.sentinel.masterName is required with redis.mode sentinel" }}
{{- end }}
{{- else }}
{{- if $nodes }}
{{- fail "redis.cluster.nodes is set: set redis.mode: cluster to use a Redis Cluster" }}
{{- end }}
{{- if $sentinel.hosts }}
{{- fail "redis.sentinel.hosts is set: set redis.mode: sentinel to find the master through them" }}
{{- end }}
{{- if and $redis.enabled (or $redis.url $redis.password) }}
{{- fail "redis.enabled runs the bundled Redis: leave redis.url, redis.sentinel and redis.password empty" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A setting as an environment variable's text: whole numbers without an exponent (values
are floats, and 1000000 would print as 1e+06), fractions as they are (0.2), lists
comma-separated.
*/}}
{{- define "verifyd.envValue" -}}
{{- if and (kindIs "float64" .) (eq (floor .) .) }}
{{- int64 . }}
{{- else if kindIs "slice" . }}
{{- join "," . }}
{{- else }}
{{- . }}
{{- end }}
{{- end }}

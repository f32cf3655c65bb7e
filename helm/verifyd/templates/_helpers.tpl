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
template). Empty with sentinels and no redis.url.
*/}}
{{- define "verifyd.redisUrl" -}}
{{- if .Values.redis.enabled }}
{{- printf "redis://%s:6379/0" (include "verifyd.redis.fullname" .) }}
{{- else if .Values.redis.url }}
{{- tpl .Values.redis.url . }}
{{- end }}
{{- end }}

{{/*
That URL with redis.password in it, percent-encoded (urlquery writes a space as "+").
*/}}
{{- define "verifyd.redisUrlWithPassword" -}}
{{- $url := urlParse (include "verifyd.redisUrl" .) }}
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
{{- $sentinels := .Values.redis.sentinel.hosts }}
{{- if and .Values.existingSecret (or .Values.hashKey .Values.sealKey .Values.apiKeys .Values.sent.apiKey .Values.sent.webhookSecret .Values.webhook.secret .Values.events.secret .Values.redis.password .Values.redis.sentinel.password) }}
{{- fail "existingSecret is set: put the secrets in that Secret, not in hashKey, sealKey, apiKeys, sent.apiKey, sent.webhookSecret, webhook.secret, events.secret, redis.password or redis.sentinel.password" }}
{{- end }}
{{- if and .Values.redis.enabled (or .Values.redis.url $sentinels .Values.redis.password) }}
{{- fail "redis.enabled runs the bundled Redis: leave redis.url, redis.sentinel and redis.password empty" }}
{{- end }}
{{- if and $sentinels (not .Values.redis.sentinel.masterName) }}
{{- fail "redis.sentinel.masterName is required with redis.sentinel.hosts" }}
{{- end }}
{{- if regexMatch "^redis://[^/@]*:[^/@]*@" .Values.redis.url }}
{{- fail "redis.url must not hold a password: put it in redis.password, which the chart keeps in the Secret" }}
{{- end }}
{{- if and .Values.redis.password (not (hasPrefix "redis://" (include "verifyd.redisUrl" .))) }}
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

{{/*
Helpers of the wdm chart. infra/k8s/render interprets these templates too (a subset of
Go templates: see the top of that file), so keep to what it knows.
*/}}

{{/* The labels (and selector) of one part: include "wdm.labels" "stock" */}}
{{- define "wdm.labels" -}}
app.kubernetes.io/name: {{ . }}
app.kubernetes.io/part-of: wdm
{{- end }}

{{/* How many pods a service may have: its maxReplicas when autoscaled, else replicas. */}}
{{- define "wdm.maxPods" -}}
{{- if .autoscaling.enabled }}{{ .autoscaling.maxReplicas }}{{ else }}{{ .replicas }}{{ end -}}
{{- end }}

{{/*
The nng URLs of every pod a service may have, e.g. for stock:
tcp://stock-0.stock:7051,tcp://stock-1.stock:7051,...
Per-pod names of the StatefulSet's headless Service, so that a client's REQ socket holds
one connection to each replica (round-robin, and a request whose replica dies is re-sent
on another connection). Names of pods that do not exist (yet) do not resolve; nng keeps
re-dialing them (at most once a second) and connects when the HPA adds the pod.
Usage: include "wdm.urls" (dict "name" "stock" "svc" .Values.stock)
*/}}
{{- define "wdm.urls" -}}
{{- $name := .name -}}
{{- $port := .svc.port -}}
{{- range $i := until (int (include "wdm.maxPods" .svc)) -}}
{{- if $i }},{{ end }}tcp://{{ $name }}-{{ $i }}.{{ $name }}:{{ $port }}
{{- end -}}
{{- end }}

{{/* host:port of every Sentinel, for WDM_SENTINELS. Argument: the root context. */}}
{{- define "wdm.sentinels" -}}
{{- $port := .Values.sentinel.port -}}
{{- range $i := until (int .Values.sentinel.replicas) -}}
{{- if $i }},{{ end }}redis-sentinel-{{ $i }}.redis-sentinel:{{ $port }}
{{- end -}}
{{- end }}

{{/*
amqp:// URLs of every RabbitMQ node, for WDM_RABBITMQ_URL: per-pod names of the headless
Service rabbitmq-nodes, so that each (re)connect of a client goes to the next node in the
list (DESIGN §5: a node's death moves its clients to another). The user and password are
put in by Kubernetes ($(VAR) refers to a variable defined before it).
Argument: the root context.
*/}}
{{- define "wdm.rabbitmqUrls" -}}
{{- $port := .Values.rabbitmq.port -}}
{{- range $i := until (int .Values.rabbitmq.replicas) -}}
{{- if $i }},{{ end }}amqp://$(RABBITMQ_USERNAME):$(RABBITMQ_PASSWORD)@rabbitmq-{{ $i }}.rabbitmq-nodes:{{ $port }}/
{{- end -}}
{{- end }}

{{/* The pod securityContext of the application image. Argument: the root context. */}}
{{- define "wdm.appPodSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsUser }}
{{- end }}

{{/* The container securityContext of every container of ours: nothing to escalate to. */}}
{{- define "wdm.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}

{{/*
The environment every service (order, stock, payment) gets: Redis through the Sentinels,
RabbitMQ (every node), and the shared settings. Argument: the root context.
*/}}
{{- define "wdm.serviceEnv" -}}
- name: WDM_SENTINELS
  value: {{ include "wdm.sentinels" . | quote }}
- name: WDM_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: wdm-redis
      key: password
- name: WDM_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: wdm-redis
      key: sentinel-password
- name: RABBITMQ_USERNAME
  valueFrom:
    secretKeyRef:
      name: wdm-rabbitmq
      key: username
- name: RABBITMQ_PASSWORD
  valueFrom:
    secretKeyRef:
      name: wdm-rabbitmq
      key: password
- name: WDM_RABBITMQ_URL
  value: {{ include "wdm.rabbitmqUrls" . | quote }}
- name: WDM_BUS_QUEUE_TYPE
  value: {{ .Values.bus.queueType | quote }}
- name: WDM_BUS_PREFETCH
  value: {{ .Values.bus.prefetch | quote }}
- name: WDM_BUS_HEARTBEAT_S
  value: {{ .Values.bus.heartbeatS | quote }}
- name: WDM_WAIT_TIMEOUT_MS
  value: {{ .Values.store.waitTimeoutMs | quote }}
- name: WDM_RETRY_DEADLINE_MS
  value: {{ .Values.store.retryDeadlineMs | quote }}
- name: WDM_SAGA_RECORD_TTL_S
  value: {{ .Values.sagaRecordTtlS | quote }}
- name: WDM_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end }}

{{/*
One value of a Secret, base64-encoded, for its data: (templates/secrets.yaml)
  1. the value set in the values (checked by wdm.checkSecret);
  2. else the value the Secret holds in the cluster (lookup: kept on upgrade; refused if
     it is a placeholder, e.g. from an older chart's defaults);
  3. else 32 random letters and digits (install; `helm template`, which has no cluster).
Usage: include "wdm.secret" (dict "value" .Values.redis.password "name" "redis.password"
  "old" <data of the Secret in the cluster, or an empty dict> "secret" "wdm-redis" "key" "password")
*/}}
{{- define "wdm.secret" -}}
{{- if .value -}}
{{- include "wdm.checkSecret" (dict "value" .value "what" .name) -}}
{{- b64enc .value -}}
{{- else if index .old .key -}}
{{- $what := printf "key %s of the Secret %s in the cluster (set %s to replace it)" .key .secret .name -}}
{{- include "wdm.checkSecret" (dict "value" (b64dec (index .old .key)) "what" $what "kept" true) -}}
{{- index .old .key -}}
{{- else -}}
{{- randAlphaNum 32 | b64enc -}}
{{- end -}}
{{- end }}

{{/*
Fails the render on a secret that is no secret: a placeholder (CHANGE-ME-..., changeme,
...), or, for a value set in the values (not "kept"), anything but 16 or more letters,
digits and . _ ~ - (secrets go into URLs and config files unquoted).
Argument: dict "value" <the secret> "what" <where it comes from> ["kept" true]
*/}}
{{- define "wdm.checkSecret" -}}
{{- if not (kindIs "string" .value) -}}
{{- fail (printf "%s must be a string (quote it)" .what) -}}
{{- end -}}
{{- if regexMatch "(?i)change.?me|placeholder|^(guest|password|secret|wdm-local)$" .value -}}
{{- fail (printf "%s is a placeholder: set a real secret, or leave the value empty for a random one (infra/helm/README.md, Secrets)" .what) -}}
{{- end -}}
{{- if and (not .kept) (not (regexMatch "^[A-Za-z0-9._~-]{16,}$" .value)) -}}
{{- fail (printf "%s: use 16 or more letters, digits and . _ ~ - (it goes into URLs and config files)" .what) -}}
{{- end -}}
{{- end }}

{{/*
The NetworkPolicy ingress rule that lets Prometheus (networkPolicy.prometheusFrom, not
empty: the caller checks) scrape the port named "port".
Usage: include "wdm.scrapeRule" (dict "root" $ "port" "metrics")
*/}}
{{- define "wdm.scrapeRule" -}}
- from:
    {{- toYaml .root.Values.networkPolicy.prometheusFrom | nindent 4 }}
  ports:
    - port: {{ .port }}
      protocol: TCP
{{- end }}

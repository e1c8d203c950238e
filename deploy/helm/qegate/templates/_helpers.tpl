{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "qegate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: release-chart, or the release name when it already holds the chart name. */}}
{{- define "qegate.fullname" -}}
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

{{- define "qegate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "qegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector of the gate's pods; component keeps the filter Job's pods out of it. */}}
{{- define "qegate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "qegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gate
{{- end -}}

{{- define "qegate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "qegate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "qegate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Secret holding the SASL username and password. */}}
{{- define "qegate.saslSecretName" -}}
{{- default (printf "%s-kafka-sasl" (include "qegate.fullname" .)) .Values.kafka.sasl.existingSecret -}}
{{- end -}}

{{/* Where the SASL password and the TLS files are mounted (outside the
ConfigMap's /etc/qegate, whose volume is read-only). */}}
{{- define "qegate.saslDir" -}}/var/run/secrets/qegate/kafka-sasl{{- end -}}
{{- define "qegate.tlsDir" -}}/var/run/secrets/qegate/kafka-tls{{- end -}}

{{/* Whole cores of a CPU quantity ("2", 2, "1500m", "0.5"), at least 1. */}}
{{- define "qegate.cores" -}}
{{- $c := toString . -}}
{{- if hasSuffix "m" $c -}}
{{- max 1 (div (atoi (trimSuffix "m" $c)) 1000) -}}
{{- else -}}
{{- max 1 (int (floor (float64 $c))) -}}
{{- end -}}
{{- end -}}

{{/* Kafka SASL mechanism in KEDA's spelling. */}}
{{- define "qegate.kedaSasl" -}}
{{- $m := upper .Values.kafka.sasl.mechanism -}}
{{- if eq $m "PLAIN" -}}plaintext
{{- else if eq $m "SCRAM-SHA-256" -}}scram_sha256
{{- else if eq $m "SCRAM-SHA-512" -}}scram_sha512
{{- else -}}{{- fail (printf "kafka.sasl.mechanism: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %q" .Values.kafka.sasl.mechanism) -}}
{{- end -}}
{{- end -}}

{{/* The topic KEDA measures lag on: keda.topic, else the only input topic, else none (every topic of the group). */}}
{{- define "qegate.kedaTopic" -}}
{{- $topics := (((.Values.config).kafka).topics) | default (list "mt.incoming") -}}
{{- if .Values.keda.topic -}}
{{- .Values.keda.topic -}}
{{- else if eq (len $topics) 1 -}}
{{- first $topics -}}
{{- end -}}
{{- end -}}

{{/* qegate.yaml: .Values.config plus the keys the chart owns. */}}
{{- define "qegate.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) -}}
{{- $kafka := get $cfg "kafka" | default dict -}}
{{- range $k := list "sasl" "tls" -}}
{{- if hasKey $kafka $k -}}
{{- fail (printf "config.kafka.%s is set by the chart: use kafka.%s (its Secret is shared with KEDA)" $k $k) -}}
{{- end -}}
{{- end -}}
{{- if hasKey (get $cfg "metrics" | default dict) "listen" -}}
{{- fail "config.metrics.listen is set by the chart: use metrics.port (probes, Service and scrape annotations follow it)" -}}
{{- end -}}
{{- if .Values.kafka.sasl.enabled -}}
{{- $_ := include "qegate.kedaSasl" . -}}
{{- /* The username comes from the Secret through QEGATE_KAFKA_SASL_USERNAME. */ -}}
{{- $_ := set $kafka "sasl" (dict "mechanism" (upper .Values.kafka.sasl.mechanism) "password_file" (printf "%s/password" (include "qegate.saslDir" .))) -}}
{{- end -}}
{{- if .Values.kafka.tls.enabled -}}
{{- $tls := dict "enable" true -}}
{{- if .Values.kafka.tls.existingSecret -}}
{{- $_ := set $tls "ca_file" (printf "%s/ca.crt" (include "qegate.tlsDir" .)) -}}
{{- if .Values.kafka.tls.clientCert -}}
{{- $_ := set $tls "cert_file" (printf "%s/tls.crt" (include "qegate.tlsDir" .)) -}}
{{- $_ := set $tls "key_file" (printf "%s/tls.key" (include "qegate.tlsDir" .)) -}}
{{- end -}}
{{- end -}}
{{- with .Values.kafka.tls.serverName -}}
{{- $_ := set $tls "server_name" . -}}
{{- end -}}
{{- $_ := set $kafka "tls" $tls -}}
{{- end -}}
{{- if $kafka -}}
{{- $_ := set $cfg "kafka" $kafka -}}
{{- end -}}
{{- $metrics := get $cfg "metrics" | default dict -}}
{{- $_ := set $metrics "listen" (printf ":%v" .Values.metrics.port) -}}
{{- $_ := set $cfg "metrics" $metrics -}}
{{- $model := get $cfg "model" | default dict -}}
{{- $cpu := ((.Values.resources).limits).cpu -}}
{{- if and $cpu (not (get $model "sessions")) (not (get $model "intra_op_threads")) -}}
{{- $_ := set $model "sessions" (include "qegate.cores" $cpu | atoi) -}}
{{- $_ := set $model "intra_op_threads" 1 -}}
{{- end -}}
{{- if $model -}}
{{- $_ := set $cfg "model" $model -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* Pod and container security settings shared by the gate and the filter Job. */}}
{{- define "qegate.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}
{{- define "qegate.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Names, at most 63 characters (DNS labels), as Helm's own scaffold makes them. */}}
{{- define "releasemanager.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "releasemanager.fullname" -}}
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

{{- define "releasemanager.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels: the original chart's (app, release), so that `helm upgrade` from it keeps
the Deployment's immutable selector.
*/}}
{{- define "releasemanager.selectorLabels" -}}
app: {{ include "releasemanager.name" . }}
release: {{ .Release.Name }}
{{- end -}}

{{- define "releasemanager.labels" -}}
{{ include "releasemanager.selectorLabels" . }}
chart: {{ include "releasemanager.chart" . }}
heritage: {{ .Release.Service }}
app.kubernetes.io/name: {{ include "releasemanager.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "releasemanager.chart" . }}
{{- end -}}

{{- define "releasemanager.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "releasemanager.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* "true" when the replicas elect a leader: leaderElection.enabled, else replicaCount > 1. */}}
{{- define "releasemanager.leaderElect" -}}
{{- $n := int .Values.replicaCount -}}
{{- $on := .Values.leaderElection.enabled -}}
{{- if kindIs "invalid" $on -}}
{{- $on = gt $n 1 -}}
{{- end -}}
{{- if and (not $on) (gt $n 1) -}}
{{- fail (printf "replicaCount is %d but leaderElection.enabled is false: every replica would write the same store; turn leader election on or use one replica" $n) -}}
{{- end -}}
{{- ternary "true" "" $on -}}
{{- end -}}

{{- define "releasemanager.leaseName" -}}
{{- default (include "releasemanager.fullname" .) .Values.leaderElection.leaseName -}}
{{- end -}}

{{- define "releasemanager.backendType" -}}
{{- $t := required "A valid .Values.backend.type entry required (s3 or local)" .Values.backend.type -}}
{{- if not (has $t (list "s3" "local")) -}}
{{- fail (printf "backend.type %q is not a backend of this image: use s3 or local" $t) -}}
{{- end -}}
{{- $t -}}
{{- end -}}

{{- define "releasemanager.isS3" -}}
{{- ternary "true" "" (eq (include "releasemanager.backendType" .) "s3") -}}
{{- end -}}

{{/* The Secret holding S3 credentials, or "" when the AWS credential chain is used. */}}
{{- define "releasemanager.s3SecretName" -}}
{{- $s3 := .Values.s3 | default dict -}}
{{- if include "releasemanager.isS3" . -}}
{{- if $s3.existingSecret -}}
{{- $s3.existingSecret -}}
{{- else if or $s3.accessKeyID $s3.secretAccessKey $s3.sessionToken -}}
{{- include "releasemanager.fullname" . -}}
{{- end -}}
{{- end -}}
{{- end -}}

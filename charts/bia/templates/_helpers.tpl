{{/* Full name of the release's objects: "<release>-operator", so that it never collides
with the children of an IdentityServer, which are named after the server. */}}
{{- define "bia.fullname" -}}
{{- if contains "operator" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "bia.labels" -}}
app.kubernetes.io/name: bia-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels that select the operator pods. */}}
{{- define "bia.selectorLabels" -}}
app.kubernetes.io/name: bia-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bia.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "bia.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "energy-autoscaler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "energy-autoscaler.labels" -}}
app.kubernetes.io/name: {{ include "energy-autoscaler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "energy-autoscaler.selector" -}}
app.kubernetes.io/name: {{ include "energy-autoscaler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "energy-autoscaler.serviceAccount" -}}
{{- .Values.serviceAccount.name | default (include "energy-autoscaler.name" .) -}}
{{- end -}}

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

{{/* The operator's own identity, as the API server names it in admission requests. */}}
{{- define "energy-autoscaler.username" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "energy-autoscaler.serviceAccount" . }}
{{- end -}}

{{/*
Workload rules, the same in the ClusterRole and in each namespaced Role. Served kinds:
list+watch (the cache), get (re-read after a 409), patch (the recommendation and state
annotations); their /scale: get (re-read after a 409) and patch (enforce mode). Events about the
served jobs, in the jobs' namespaces. No update/delete/create on workloads, no pods, no secrets.
*/}}
{{- define "energy-autoscaler.workloadRules" -}}
{{- range .Values.kinds }}
- apiGroups: [{{ .group | quote }}]
  resources: [{{ .plural | quote }}]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: [{{ .group | quote }}]
  resources: [{{ printf "%s/scale" .plural | quote }}]
  verbs: ["get", "patch"]
{{- end }}
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}

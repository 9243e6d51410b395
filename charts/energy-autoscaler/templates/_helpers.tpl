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
The built-in kinds the RBAC needs to know (autoscaler/kube/builtin_kinds.py; a test keeps them
equal): API group, resource, and how a resize is written (scale: the /scale subresource;
patch: a JSON patch of the object; none: recommend only).
*/}}
{{- define "energy-autoscaler.builtinKinds" -}}
PyTorchJob: {group: "kubeflow.org", plural: pytorchjobs, resize: scale}
StatefulSet: {group: "apps", plural: statefulsets, resize: scale}
Deployment: {group: "apps", plural: deployments, resize: scale}
VolcanoJob: {group: "batch.volcano.sh", plural: jobs, resize: patch}
RayCluster: {group: "ray.io", plural: rayclusters, resize: patch}
Job: {group: "batch", plural: jobs, resize: patch}
JobSet: {group: "jobset.x-k8s.io", plural: jobsets, resize: none}
TrainJob: {group: "trainer.kubeflow.org", plural: trainjobs, resize: none}
{{- end -}}

{{/* The enabled kinds (built-in names in .Values.kinds, then .Values.customKinds), as a YAML
list of {group, plural, resize}. An unknown name fails the rendering with the known ones. */}}
{{- define "energy-autoscaler.kinds" -}}
{{- $builtins := include "energy-autoscaler.builtinKinds" . | fromYaml -}}
{{- $out := list -}}
{{- range .Values.kinds -}}
{{- if not (hasKey $builtins .) -}}
{{- fail (printf "kinds: unknown built-in kind %q (known: %s)" . (keys $builtins | sortAlpha | join ", ")) -}}
{{- end -}}
{{- $out = append $out (get $builtins .) -}}
{{- end -}}
{{- range .Values.customKinds -}}
{{- $out = append $out (dict "group" .group "plural" .plural "resize" (.resize | default "scale")) -}}
{{- end -}}
{{- toYaml (dict "kinds" $out) -}}
{{- end -}}

{{/*
Workload rules, the same in the ClusterRole and in each namespaced Role, generated from the
enabled kinds: list+watch (the cache), get (re-read after a 409), patch (the recommendation and
state annotations, and the replica count of "patch" kinds); the /scale subresource (get, patch)
only for "scale" kinds; none for recommend-only kinds. Pods: list, only with placement on (the
nodes a job spans). Events about the served jobs, in the jobs' namespaces. No
update/delete/create on workloads, no secrets.
*/}}
{{- define "energy-autoscaler.workloadRules" -}}
{{- range (include "energy-autoscaler.kinds" . | fromYaml).kinds }}
- apiGroups: [{{ .group | quote }}]
  resources: [{{ .plural | quote }}]
  verbs: ["get", "list", "watch", "patch"]
{{- if eq .resize "scale" }}
- apiGroups: [{{ .group | quote }}]
  resources: [{{ printf "%s/scale" .plural | quote }}]
  verbs: ["get", "patch"]
{{- end }}
{{- end }}
{{- if .Values.placement }}
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
{{- end }}
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}

{{/* "group/plural" of the kinds resized by a patch of the object (the admission policy lets
their spec change in a write that changes no metadata). */}}
{{- define "energy-autoscaler.patchedResources" -}}
{{- $out := list -}}
{{- range (include "energy-autoscaler.kinds" . | fromYaml).kinds -}}
{{- if eq .resize "patch" -}}
{{- $out = append $out (printf "%s/%s" .group .plural) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

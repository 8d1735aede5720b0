{{- define "pss.labels" -}}
app.kubernetes.io/part-of: pss
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{ include "pss.selector" . }}
{{- end -}}

{{- define "pss.selector" -}}
app.kubernetes.io/name: {{ .name }}
{{- end -}}

{{- define "pss.image" -}}
{{ .root.Values.image.registry }}/{{ .name }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end -}}

{{/* every container runs as the image's unprivileged user, read-only, no privileges */}}
{{- define "pss.containerSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* the service's secrets, each from its own Secret */}}
{{- define "pss.secretEnv" -}}
{{- range .svc.secretKeys }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $.svc.secretName }}
      key: {{ . }}
{{- end }}
{{- end -}}

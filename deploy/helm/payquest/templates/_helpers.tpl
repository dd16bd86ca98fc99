{{- define "payquest.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "payquest.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "payquest.labels" -}}
{{ include "payquest.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- range $k, $v := .Values.costLabels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{- define "payquest.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
{{- end -}}

{{/* The container's security context: non-root, read-only root, no capabilities. */}}
{{- define "payquest.containerSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Settings and secrets every PayQuest container reads. */}}
{{- define "payquest.env" -}}
- name: PAYQUEST_DATABASE_URL_FILE
  value: {{ printf "%s/%s" .Values.secrets.urls.mountPath .Values.secrets.urls.databaseUrlKey }}
- name: PAYQUEST_REDIS_URL_FILE
  value: {{ printf "%s/%s" .Values.secrets.urls.mountPath .Values.secrets.urls.redisUrlKey }}
- name: PAYQUEST_CHAIN_SIGNER_KEY_FILE
  value: {{ printf "%s/%s" .Values.secrets.files.mountPath .Values.secrets.files.signerKey }}
- name: PAYQUEST_SECRETS_KEY_FILE
  value: {{ printf "%s/%s" .Values.secrets.files.mountPath .Values.secrets.files.sealingKey }}
- name: PAYQUEST_BOOTSTRAP_PASSWORD_FILE
  value: /tmp/first-admin-password
{{- end -}}

{{/* The secrets, mounted as files (what a secrets manager's CSI driver does). */}}
{{- define "payquest.secretMounts" -}}
- name: keys
  mountPath: {{ .Values.secrets.files.mountPath }}
  readOnly: true
- name: urls
  mountPath: {{ .Values.secrets.urls.mountPath }}
  readOnly: true
{{- end -}}

{{- define "payquest.secretVolumes" -}}
- name: keys
  secret:
    secretName: {{ .Values.secrets.files.name }}
    defaultMode: 0400
- name: urls
  secret:
    secretName: {{ .Values.secrets.urls.name }}
    defaultMode: 0400
{{- end -}}

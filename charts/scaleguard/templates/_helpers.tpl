{{/* Chart name, overridable. */}}
{{- define "scaleguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: release-prefixed unless the release is already called scaleguard. */}}
{{- define "scaleguard.fullname" -}}
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

{{- define "scaleguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scaleguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "scaleguard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "scaleguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "scaleguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "scaleguard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "scaleguard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "scaleguard.serviceName" -}}
{{- printf "%s-webhook" (include "scaleguard.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Secret holding the serving certificate, whoever issues it. */}}
{{- define "scaleguard.tlsSecretName" -}}
{{- printf "%s-tls" (include "scaleguard.fullname" .) -}}
{{- end -}}

{{- define "scaleguard.servingCertName" -}}
{{- printf "%s-serving" (include "scaleguard.fullname" .) -}}
{{- end -}}

{{/* DNS names the serving certificate must hold. */}}
{{- define "scaleguard.dnsNames" -}}
{{- $svc := include "scaleguard.serviceName" . -}}
{{- $names := list (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) -}}
{{- concat $names .Values.tls.extraDNSNames | toJson -}}
{{- end -}}

{{/*
The settings scaleguard runs with: .Values.settings, with the namespaces the
chart always exempts (kube-system, and the release namespace, so that a
broken scaleguard can always be repaired) and webhook.excludeNamespaces
added to exemptNamespaces, and webhook.optOutLabel, when set, as
optOutLabel. Both are values of older charts, kept so their values files
still work: the settings are the one list every part of scaleguard reads.
*/}}
{{- define "scaleguard.settings" -}}
{{- $settings := deepCopy .Values.settings -}}
{{- $names := concat ($settings.exemptNamespaces | default list) (list "kube-system" .Release.Namespace) (.Values.webhook.excludeNamespaces | default list) | uniq -}}
{{- $_ := set $settings "exemptNamespaces" $names -}}
{{- $label := $settings.optOutLabel | default "scaleguard.io/ignore" -}}
{{- with .Values.webhook.optOutLabel -}}
{{- if and $settings.optOutLabel (ne $settings.optOutLabel "scaleguard.io/ignore") (ne $settings.optOutLabel .) -}}
{{- fail (printf "webhook.optOutLabel (%s) and settings.optOutLabel (%s) name different labels: set settings.optOutLabel only" . $settings.optOutLabel) -}}
{{- end -}}
{{- $label = . -}}
{{- end -}}
{{- $_ := set $settings "optOutLabel" $label -}}
{{- toYaml $settings -}}
{{- end -}}

{{/*
The namespaces scaleguard never judges, as a namespaceSelector: those the
settings exempt by name, and those labelled with the settings' opt-out
label set to "true" — what celpolicy.NamespaceSelector makes of the same
settings.
*/}}
{{- define "scaleguard.namespaceSelector" -}}
{{- $settings := include "scaleguard.settings" . | fromYaml -}}
namespaceSelector:
  matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ $settings.exemptNamespaces | toJson }}
  - key: {{ $settings.optOutLabel }}
    operator: NotIn
    values: ["true"]
{{- end -}}

{{/* Where the API server calls a path: the Service, or webhook.url. */}}
{{- define "scaleguard.clientConfig" -}}
{{- $ := index . 0 -}}
{{- $path := index . 1 -}}
clientConfig:
  {{- if $.Values.webhook.url }}
  url: {{ printf "%s%s" (trimSuffix "/" $.Values.webhook.url) $path | quote }}
  {{- else }}
  service:
    name: {{ include "scaleguard.serviceName" $ }}
    namespace: {{ $.Release.Namespace }}
    path: {{ $path }}
    port: 443
  {{- end }}
  {{- if not $.Values.certManager.enabled }}
  caBundle: {{ include "scaleguard.generatedCerts" $ | fromYaml | dig "ca" "" }}
  {{- end }}
{{- end -}}

{{/*
The chart's own CA and serving certificate (certManager.enabled=false),
ECDSA P-256. An existing Secret is reused so that an upgrade does not rotate
the certificate under running pods; `helm template` has no cluster to look
in and always generates. Rendered once per release through a cached value.
*/}}
{{- define "scaleguard.generatedCerts" -}}
{{- $cache := .Values._generatedCerts | default dict -}}
{{- if not (hasKey $cache "ca") -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace (include "scaleguard.tlsSecretName" .) -}}
{{- if and $secret (hasKey ($secret.data | default dict) "ca.crt") (hasKey $secret.data "tls.crt") (hasKey $secret.data "tls.key") -}}
{{- $_ := set $cache "ca" (index $secret.data "ca.crt") -}}
{{- $_ := set $cache "crt" (index $secret.data "tls.crt") -}}
{{- $_ := set $cache "key" (index $secret.data "tls.key") -}}
{{- else -}}
{{- $days := int .Values.tls.generatedValidityDays -}}
{{- $ca := genCAWithKey (printf "%s-ca" (include "scaleguard.fullname" .)) $days (genPrivateKey "ecdsa") -}}
{{- $cert := genSignedCertWithKey (include "scaleguard.serviceName" .) .Values.tls.extraIPAddresses (include "scaleguard.dnsNames" . | fromJsonArray) $days $ca (genPrivateKey "ecdsa") -}}
{{- $_ := set $cache "ca" ($ca.Cert | b64enc) -}}
{{- $_ := set $cache "crt" ($cert.Cert | b64enc) -}}
{{- $_ := set $cache "key" ($cert.Key | b64enc) -}}
{{- end -}}
{{- $_ := set .Values "_generatedCerts" $cache -}}
{{- end -}}
{{- toYaml $cache -}}
{{- end -}}

package validate

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func chartDir(t *testing.T) string {
	return filepath.Join(repo(t), "deploy", "helm", "qegate")
}

func TestChartLint(t *testing.T) {
	h := helmCLI(t)
	for _, values := range []string{"", "ci/full-values.yaml", "ci/existing-secrets-values.yaml"} {
		t.Run("values="+values, func(t *testing.T) {
			run := HelmRun{Helm: h, Chart: chartDir(t)}
			if values != "" {
				run.Values = []string{filepath.Join(chartDir(t), values)}
			}
			out, err := run.Lint(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Log(strings.TrimSpace(out))
		})
	}
}

// render templates the chart and strictly decodes the result.
func render(t *testing.T, values []string, set []string) (*Rendered, []byte) {
	t.Helper()
	run := HelmRun{Helm: helmCLI(t), Chart: chartDir(t), Set: set}
	for _, v := range values {
		run.Values = append(run.Values, filepath.Join(chartDir(t), v))
	}
	out, err := run.Template(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeManifests(out)
	if err != nil {
		t.Fatalf("%v\n--- rendered:\n%s", err, out)
	}
	return r, out
}

func TestChartRender(t *testing.T) {
	k, cfg, img := keda(t), configSchema(t), imageFacts(t)
	for _, tc := range []struct {
		name      string
		values    []string
		set       []string
		kinds     []string // kinds rendered, in any order
		replicas  int32    // 0: KEDA owns them
		sessions  int
		shards    int
		topic     string
		secrets   []string
		configHas map[string]any // dotted key -> value in qegate.yaml
		dashboard bool           // the dashboard ConfigMap, equal to compose's
	}{
		{
			name:     "defaults",
			kinds:    []string{"ServiceAccount", "ConfigMap", "Service", "Deployment", "PodDisruptionBudget"},
			replicas: 2, sessions: 2,
			configHas: map[string]any{"metrics.listen": ":9464", "kafka.group_id": "qegate", "model.intra_op_threads": 1.0},
		},
		{
			name:     "SASL over mutual TLS, KEDA, filter Job",
			values:   []string{"ci/full-values.yaml"},
			kinds:    []string{"ServiceAccount", "Secret", "ConfigMap", "Service", "Deployment", "PodDisruptionBudget", "Job", "ScaledObject", "TriggerAuthentication"},
			sessions: 4, shards: 8, topic: "mt.incoming", secrets: []string{"qegate-kafka-sasl"},
			configHas: map[string]any{
				"kafka.sasl.mechanism": "SCRAM-SHA-512", "kafka.sasl.password_file": "/var/run/secrets/qegate/kafka-sasl/password",
				"kafka.tls.enable": true, "kafka.tls.ca_file": "/var/run/secrets/qegate/kafka-tls/ca.crt",
				"kafka.tls.server_name": "kafka.example.internal", "routes.review": "review.{tgt_lang}", "model.output": "da70",
			},
		},
		{
			name:     "existing Secrets, two topics, scale from zero",
			values:   []string{"ci/existing-secrets-values.yaml"},
			kinds:    []string{"ServiceAccount", "ConfigMap", "Service", "Deployment", "ScaledObject", "TriggerAuthentication"},
			sessions: 2, topic: "",
			configHas: map[string]any{"kafka.sasl.mechanism": "PLAIN", "kafka.tls.enable": true},
		},
		{
			name:     "fractional CPU limit",
			set:      []string{"resources.limits.cpu=1500m", "resources.requests.cpu=1"},
			kinds:    []string{"ServiceAccount", "ConfigMap", "Service", "Deployment", "PodDisruptionBudget"},
			replicas: 2, sessions: 1,
		},
		{
			name:     "Grafana dashboard ConfigMap",
			set:      []string{"grafanaDashboard.enabled=true"},
			kinds:    []string{"ServiceAccount", "ConfigMap", "ConfigMap", "Service", "Deployment", "PodDisruptionBudget"},
			replicas: 2, sessions: 2, dashboard: true,
		},
		{
			name:     "explicit sessions and threads",
			set:      []string{"resources.limits.cpu=4", "config.model.sessions=2", "config.model.intra_op_threads=2", "metrics.port=9100", "replicaCount=5"},
			kinds:    []string{"ServiceAccount", "ConfigMap", "Service", "Deployment", "PodDisruptionBudget"},
			replicas: 5, sessions: 2,
			configHas: map[string]any{"metrics.listen": ":9100", "model.intra_op_threads": 2.0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := render(t, tc.values, tc.set)
			f, err := CheckRendered(r, cfg, k, img)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, id := range r.Kinds {
				kinds = append(kinds, strings.SplitN(id, "/", 2)[0])
			}
			slices.Sort(kinds)
			want := slices.Clone(tc.kinds)
			slices.Sort(want)
			if !slices.Equal(kinds, want) {
				t.Errorf("kinds %v, want %v", kinds, want)
			}
			if tc.replicas == 0 && f.Replicas != nil || tc.replicas != 0 && (f.Replicas == nil || *f.Replicas != tc.replicas) {
				t.Errorf("replicas %v, want %d (0: none, KEDA)", f.Replicas, tc.replicas)
			}
			if f.Sessions != tc.sessions || f.JobShards != tc.shards || f.Topic != tc.topic {
				t.Errorf("sessions %d, shards %d, KEDA topic %q; want %d, %d, %q", f.Sessions, f.JobShards, f.Topic, tc.sessions, tc.shards, tc.topic)
			}
			if !slices.Equal(f.Secrets, tc.secrets) {
				t.Errorf("secrets %v, want %v", f.Secrets, tc.secrets)
			}
			if tc.dashboard {
				compose, err := os.ReadFile(filepath.Join(repo(t), "deploy", "compose", "grafana", "dashboards", "qegate.json"))
				if err != nil {
					t.Fatal(err)
				}
				if strings.TrimSpace(f.Dashboard) != strings.TrimSpace(string(compose)) {
					t.Errorf("the chart's dashboard differs from deploy/compose/grafana/dashboards/qegate.json: copy it to deploy/helm/qegate/dashboards/")
				}
			} else if f.Dashboard != "" {
				t.Errorf("dashboard ConfigMap rendered, not asked for")
			}
			for key, v := range tc.configHas {
				if got := at(f.Config, strings.Split(key, ".")...); got != v {
					t.Errorf("qegate.yaml %s = %#v, want %#v", key, got, v)
				}
			}
		})
	}
}

// TestChartRejectsBadValues: values the chart must refuse, through
// values.schema.json or a template's fail/required, with a clear message.
func TestChartRejectsBadValues(t *testing.T) {
	h := helmCLI(t)
	for _, tc := range []struct {
		name string
		set  []string
		want string
	}{
		{"misspelt value", []string{"replicas=3"}, "additional properties 'replicas' not allowed"},
		{"unknown config section", []string{"config.kafak.brokers={a:9092}"}, "additional properties 'kafak' not allowed"},
		{"SASL without password", []string{"kafka.sasl.enabled=true", "kafka.sasl.username=u"}, "kafka.sasl.password is required"},
		{"SASL mechanism", []string{"kafka.sasl.enabled=true", "kafka.sasl.mechanism=GSSAPI"}, "mechanism"},
		{"chart-owned metrics.listen", []string{"config.metrics.listen=:1"}, "config.metrics.listen is set by the chart"},
		{"chart-owned TLS", []string{"config.kafka.tls.enable=true"}, "config.kafka.tls is set by the chart"},
		{"KEDA min above max", []string{"keda.enabled=true", "keda.minReplicaCount=5", "keda.maxReplicaCount=2"}, "minReplicaCount must not exceed"},
		{"KEDA lag threshold zero", []string{"keda.enabled=true", "keda.lagThreshold=0"}, "lagThreshold"},
		{"filter without files", []string{"filter.enabled=true"}, "filter.files"},
		{"start offset", []string{"config.kafka.start_offset=newest"}, "start_offset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := HelmRun{Helm: h, Chart: chartDir(t), Set: tc.set}.Template(context.Background(), t.TempDir())
			wantErr(t, err, tc.want)
		})
	}
}

// TestRenderedRejects mutates a real rendering one way at a time; the
// strict decoding, KEDA's schema or the cross-object checks must catch it.
func TestRenderedRejects(t *testing.T) {
	k, cfg, img := keda(t), configSchema(t), imageFacts(t)
	_, full := render(t, []string{"ci/full-values.yaml"}, nil)
	for _, tc := range []struct {
		name, old, new string
		want           []string
	}{
		{"unknown Deployment field", "  revisionHistoryLimit: 5", "  revisionHistory: 5", []string{`unknown field "revisionHistory"`}},
		{"duplicate key", "      automountServiceAccountToken: false\n", "      automountServiceAccountToken: false\n      automountServiceAccountToken: true\n", []string{"already set"}},
		{"bad name", "name: qegate-kafka-sasl\n", "name: Qegate_Kafka\n", []string{"metadata.name"}},
		{"readiness path", "path: /readyz", "path: /ready", []string{"readiness probe GET /ready"}},
		{"probe port", "              port: metrics\n            periodSeconds: 10", "              port: 8080\n            periodSeconds: 10", []string{"liveness probe"}},
		{"root filesystem writable", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", []string{"read-only"}},
		{"runs as root", "        runAsUser: 10001\n", "        runAsUser: 0\n", []string{"runAsNonRoot"}},
		{"subPath config", "              mountPath: /etc/qegate\n", "              mountPath: /etc/qegate/qegate.yaml\n              subPath: qegate.yaml\n", []string{"subPath"}},
		{"grace below drain", "terminationGracePeriodSeconds: 50", "terminationGracePeriodSeconds: 30", []string{"terminationGracePeriodSeconds must exceed pipeline.drain_timeout 30s"}},
		{"sessions off the CPU limit", "sessions: 4", "sessions: 8", []string{"model.sessions 8"}},
		{"config key qegate rejects", "      commit_interval: 2s", "      commit_every: 2s", []string{"unknown key kafka.commit_every"}},
		{"password file not mounted", "password_file: /var/run/secrets/qegate/kafka-sasl/password", "password_file: /etc/qegate/password", []string{"kafka.sasl.password_file /etc/qegate/password is not a mounted Secret key"}},
		{"Job not indexed", "completionMode: Indexed", "completionMode: NonIndexed", []string{"completionMode must be Indexed"}},
		{"shard count", `"$(JOB_COMPLETION_INDEX)/8"`, `"$(JOB_COMPLETION_INDEX)/4"`, []string{"--shard .../4 but completions 8"}},
		{"shared output dir", `"/data/out/shard-$(JOB_COMPLETION_INDEX)"`, `"/data/out"`, []string{"shared by every shard"}},
		{"lag threshold as a number", `lagThreshold: "13600"`, `lagThreshold: 13600`, []string{"CRD schema"}},
		{"unknown ScaledObject field", "  pollingInterval: 15", "  pollingIntervall: 15", []string{"CRD schema", "pollingIntervall"}},
		{"unknown trigger parameter", "consumerGroup:", "consumergroup:", []string{"consumergroup: not a parameter"}},
		{"wrong consumer group", `consumerGroup: "qegate-prod"`, `consumerGroup: "qegate"`, []string{`consumerGroup "qegate", qegate's group is "qegate-prod"`}},
		{"unknown auth parameter", "- parameter: ca\n", "- parameter: caCert\n", []string{`parameter "caCert"`}},
		{"KEDA without the CA", "    - parameter: ca\n      name: kafka-client-tls\n      key: ca.crt\n", "", []string{"private CA"}},
		{"Job pods in the gate selector", "        app.kubernetes.io/component: filter\n    spec:", "        app.kubernetes.io/component: gate\n    spec:", []string{"match the gate's selector"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(full), tc.old) {
				t.Fatalf("rendering no longer contains %q; update the test", tc.old)
			}
			r, err := DecodeManifests([]byte(strings.Replace(string(full), tc.old, tc.new, 1)))
			if err == nil {
				_, err = CheckRendered(r, cfg, k, img)
			}
			wantErr(t, err, tc.want...)
		})
	}
}

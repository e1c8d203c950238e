package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompose(t *testing.T) {
	r := repo(t)
	err := CheckCompose(context.Background(), ComposeSetup{
		Repo:               r,
		Compose:            filepath.Join(r, "deploy", "compose", "docker-compose.yaml"),
		MetricsPortDefault: imageFacts(t).MetricsPort,
	}, configSchema(t))
	if err != nil {
		t.Fatal(err)
	}
}

func TestRequiredTopics(t *testing.T) {
	got, err := RequiredTopics(repo(t), configSchema(t), map[string]any{"routes": map[string]any{"review": "review.{lp}"}})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(got, " ")
	// models/default has en-de, en-zh and five x-en pairs.
	for _, want := range []string{"mt.incoming", "publish.de", "publish.en", "postedit.zh", "review.en-de", "review.si-en", "qegate.deadletter"} {
		if !strings.Contains(" "+joined+" ", " "+want+" ") {
			t.Errorf("required topics %v lack %s", got, want)
		}
	}
}

// fakeRepo copies deploy/compose into a temporary repository whose other
// pieces (Dockerfile, configs, models, go.mod) link to the real ones, so a
// mutated compose set-up is checked exactly like the real one.
func fakeRepo(t *testing.T) string {
	t.Helper()
	r := repo(t)
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "deploy", "compose"), os.DirFS(filepath.Join(r, "deploy", "compose"))); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"go.mod", "configs", "models", "deploy/Dockerfile"} {
		if err := os.Symlink(filepath.Join(r, p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestComposeRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string // under deploy/compose
		old  string
		new  string
		want []string
	}{
		{name: "schema: unknown service key", file: "docker-compose.yaml", old: "    stop_grace_period: 40s", new: "    stop_grace: 40s", want: []string{"stop_grace"}},
		{name: "schema: bad restart type", file: "docker-compose.yaml", old: "    restart: on-failure", new: "    restart: [on-failure]", want: []string{"restart"}},
		{name: "unescaped shell variable", file: "docker-compose.yaml", old: "for t in $$TOPICS", new: "for t in $TOPICS", want: []string{"variable $TOPICS is not set"}},
		{name: "zookeeper", file: "docker-compose.yaml", old: "  kafka:\n    image: apache/kafka:3.9.2\n", new: "  zookeeper:\n    image: zookeeper:3.9\n  kafka:\n    image: apache/kafka:3.9.2\n", want: []string{"ZooKeeper"}},
		{name: "broker only", file: "docker-compose.yaml", old: "KAFKA_PROCESS_ROLES: broker,controller", new: "KAFKA_PROCESS_ROLES: broker", want: []string{"KAFKA_PROCESS_ROLES"}},
		{name: "bad cluster id", file: "docker-compose.yaml", old: "CLUSTER_ID: ", new: "CLUSTER_ID: x", want: []string{"CLUSTER_ID"}},
		{name: "missing output topic", file: "docker-compose.yaml", old: " postedit.zh ", new: " ", want: []string{"topic postedit.zh is not created"}},
		{name: "no depends_on kafka-init", file: "docker-compose.yaml", old: "      kafka-init:\n        condition: service_completed_successfully\n", new: "", want: []string{"depends_on kafka-init"}},
		{name: "unknown env override", file: "docker-compose.yaml", old: "QEGATE_LOG_FORMAT: json", new: "QEGATE_LOG_FMT: json", want: []string{"QEGATE_LOG_FMT overrides no config key"}},
		{name: "metrics port moved", file: "docker-compose.yaml", old: `QEGATE_METRICS_LISTEN: ":9464"`, new: `QEGATE_METRICS_LISTEN: ":9500"`, want: []string{"no scrape job reaches qegate:9500", "metrics port 9500 not in expose"}},
		{name: "short grace period", file: "docker-compose.yaml", old: "stop_grace_period: 40s", new: "stop_grace_period: 10s", want: []string{"stop_grace_period must exceed"}},
		{name: "wrong build context", file: "docker-compose.yaml", old: "context: ../..", new: "context: ..", want: []string{"build context"}},
		{name: "prometheus unknown key", file: "prometheus.yml", old: "metrics_path: /metrics", new: "metric_path: /metrics", want: []string{"metric_path"}},
		{name: "prometheus wrong port", file: "prometheus.yml", old: "port: 9464", new: "port: 9465", want: []string{"no scrape job reaches qegate:9464"}},
		{name: "datasource url", file: "grafana/provisioning/datasources/prometheus.yaml", old: "http://prometheus:9090", new: "http://localhost:9090", want: []string{"no prometheus datasource"}},
		{name: "provider path", file: "grafana/provisioning/dashboards/qegate.yaml", old: "path: /var/lib/grafana/dashboards", new: "path: /dashboards", want: []string{"not a mounted directory"}},
		{name: "dashboard datasource uid", file: "grafana/dashboards/qegate.json", old: `"value": "prometheus"`, new: `"value": "prom"`, want: []string{"not a provisioned datasource uid"}},
		{name: "dashboard unknown metric", file: "grafana/dashboards/qegate.json", old: "qegate_consumer_lag", new: "kafka_consumergroup_lag", want: []string{"unknown metric kafka_consumergroup_lag"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeRepo(t)
			p := filepath.Join(dir, "deploy", "compose", filepath.FromSlash(tc.file))
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tc.old) {
				t.Fatalf("%s no longer contains %q; update the test", tc.file, tc.old)
			}
			if err := os.WriteFile(p, []byte(strings.Replace(string(data), tc.old, tc.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			err = CheckCompose(context.Background(), ComposeSetup{Repo: dir, Compose: filepath.Join(dir, "deploy", "compose", "docker-compose.yaml"), MetricsPortDefault: 9464}, configSchema(t))
			wantErr(t, err, tc.want...)
		})
	}
}

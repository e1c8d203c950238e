package app

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/scorer"
	"github.com/qegate/qegate/source"
)

// TestDashboardsUseRealMetrics holds the Grafana dashboards and the deploy
// docs to the metrics the gate really registers: a renamed metric breaks
// this test, not a dashboard in production.
func TestDashboardsUseRealMetrics(t *testing.T) {
	rec := &descRecorder{names: map[string]bool{}}
	m := pipeline.NewMetrics(rec)
	rec.MustRegister(source.NewKafka(source.KafkaConfig{}, nil, m, nil).Collector())
	rec.MustRegister(scorer.ReloadingCollectors()...)
	have := rec.names
	name := regexp.MustCompile(`qegate_[a-z0-9_]+`)
	root := filepath.Join("..", "..")
	for _, p := range []string{"deploy/compose/grafana/dashboards/qegate.json", "deploy/helm/qegate/dashboards/qegate.json", "deploy/README.md", "README.md"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range name.FindAllString(string(b), -1) {
			base := n
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if s := strings.TrimSuffix(n, suf); s != n && have[s] {
					base = s
				}
			}
			if !have[base] && !strings.HasPrefix(n, "qegate_train") {
				t.Errorf("%s uses %s, which the gate does not export", p, n)
			}
		}
	}
}

// descRecorder is a prometheus.Registerer that keeps the names of every
// metric a collector describes, vector metrics without series included.
type descRecorder struct{ names map[string]bool }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *descRecorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return nil
}

func (r *descRecorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r *descRecorder) Unregister(prometheus.Collector) bool { return false }

package app

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/source"
)

// TestDashboardsUseRealMetrics holds the Grafana dashboards and the deploy
// docs to the metrics the gate really registers: a renamed metric breaks
// this test, not a dashboard in production.
func TestDashboardsUseRealMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := pipeline.NewMetrics(reg)
	reg.MustRegister(source.NewKafka(source.KafkaConfig{}, nil, m, nil).Collector())
	model := &Model{}
	model.info, model.reloads = newModelMetrics()
	reg.MustRegister(model.Collectors()...)
	// Vector metrics appear in Gather only once they have a series.
	m.Messages.WithLabelValues("accepted", "en-de")
	m.DeadLetters.WithLabelValues("x")
	m.Scores.WithLabelValues("en-de", "accepted")
	m.Lag.WithLabelValues("in", "0")
	m.Committed.WithLabelValues("in", "0")
	model.info.WithLabelValues("m", "1", "da51")
	model.reloads.WithLabelValues("ok")
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range fams {
		have[f.GetName()] = true
	}
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

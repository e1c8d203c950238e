package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func dashboardFile(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo(t), "deploy", "compose", "grafana", "dashboards", "qegate.json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDashboard(t *testing.T) {
	qs, err := CheckDashboard(dashboardFile(t))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, q := range qs {
		for _, m := range q.Metrics {
			used[m] = true
		}
	}
	// Every metric the gate exports is on the dashboard somewhere.
	for _, m := range Metrics {
		if !used[m.Name] {
			t.Errorf("metric %s is on no panel", m.Name)
		}
	}
	t.Logf("%d queries over %d metrics", len(qs), len(used))
}

// TestDashboardRejects mutates the real dashboard one way at a time; each
// mutation must be caught.
func TestDashboardRejects(t *testing.T) {
	orig := string(dashboardFile(t))
	for _, tc := range []struct {
		name, old, new string
		want           []string
	}{
		{"not JSON", `"uid": "qegate"`, `"uid": qegate`, []string{"invalid character"}},
		{"unknown metric", `sum by (reason) (rate(qegate_dead_letters_total[`, `sum by (reason) (rate(qegate_deadletters_total[`, []string{"unknown metric qegate_deadletters_total"}},
		{"label the metric lacks", `qegate_dead_letters_total[$__rate_interval]`, `qegate_dead_letters_total{lang_pair=~\"$lang_pair\"}[$__rate_interval]`, []string{"qegate_dead_letters_total has no label lang_pair"}},
		{"group by a label no metric has", `sum by (topic) (qegate_consumer_lag)`, `sum by (lang_pair) (qegate_consumer_lag)`, []string{"groups by lang_pair"}},
		{"PromQL syntax error", `sum by (route) (rate(`, `sum by (route) (rate((`, []string{"parse"}},
		{"rate without range", `rate(qegate_fetched_total[$__rate_interval])`, `rate(qegate_fetched_total)`, []string{"rate needs a range selector"}},
		{"MetricsQL-only function", `sum(rate(qegate_fetched_total[`, `median(rate(qegate_fetched_total[`, []string{"median is not a PromQL"}},
		{"undefined variable", `lang_pair=~\"$lang_pair\"`, `lang_pair=~\"$pair\"`, []string{"undefined variable $pair"}},
		{"histogram_quantile without le", `sum by (le) (rate(qegate_end_to_end_seconds_bucket`, `sum by (instance) (rate(qegate_end_to_end_seconds_bucket`, []string{"drops le"}},
		{"duplicate panel id", `"id": 3,`, `"id": 2,`, []string{"id 2 already used"}},
		{"panel beyond 24 columns", `"w": 12,`, `"w": 30,`, []string{"outside the 24 columns"}},
		{"no dead letters by reason", `sum by (reason)`, `sum`, []string{"no panel for dead letters by reason"}},
		{"no lag panel", `qegate_consumer_lag`, `qegate_committed_offset`, []string{"no panel for consumer lag"}},
		{"variable on an unknown label", `label_values(qegate_messages_total, lang_pair)`, `label_values(qegate_messages_total, pair)`, []string{"has no label pair"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(orig, tc.old) {
				t.Fatalf("dashboard no longer contains %q; update the test", tc.old)
			}
			_, err := CheckDashboard([]byte(strings.Replace(orig, tc.old, tc.new, -1)))
			wantErr(t, err, tc.want...)
		})
	}
}

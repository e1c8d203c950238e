package validate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/VictoriaMetrics/metricsql"
)

// Metric is one series family qegate exports, with its labels.
type Metric struct {
	Name      string
	Histogram bool // also _bucket (with le), _sum and _count
	Labels    []string
}

// Metrics are the qegate_* metrics the gate exports (issue 15's list); the
// dashboard and deploy/README.md may use these and nothing else.
var Metrics = []Metric{
	{Name: "qegate_messages_total", Labels: []string{"route", "lang_pair"}},
	{Name: "qegate_dead_letters_total", Labels: []string{"reason"}},
	{Name: "qegate_rule_rejections_total", Labels: []string{"rule"}},
	{Name: "qegate_critical_total", Labels: []string{"lang_pair"}},
	{Name: "qegate_score", Histogram: true, Labels: []string{"lang_pair", "route"}},
	{Name: "qegate_segments_per_message", Histogram: true},
	{Name: "qegate_truncated_total"},
	{Name: "qegate_end_to_end_seconds", Histogram: true},
	{Name: "qegate_consumer_lag", Labels: []string{"topic", "partition"}},
	{Name: "qegate_model_info", Labels: []string{"name", "version", "output"}},
	{Name: "qegate_score_seconds", Histogram: true},
	{Name: "qegate_sink_write_seconds", Histogram: true},
	{Name: "qegate_batch_size", Histogram: true},
	{Name: "qegate_assigned_partitions"},
	{Name: "qegate_committed_offset", Labels: []string{"topic", "partition"}},
	{Name: "qegate_sink_errors_total"},
	{Name: "qegate_fetched_total"},
	{Name: "qegate_abandoned_total"},
	{Name: "qegate_offset_resets_total"},
}

// TargetLabels are the labels Prometheus adds to every scraped series
// (job, instance) and those Kubernetes service discovery commonly relabels in.
var TargetLabels = []string{"job", "instance", "pod", "namespace"}

// promqlFuncs is the PromQL subset the dashboard may call. The parser is
// MetricsQL's (a PromQL superset with a small dependency set; Prometheus's
// own module pulls in hundreds of MB), so functions are restricted to
// PromQL's to keep the dashboard portable.
var promqlFuncs = map[string]bool{
	"rate": true, "irate": true, "increase": true, "delta": true, "deriv": true, "histogram_quantile": true,
	"sum": true, "avg": true, "min": true, "max": true, "count": true, "topk": true, "bottomk": true,
	"quantile": true, "sort": true, "sort_desc": true, "clamp_min": true, "clamp_max": true, "abs": true,
	"max_over_time": true, "min_over_time": true, "avg_over_time": true, "time": true, "vector": true,
	"label_replace": true, "absent": true, "scalar": true,
}

// rollupFuncs need an explicit range in PromQL (MetricsQL would accept
// rate(x) without one).
var rollupFuncs = map[string]bool{
	"rate": true, "irate": true, "increase": true, "delta": true, "deriv": true,
	"max_over_time": true, "min_over_time": true, "avg_over_time": true,
}

// RequiredPanel is a panel the dashboard must have: one whose queries use
// Metric and split by By (an aggregation "by" label, or, for a repeated
// panel, the variable it repeats over).
type RequiredPanel struct {
	What   string
	Metric string
	By     string
}

// RequiredPanels are issue 15's: throughput per route, score distribution
// per pair, lag, dead letters by reason.
var RequiredPanels = []RequiredPanel{
	{What: "throughput per route", Metric: "qegate_messages_total", By: "route"},
	{What: "score distribution per language pair", Metric: "qegate_score", By: "lang_pair"},
	{What: "consumer lag", Metric: "qegate_consumer_lag", By: "topic"},
	{What: "dead letters by reason", Metric: "qegate_dead_letters_total", By: "reason"},
}

type dashPanel struct {
	ID         *int            `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Repeat     string          `json:"repeat"`
	GridPos    *gridPos        `json:"gridPos"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"`
}

type gridPos struct{ H, W, X, Y int }

type dashboard struct {
	UID        string      `json:"uid"`
	Title      string      `json:"title"`
	Panels     []dashPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// DashboardQuery is one panel query after the checks, for reports.
type DashboardQuery struct {
	Panel   string
	Expr    string
	Metrics []string
}

// CheckDashboard validates a Grafana dashboard JSON: it parses, panel ids
// are unique (rows' nested panels included), grid positions fit the 24
// columns, every query parses as PromQL and uses only qegate metrics (with
// _bucket/_sum/_count stripped) and their labels, every variable it uses is
// defined, histogram_quantile aggregates keep le, and the RequiredPanels
// exist. It returns the queries it checked.
func CheckDashboard(data []byte) ([]DashboardQuery, error) {
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var problems errs
	if d.UID == "" || d.Title == "" {
		problems.addf("dashboard: uid and title must be set")
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	var queries []DashboardQuery
	// Template variable queries: label_values(metric, label) must name a
	// qegate metric and one of its labels.
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil || q.Query == "" {
			var s string
			if json.Unmarshal(v.Query, &s) != nil || s == "" {
				problems.addf("dashboard: variable %s: no query", v.Name)
				continue
			}
			q.Query = s
		}
		m := regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`).FindStringSubmatch(q.Query)
		if m == nil {
			problems.addf("dashboard: variable %s: want label_values(metric, label), got %q", v.Name, q.Query)
			continue
		}
		if met, ok := lookupMetric(m[1]); !ok {
			problems.addf("dashboard: variable %s: unknown metric %s", v.Name, m[1])
		} else if !slices.Contains(met.Labels, m[2]) {
			problems.addf("dashboard: variable %s: %s has no label %s", v.Name, m[1], m[2])
		}
	}
	ids := map[int]string{}
	found := make([]bool, len(RequiredPanels))
	var visit func(p dashPanel)
	visit = func(p dashPanel) {
		name := fmt.Sprintf("panel %q", p.Title)
		if p.ID == nil {
			problems.addf("dashboard: %s: no id", name)
		} else if prev, dup := ids[*p.ID]; dup {
			problems.addf("dashboard: %s: id %d already used by %s", name, *p.ID, prev)
		} else {
			ids[*p.ID] = name
		}
		if g := p.GridPos; g == nil || g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			problems.addf("dashboard: %s: gridPos missing or outside the 24 columns", name)
		}
		if p.Repeat != "" && !vars[p.Repeat] {
			problems.addf("dashboard: %s: repeats over undefined variable %s", name, p.Repeat)
		}
		if p.Type != "row" && p.Type != "text" && len(p.Targets) == 0 {
			problems.addf("dashboard: %s: no queries", name)
		}
		for _, t := range p.Targets {
			q, by, err := checkQuery(t.Expr, vars)
			if err != nil {
				problems.addf("dashboard: %s, query %s: %w", name, t.RefID, err)
				continue
			}
			q.Panel = p.Title
			queries = append(queries, q)
			if p.Repeat != "" {
				by = append(by, p.Repeat)
			}
			for i, rp := range RequiredPanels {
				if slices.Contains(q.Metrics, rp.Metric) && slices.Contains(by, rp.By) {
					found[i] = true
				}
			}
		}
		for _, c := range p.Panels {
			visit(c)
		}
	}
	for _, p := range d.Panels {
		visit(p)
	}
	for i, ok := range found {
		if !ok {
			problems.addf("dashboard: no panel for %s (%s by %s)", RequiredPanels[i].What, RequiredPanels[i].Metric, RequiredPanels[i].By)
		}
	}
	if err := problems.join(); err != nil {
		return nil, err
	}
	return queries, nil
}

func lookupMetric(name string) (Metric, bool) {
	for _, m := range Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// MetricFamily strips a histogram's _bucket/_sum/_count suffix.
func MetricFamily(series string) (Metric, string, bool) {
	if m, ok := lookupMetric(series); ok {
		return m, "", true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(series, suf); ok {
			if m, ok := lookupMetric(base); ok && m.Histogram {
				return m, suf, true
			}
		}
	}
	return Metric{}, "", false
}

var grafanaVar = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z0-9_]+)\]\]`)

// checkQuery substitutes Grafana variables, parses the PromQL and checks
// metric names, labels and functions. It returns the metric families used
// and every "by" label of its aggregations.
func checkQuery(expr string, vars map[string]bool) (DashboardQuery, []string, error) {
	q := DashboardQuery{Expr: expr}
	var problems errs
	sub := grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		g := grafanaVar.FindStringSubmatch(m)
		name := g[1] + g[2] + g[3]
		switch name {
		case "__rate_interval", "__interval", "__range":
			return "5m"
		case "__range_s", "__interval_ms":
			return "300"
		}
		if !vars[name] {
			problems.addf("undefined variable $%s", name)
		}
		return "x"
	})
	e, err := metricsql.Parse(sub)
	if err != nil {
		return q, nil, fmt.Errorf("parse %q: %w", expr, err)
	}
	var by []string
	var metrics []Metric
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		switch t := x.(type) {
		case *metricsql.MetricExpr:
			for _, lfs := range t.LabelFilterss {
				var m Metric
				var suf string
				for _, lf := range lfs {
					if lf.Label == "__name__" {
						var ok bool
						if m, suf, ok = MetricFamily(lf.Value); !ok {
							problems.addf("unknown metric %s", lf.Value)
							return
						}
						metrics = append(metrics, m)
						if !slices.Contains(q.Metrics, m.Name) {
							q.Metrics = append(q.Metrics, m.Name)
						}
						continue
					}
					if !slices.Contains(m.Labels, lf.Label) && !slices.Contains(TargetLabels, lf.Label) && !(suf == "_bucket" && lf.Label == "le") {
						problems.addf("%s has no label %s", m.Name, lf.Label)
					}
				}
				if m.Name == "" {
					problems.addf("a selector without a metric name")
				}
			}
		case *metricsql.FuncExpr:
			if !promqlFuncs[t.Name] {
				problems.addf("%s is not a PromQL function this dashboard may use", t.Name)
			}
			if rollupFuncs[t.Name] {
				if len(t.Args) == 0 {
					problems.addf("%s() without argument", t.Name)
				} else if r, ok := t.Args[0].(*metricsql.RollupExpr); !ok || r.Window == nil {
					problems.addf("%s needs a range selector [..]", t.Name)
				}
			}
			if t.Name == "histogram_quantile" && len(t.Args) == 2 {
				if a, ok := t.Args[1].(*metricsql.AggrFuncExpr); ok && a.Modifier.Op == "by" && !slices.Contains(a.Modifier.Args, "le") {
					problems.addf("histogram_quantile over an aggregation that drops le")
				}
			}
		case *metricsql.AggrFuncExpr:
			if !promqlFuncs[t.Name] {
				problems.addf("%s is not a PromQL aggregation this dashboard may use", t.Name)
			}
			if t.Modifier.Op == "by" {
				by = append(by, t.Modifier.Args...)
			}
		}
	})
	// Grouping labels must exist on some metric of the query.
	for _, l := range by {
		ok := l == "le" || slices.Contains(TargetLabels, l)
		for _, m := range metrics {
			ok = ok || slices.Contains(m.Labels, l)
		}
		if !ok {
			problems.addf("groups by %s, which none of its metrics has", l)
		}
	}
	sort.Strings(q.Metrics)
	return q, by, problems.join()
}

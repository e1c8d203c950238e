package validate

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

// LoadCompose loads a compose file with compose-go, the Compose
// reference implementation's loader, with compose-spec schema validation,
// interpolation and consistency checks on. Variables come only from env
// (never from the caller's shell), so the answer does not depend on the
// machine.
func LoadCompose(ctx context.Context, path string, env map[string]string) (*types.Project, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: data}},
		Environment: types.Mapping(env),
	}
	p, err := loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName("qegate", true)
		o.SkipValidation = false
		o.SkipConsistencyCheck = false
		o.ResolvePaths = true
		// Compose only warns about an unset variable and substitutes "";
		// here it is an error: it is nearly always a shell variable in a
		// command that needed $$.
		o.Interpolate.Substitute = func(tmpl string, mapping template.Mapping) (string, error) {
			return template.SubstituteWithOptions(tmpl, mapping, template.WithoutLogging,
				template.WithReplacementFunction(func(s string, m template.Mapping, c *template.Config) (string, error) {
					v, applied, err := template.DefaultReplacementAppliedFunc(s, m, c)
					if err == nil && !applied {
						return "", fmt.Errorf("variable %s is not set and has no default (write $$ for a shell variable)", s)
					}
					return v, err
				}))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("compose: %s: %w", path, err)
	}
	return p, nil
}

// ComposeSetup names the files CheckCompose reads.
type ComposeSetup struct {
	Repo    string // repository root (build context, configs/, models/)
	Compose string // deploy/compose/docker-compose.yaml
	// MetricsPortDefault is the metrics port the image listens on when the
	// service does not set QEGATE_METRICS_LISTEN (the Dockerfile's ENV).
	MetricsPortDefault int
}

// CheckCompose loads the compose file and checks what the schema cannot:
// Kafka runs in KRaft mode (no ZooKeeper), every topic qegate needs is
// created before it starts, qegate depends on Kafka, its QEGATE_* variables
// are real config keys, Prometheus scrapes its metrics port, and Grafana's
// provisioning (datasource, dashboard provider, dashboard) fits together.
func CheckCompose(ctx context.Context, s ComposeSetup, cfg *ConfigSchema) error {
	p, err := LoadCompose(ctx, s.Compose, map[string]string{})
	if err != nil {
		return err
	}
	var problems errs
	svc := func(name string) (types.ServiceConfig, bool) {
		c, ok := p.Services[name]
		if !ok {
			problems.addf("compose: no %s service", name)
		}
		return c, ok
	}
	env := func(c types.ServiceConfig, key string) string {
		if v, ok := c.Environment[key]; ok && v != nil {
			return *v
		}
		return ""
	}

	// Kafka: KRaft only.
	for name, c := range p.Services {
		if strings.Contains(strings.ToLower(name+" "+c.Image), "zookeeper") {
			problems.addf("compose: service %s: ZooKeeper; Kafka must run in KRaft mode", name)
		}
		if env(c, "KAFKA_ZOOKEEPER_CONNECT") != "" {
			problems.addf("compose: service %s: KAFKA_ZOOKEEPER_CONNECT set; Kafka must run in KRaft mode", name)
		}
	}
	kafka, _ := svc("kafka")
	roles := strings.Split(env(kafka, "KAFKA_PROCESS_ROLES"), ",")
	if !slices.Contains(roles, "broker") || !slices.Contains(roles, "controller") {
		problems.addf("compose: kafka: KAFKA_PROCESS_ROLES %q: want broker,controller (KRaft combined mode)", env(kafka, "KAFKA_PROCESS_ROLES"))
	}
	if env(kafka, "KAFKA_CONTROLLER_QUORUM_VOTERS") == "" || env(kafka, "KAFKA_CONTROLLER_LISTENER_NAMES") == "" {
		problems.addf("compose: kafka: KRaft needs KAFKA_CONTROLLER_QUORUM_VOTERS and KAFKA_CONTROLLER_LISTENER_NAMES")
	}
	if id := env(kafka, "CLUSTER_ID"); id != "" {
		if b, err := base64.RawURLEncoding.DecodeString(id); err != nil || len(b) != 16 {
			problems.addf("compose: kafka: CLUSTER_ID %q is not a base64 UUID (kafka-storage.sh random-uuid)", id)
		}
	}
	if kafka.HealthCheck == nil || len(kafka.HealthCheck.Test) == 0 {
		problems.addf("compose: kafka: no healthcheck; depends_on service_healthy needs one")
	}

	// qegate: config overrides, dependencies, build.
	q, ok := svc("qegate")
	settings := map[string]any{}
	if ok {
		for k, v := range q.Environment {
			if !strings.HasPrefix(k, "QEGATE_") {
				continue
			}
			key, known := cfg.EnvKey(k)
			if !known {
				problems.addf("compose: qegate: %s overrides no config key", k)
				continue
			}
			if v != nil {
				setPath(settings, key, *v)
			}
		}
		for _, dep := range []struct{ name, cond string }{{"kafka", "service_healthy"}, {"kafka-init", "service_completed_successfully"}} {
			if d, ok := q.DependsOn[dep.name]; !ok || d.Condition != dep.cond {
				problems.addf("compose: qegate: want depends_on %s with condition %s", dep.name, dep.cond)
			}
		}
		if q.Build == nil {
			problems.addf("compose: qegate: no build section")
		} else {
			if rel, err := filepath.Rel(s.Repo, q.Build.Context); err != nil || rel != "." {
				problems.addf("compose: qegate: build context %s is not the repository root %s", q.Build.Context, s.Repo)
			}
			if !isFile(filepath.Join(q.Build.Context, q.Build.Dockerfile)) {
				problems.addf("compose: qegate: dockerfile %s not found in %s", q.Build.Dockerfile, q.Build.Context)
			}
		}
		drain, _ := Duration(cfg.Setting(settings, "pipeline.drain_timeout"))
		if q.StopGracePeriod == nil || time.Duration(*q.StopGracePeriod) <= drain {
			problems.addf("compose: qegate: stop_grace_period must exceed pipeline.drain_timeout (%s), or a stop kills the drain", drain)
		}
	}

	// Topics: kafka-init creates every topic qegate checks at start-up.
	if init, ok := svc("kafka-init"); ok {
		want, err := RequiredTopics(s.Repo, cfg, settings)
		if err != nil {
			problems.addf("compose: %w", err)
		}
		have := strings.Fields(env(init, "TOPICS"))
		for _, t := range want {
			if !slices.Contains(have, t) {
				problems.addf("compose: kafka-init: topic %s is not created (qegate exits when it is missing)", t)
			}
		}
		for _, t := range have {
			if !slices.Contains(want, t) {
				problems.addf("compose: kafka-init: topic %s is created but qegate neither reads nor writes it", t)
			}
		}
		if d, ok := init.DependsOn["kafka"]; !ok || d.Condition != "service_healthy" {
			problems.addf("compose: kafka-init: want depends_on kafka with condition service_healthy")
		}
	}

	// Prometheus scrapes qegate's metrics port.
	port := s.MetricsPortDefault
	if l, ok := settings["metrics"].(map[string]any); ok {
		if a, ok := l["listen"].(string); ok {
			if port, err = ListenPort(a); err != nil {
				problems.addf("compose: qegate: QEGATE_METRICS_LISTEN: %w", err)
			}
		}
	}
	if ok && port > 0 && !slices.Contains(q.Expose, strconv.Itoa(port)) {
		problems.addf("compose: qegate: metrics port %d not in expose", port)
	}
	promPort := 9090
	if prom, ok := svc("prometheus"); ok {
		cfgFile := ""
		for _, v := range prom.Volumes {
			if v.Target == "/etc/prometheus/prometheus.yml" {
				cfgFile = v.Source
			}
		}
		if cfgFile == "" {
			problems.addf("compose: prometheus: no volume mounted at /etc/prometheus/prometheus.yml")
		} else if err := CheckPrometheus(cfgFile, "qegate", port); err != nil {
			problems.addf("compose: %w", err)
		}
		for _, a := range prom.Command {
			if v, ok := strings.CutPrefix(a, "--web.listen-address="); ok {
				if promPort, err = ListenPort(v); err != nil {
					problems.addf("compose: prometheus: %w", err)
				}
			}
		}
	}

	// Grafana: provisioning mounted, datasource points at Prometheus,
	// dashboard provider path is where the dashboards are mounted.
	if g, ok := svc("grafana"); ok {
		mounts := map[string]string{}
		for _, v := range g.Volumes {
			mounts[v.Target] = v.Source
		}
		prov, ok := mounts["/etc/grafana/provisioning"]
		if !ok {
			problems.addf("compose: grafana: provisioning not mounted at /etc/grafana/provisioning")
		} else if err := CheckGrafanaProvisioning(prov, mounts, fmt.Sprintf("http://prometheus:%d", promPort)); err != nil {
			problems.addf("compose: %w", err)
		}
		if home := env(g, "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"); home != "" {
			if src := hostPath(mounts, home); src == "" || !isFile(src) {
				problems.addf("compose: grafana: home dashboard %s is not in a mounted directory", home)
			}
		}
	}
	return problems.join()
}

// hostPath maps a container path to the host path of the bind mount that
// holds it; "" when none does.
func hostPath(mounts map[string]string, p string) string {
	for target, src := range mounts {
		if rel, err := filepath.Rel(target, p); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.Join(src, rel)
		}
	}
	return ""
}

func setPath(m map[string]any, key string, v any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		sub, ok := m[p].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	m[parts[len(parts)-1]] = v
}

// RequiredTopics returns every topic qegate checks at start-up for a config
// (settings over the reference defaults): the input topics, and each route
// template (publish, post_edit, critical and review when set, dead_letter)
// expanded over the language pairs of the default model's quality outputs
// (models/default/model.json; the critical output's pairs are not served
// pairs, as in internal/app.LangPairs).
func RequiredTopics(repo string, cfg *ConfigSchema, settings map[string]any) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(repo, "models", "default", "model.json"))
	if err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	var man struct {
		Outputs []struct {
			Kind       string             `json:"kind"`
			Thresholds map[string]float64 `json:"thresholds"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(data, &man); err != nil {
		return nil, fmt.Errorf("topics: model.json: %w", err)
	}
	pairs := map[string]bool{}
	for _, o := range man.Outputs {
		if o.Kind == "critical" {
			continue
		}
		for lp := range o.Thresholds {
			pairs[lp] = true
		}
	}
	set := map[string]bool{}
	for _, t := range Strings(cfg.Setting(settings, "kafka.topics")) {
		set[t] = true
	}
	for _, route := range []string{"routes.publish", "routes.post_edit", "routes.critical", "routes.review", "routes.dead_letter"} {
		tmpl, _ := cfg.Setting(settings, route).(string)
		if tmpl == "" {
			continue
		}
		for lp := range pairs {
			src, tgt, _ := strings.Cut(lp, "-")
			set[strings.NewReplacer("{src_lang}", src, "{tgt_lang}", tgt, "{lp}", lp).Replace(tmpl)] = true
		}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out, nil
}

// promConfig is the subset of Prometheus's configuration file the compose
// set-up uses, decoded strictly: a key outside it is an error here rather
// than a surprise. (Prometheus's own config package would pull every
// service-discovery SDK into this module.)
type promConfig struct {
	Global struct {
		ScrapeInterval     string `json:"scrape_interval"`
		EvaluationInterval string `json:"evaluation_interval"`
	} `json:"global"`
	ScrapeConfigs []struct {
		JobName        string `json:"job_name"`
		MetricsPath    string `json:"metrics_path"`
		ScrapeInterval string `json:"scrape_interval"`
		StaticConfigs  []struct {
			Targets []string          `json:"targets"`
			Labels  map[string]string `json:"labels"`
		} `json:"static_configs"`
		DNSSDConfigs []struct {
			Names           []string `json:"names"`
			Type            string   `json:"type"`
			Port            int      `json:"port"`
			RefreshInterval string   `json:"refresh_interval"`
		} `json:"dns_sd_configs"`
	} `json:"scrape_configs"`
}

var promDuration = regexp.MustCompile(`^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$`)

// CheckPrometheus parses a prometheus.yml and checks that a scrape job
// reaches service on port, at /metrics.
func CheckPrometheus(path, service string, port int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	var c promConfig
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return fmt.Errorf("prometheus: %s: %w", path, err)
	}
	var problems errs
	durs := []string{c.Global.ScrapeInterval, c.Global.EvaluationInterval}
	want := fmt.Sprintf("%s:%d", service, port)
	reached := false
	jobs := map[string]bool{}
	for _, sc := range c.ScrapeConfigs {
		if jobs[sc.JobName] || sc.JobName == "" {
			problems.addf("prometheus: job_name %q empty or repeated", sc.JobName)
		}
		jobs[sc.JobName] = true
		durs = append(durs, sc.ScrapeInterval)
		path := sc.MetricsPath
		if path == "" {
			path = "/metrics"
		}
		for _, st := range sc.StaticConfigs {
			if slices.Contains(st.Targets, want) && path == "/metrics" {
				reached = true
			}
		}
		for _, d := range sc.DNSSDConfigs {
			durs = append(durs, d.RefreshInterval)
			if d.Type != "" && d.Type != "A" && d.Type != "AAAA" && d.Type != "SRV" {
				problems.addf("prometheus: job %s: dns_sd type %q", sc.JobName, d.Type)
			}
			if slices.Contains(d.Names, service) && d.Port == port && path == "/metrics" {
				reached = true
			}
		}
	}
	for _, d := range durs {
		if d != "" && !promDuration.MatchString(d) {
			problems.addf("prometheus: bad duration %q", d)
		}
	}
	if !reached {
		problems.addf("prometheus: no scrape job reaches %s at /metrics", want)
	}
	return problems.join()
}

type grafanaDatasources struct {
	APIVersion  int `json:"apiVersion"`
	Datasources []struct {
		Name      string         `json:"name"`
		UID       string         `json:"uid"`
		Type      string         `json:"type"`
		Access    string         `json:"access"`
		URL       string         `json:"url"`
		IsDefault bool           `json:"isDefault"`
		Editable  bool           `json:"editable"`
		JSONData  map[string]any `json:"jsonData"`
	} `json:"datasources"`
}

type grafanaProviders struct {
	APIVersion int `json:"apiVersion"`
	Providers  []struct {
		Name                  string `json:"name"`
		OrgID                 int    `json:"orgId"`
		Folder                string `json:"folder"`
		Type                  string `json:"type"`
		DisableDeletion       bool   `json:"disableDeletion"`
		AllowUIUpdates        bool   `json:"allowUiUpdates"`
		UpdateIntervalSeconds int    `json:"updateIntervalSeconds"`
		Options               struct {
			Path                      string `json:"path"`
			FoldersFromFilesStructure bool   `json:"foldersFromFilesStructure"`
		} `json:"options"`
	} `json:"providers"`
}

// CheckGrafanaProvisioning parses every provisioning file under dir
// (datasources/*.yaml, dashboards/*.yaml), checks a Prometheus datasource
// points at promURL, and that every file provider's path is a mounted
// directory whose dashboards pass CheckDashboard and use that datasource.
// mounts maps container paths to host paths.
func CheckGrafanaProvisioning(dir string, mounts map[string]string, promURL string) error {
	var problems errs
	dsFiles, _ := filepath.Glob(filepath.Join(dir, "datasources", "*.yaml"))
	provFiles, _ := filepath.Glob(filepath.Join(dir, "dashboards", "*.yaml"))
	if len(dsFiles) == 0 || len(provFiles) == 0 {
		return fmt.Errorf("grafana: want datasources/*.yaml and dashboards/*.yaml under %s", dir)
	}
	uids := map[string]bool{}
	for _, f := range dsFiles {
		var ds grafanaDatasources
		if err := readStrict(f, &ds); err != nil {
			problems.addf("grafana: %w", err)
			continue
		}
		for _, d := range ds.Datasources {
			if d.Type == "prometheus" && d.URL == promURL && d.UID != "" {
				uids[d.UID] = true
			}
		}
	}
	if len(uids) == 0 {
		problems.addf("grafana: no prometheus datasource with a uid at %s", promURL)
	}
	dashboards := 0
	for _, f := range provFiles {
		var pv grafanaProviders
		if err := readStrict(f, &pv); err != nil {
			problems.addf("grafana: %w", err)
			continue
		}
		for _, p := range pv.Providers {
			if p.Type != "file" {
				continue
			}
			src := hostPath(mounts, p.Options.Path)
			if src == "" || !isDir(src) {
				problems.addf("grafana: provider %s: path %s is not a mounted directory", p.Name, p.Options.Path)
				continue
			}
			files, _ := filepath.Glob(filepath.Join(src, "*.json"))
			for _, j := range files {
				dashboards++
				data, err := os.ReadFile(j)
				if err != nil {
					problems.addf("grafana: %w", err)
					continue
				}
				if _, err := CheckDashboard(data); err != nil {
					problems.addf("grafana: %s: %w", filepath.Base(j), err)
				}
				if err := checkDashboardDatasource(data, uids); err != nil {
					problems.addf("grafana: %s: %w", filepath.Base(j), err)
				}
			}
		}
	}
	if dashboards == 0 {
		problems.addf("grafana: no dashboard JSON in any provider's path")
	}
	return problems.join()
}

// checkDashboardDatasource: the datasource variable's default must be a
// provisioned datasource, so the dashboard works without a click.
func checkDashboardDatasource(data []byte, uids map[string]bool) error {
	var d struct {
		Templating struct {
			List []struct {
				Name    string `json:"name"`
				Type    string `json:"type"`
				Current struct {
					Value string `json:"value"`
				} `json:"current"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	for _, v := range d.Templating.List {
		if v.Type == "datasource" {
			if !uids[v.Current.Value] {
				return fmt.Errorf("datasource variable %s defaults to %q, not a provisioned datasource uid", v.Name, v.Current.Value)
			}
			return nil
		}
	}
	return fmt.Errorf("no datasource variable")
}

func readStrict(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

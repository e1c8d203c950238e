package validate

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ChartFacts are what one rendering of the chart amounts to, for the
// test's per-case expectations.
type ChartFacts struct {
	Config      map[string]any // the ConfigMap's qegate.yaml
	Replicas    *int32         // nil when KEDA owns the count
	Sessions    int
	MetricsPort int
	JobShards   int  // 0 without the filter Job
	KEDA        bool // a ScaledObject was rendered
	Topic       string
	Secrets     []string // Secret names the chart made
	Dashboard   string   // the dashboard ConfigMap's qegate.json, if rendered
}

// CheckRendered checks one chart rendering as a whole: each object is
// already strictly decoded (DecodeManifests); here the objects must fit
// each other, the image and qegate:
//   - the ConfigMap's qegate.yaml passes the ConfigSchema, and the pods run
//     it from a directory mount (hot reload; subPath never updates);
//   - probes hit /healthz and /readyz on the metrics port, which matches
//     metrics.listen, QEGATE_METRICS_LISTEN and the Service;
//   - pods run as non-root with a read-only root, resources are set, and
//     model.sessions x intra_op_threads equals the CPU limit;
//   - the termination grace period exceeds pipeline.drain_timeout;
//   - files named in the config (SASL password, TLS) are mounted from a
//     Secret that is rendered or named by the values;
//   - Service and PDB select exactly the gate's pods, not the Job's;
//   - the Job is Indexed and passes --shard $(JOB_COMPLETION_INDEX)/N;
//   - the ScaledObject passes KEDA's CRD schema, targets the Deployment and
//     measures the consumer group and topics that qegate consumes.
func CheckRendered(r *Rendered, cfg *ConfigSchema, keda *KEDA, img *ImageFacts) (*ChartFacts, error) {
	var problems errs
	f := &ChartFacts{}
	// The config ConfigMap holds qegate.yaml; a dashboard ConfigMap
	// (grafanaDashboard.enabled) holds qegate.json.
	var cm *corev1.ConfigMap
	for _, m := range r.ConfigMaps {
		switch {
		case m.Data["qegate.yaml"] != "" && cm == nil:
			cm = m
		case m.Data["qegate.json"] != "":
			if _, err := CheckDashboard([]byte(m.Data["qegate.json"])); err != nil {
				problems.addf("chart: ConfigMap %s: %w", m.Name, err)
			}
			f.Dashboard = m.Data["qegate.json"]
		default:
			problems.addf("chart: ConfigMap %s holds neither qegate.yaml nor a dashboard", m.Name)
		}
	}
	if len(r.Deployments) != 1 || cm == nil || len(r.Services) != 1 {
		return nil, fmt.Errorf("chart: want one Deployment, config ConfigMap and Service, got %v", r.Kinds)
	}
	dep, svc := r.Deployments[0], r.Services[0]
	for _, s := range r.Secrets {
		f.Secrets = append(f.Secrets, s.Name)
	}

	// Config.
	doc := cm.Data["qegate.yaml"]
	conf, err := cfg.Check([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("chart: ConfigMap %s: %w", cm.Name, err)
	}
	f.Config = conf

	// Deployment.
	f.Replicas = dep.Spec.Replicas
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		return nil, fmt.Errorf("chart: Deployment: want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	checkSecurity(&problems, "Deployment", pod, c)
	checkResources(&problems, "Deployment", c)
	sel, err := labels.ValidatedSelectorFromSet(dep.Spec.Selector.MatchLabels)
	if err != nil || len(dep.Spec.Selector.MatchExpressions) > 0 {
		problems.addf("chart: Deployment: selector: %v", err)
	}
	if !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		problems.addf("chart: Deployment: selector %s does not match its pod labels", sel)
	}

	// Config file: mounted as a directory from this ConfigMap, and run.
	cfgPath := ""
	for i, a := range c.Args {
		if a == "--config" && i+1 < len(c.Args) {
			cfgPath = c.Args[i+1]
		}
	}
	if len(c.Args) == 0 || c.Args[0] != "run" || cfgPath == "" {
		problems.addf("chart: Deployment: args %q: want run --config <file>", c.Args)
	} else if img != nil && cfgPath != img.ConfigPath {
		problems.addf("chart: Deployment: --config %s, but the image keeps its config at %s", cfgPath, img.ConfigPath)
	}
	if vol, key, sub := mountedFile(pod, c, cfgPath); vol == nil || vol.ConfigMap == nil || vol.ConfigMap.Name != cm.Name || key != "qegate.yaml" {
		problems.addf("chart: Deployment: %s is not qegate.yaml of ConfigMap %s", cfgPath, cm.Name)
	} else if sub {
		problems.addf("chart: Deployment: %s mounted with subPath: ConfigMap updates never reach it (no hot reload)", cfgPath)
	}

	// Metrics port: config, env, container port, probes, Service.
	listen, _ := cfg.Setting(conf, "metrics.listen").(string)
	port, err := ListenPort(listen)
	if err != nil {
		problems.addf("chart: qegate.yaml metrics.listen: %w", err)
	}
	f.MetricsPort = port
	for _, e := range c.Env {
		if e.Name == "QEGATE_METRICS_LISTEN" && e.Value != listen {
			problems.addf("chart: Deployment: QEGATE_METRICS_LISTEN %q overrides metrics.listen %q", e.Value, listen)
		}
		if strings.HasPrefix(e.Name, "QEGATE_") {
			if _, ok := cfg.EnvKey(e.Name); !ok {
				problems.addf("chart: Deployment: env %s overrides no config key", e.Name)
			}
		}
	}
	if img != nil && img.MetricsPort != port && !hasEnv(c, "QEGATE_METRICS_LISTEN") {
		problems.addf("chart: Deployment: the image's QEGATE_METRICS_LISTEN (port %d) would override metrics.listen (port %d)", img.MetricsPort, port)
	}
	var metricsPort *corev1.ContainerPort
	for i := range c.Ports {
		if c.Ports[i].ContainerPort == int32(port) {
			metricsPort = &c.Ports[i]
		}
	}
	if metricsPort == nil || metricsPort.Name == "" {
		problems.addf("chart: Deployment: no named container port %d (metrics.listen)", port)
	} else {
		for _, p := range []struct {
			what  string
			probe *corev1.Probe
			path  string
		}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}, {"startup", c.StartupProbe, "/healthz"}} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				problems.addf("chart: Deployment: no %s httpGet probe", p.what)
				continue
			}
			g := p.probe.HTTPGet
			if g.Path != p.path || !portIs(g.Port, metricsPort) {
				problems.addf("chart: Deployment: %s probe GET %s on %s, want %s on the metrics port %d", p.what, g.Path, g.Port.String(), p.path, port)
			}
		}
		if len(svc.Spec.Ports) != 1 || !portIs(svc.Spec.Ports[0].TargetPort, metricsPort) {
			problems.addf("chart: Service: want one port targeting the metrics port %d", port)
		}
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)) || !mapsEqual(svc.Spec.Selector, dep.Spec.Selector.MatchLabels) {
		problems.addf("chart: Service: selector %v is not the Deployment's %v", svc.Spec.Selector, dep.Spec.Selector.MatchLabels)
	}

	// Sizing and shutdown.
	sessions, _ := cfg.Setting(conf, "model.sessions").(float64)
	threads, _ := cfg.Setting(conf, "model.intra_op_threads").(float64)
	f.Sessions = int(sessions)
	if lim, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		cores := int(math.Max(1, math.Floor(lim.AsApproximateFloat64())))
		if int(sessions)*int(math.Max(threads, 1)) != cores {
			problems.addf("chart: model.sessions %v x intra_op_threads %v != the CPU limit's %d cores (ONNX Runtime would size to the node)", sessions, threads, cores)
		}
	}
	drain, err := Duration(cfg.Setting(conf, "pipeline.drain_timeout"))
	if err != nil {
		problems.addf("chart: pipeline.drain_timeout: %w", err)
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || float64(*g) <= drain.Seconds() {
		problems.addf("chart: Deployment: terminationGracePeriodSeconds must exceed pipeline.drain_timeout %s", drain)
	}

	// Files the config names must be mounted from a Secret we know.
	secretNames := map[string]bool{}
	for _, s := range r.Secrets {
		secretNames[s.Name] = true
	}
	for _, key := range []string{"kafka.sasl.password_file", "kafka.tls.ca_file", "kafka.tls.cert_file", "kafka.tls.key_file"} {
		p, _ := cfg.Setting(conf, key).(string)
		if p == "" {
			continue
		}
		vol, item, _ := mountedFile(pod, c, p)
		if vol == nil || vol.Secret == nil || item == "" {
			problems.addf("chart: %s %s is not a mounted Secret key", key, p)
		}
	}
	if at(conf, "kafka", "sasl") != nil {
		if !hasEnv(c, "QEGATE_KAFKA_SASL_USERNAME") && at(conf, "kafka", "sasl", "username") == nil {
			problems.addf("chart: SASL on, but no username (config or QEGATE_KAFKA_SASL_USERNAME)")
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && len(r.Secrets) > 0 && !secretNames[e.ValueFrom.SecretKeyRef.Name] {
			// A Secret outside the chart (existingSecret) is fine; one the
			// chart makes must be rendered.
			if strings.HasPrefix(e.ValueFrom.SecretKeyRef.Name, dep.Name) {
				problems.addf("chart: env %s refers to Secret %s, which is not rendered", e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
	for _, s := range r.Secrets {
		for _, k := range []string{"username", "password"} {
			if len(s.Data[k]) == 0 {
				problems.addf("chart: Secret %s: no %s", s.Name, k)
			}
		}
	}

	// PDB.
	for _, p := range r.PDBs {
		if p.Spec.MaxUnavailable == nil && p.Spec.MinAvailable == nil {
			problems.addf("chart: PodDisruptionBudget %s: neither maxUnavailable nor minAvailable", p.Name)
		}
		if p.Spec.Selector == nil || !mapsEqual(p.Spec.Selector.MatchLabels, dep.Spec.Selector.MatchLabels) {
			problems.addf("chart: PodDisruptionBudget %s: selector is not the Deployment's", p.Name)
		}
	}

	// Filter Job.
	for _, j := range r.Jobs {
		checkJob(&problems, j.Name, j.Spec.CompletionMode, j.Spec.Completions, j.Spec.Template, sel, f)
	}

	// KEDA.
	f.KEDA = len(r.ScaledObjects) > 0
	if f.KEDA && f.Replicas != nil {
		problems.addf("chart: Deployment sets replicas while a ScaledObject owns them (they fight on every upgrade)")
	}
	if !f.KEDA && f.Replicas == nil {
		problems.addf("chart: Deployment: no replicas and no ScaledObject")
	}
	for _, so := range r.ScaledObjects {
		checkScaledObject(&problems, so, r, dep, cfg, conf, keda, f)
	}
	for _, ta := range r.TriggerAuths {
		if err := keda.ValidateTriggerAuthentication(ta); err != nil {
			problems.addf("chart: %w", err)
		}
	}
	if err := problems.join(); err != nil {
		return nil, err
	}
	return f, nil
}

func hasEnv(c corev1.Container, name string) bool {
	for _, e := range c.Env {
		if e.Name == name {
			return true
		}
	}
	return false
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func portIs(p intstr.IntOrString, cp *corev1.ContainerPort) bool {
	if p.Type == intstr.String {
		return p.StrVal == cp.Name
	}
	return p.IntVal == cp.ContainerPort
}

// mountedFile resolves a file path in container c to the volume providing
// it, the ConfigMap/Secret key it is (item path or key name), and whether
// the mount uses subPath.
func mountedFile(pod corev1.PodSpec, c corev1.Container, file string) (*corev1.Volume, string, bool) {
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(path.Clean(file), path.Clean(m.MountPath)+"/")
		if m.SubPath != "" && path.Clean(file) == path.Clean(m.MountPath) {
			rel, ok = m.SubPath, true
		}
		if !ok {
			continue
		}
		for i := range pod.Volumes {
			v := &pod.Volumes[i]
			if v.Name != m.Name {
				continue
			}
			var items []corev1.KeyToPath
			switch {
			case v.Secret != nil:
				items = v.Secret.Items
			case v.ConfigMap != nil:
				items = v.ConfigMap.Items
			default:
				return v, "", m.SubPath != ""
			}
			if len(items) == 0 {
				return v, rel, m.SubPath != "" // every key, under its own name
			}
			for _, it := range items {
				if it.Path == rel {
					return v, it.Key, m.SubPath != ""
				}
			}
			return v, "", m.SubPath != ""
		}
	}
	return nil, "", false
}

func checkSecurity(problems *errs, what string, pod corev1.PodSpec, c corev1.Container) {
	ps, cs := pod.SecurityContext, c.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser == 0 {
		problems.addf("chart: %s: pod securityContext must set runAsNonRoot and a non-zero runAsUser", what)
	}
	if cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
		cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem ||
		cs.Capabilities == nil || !slices.Contains(cs.Capabilities.Drop, corev1.Capability("ALL")) {
		problems.addf("chart: %s: container securityContext must forbid privilege escalation, make the root read-only and drop ALL capabilities", what)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		problems.addf("chart: %s: automountServiceAccountToken must be false (qegate never calls the API)", what)
	}
}

func checkResources(problems *errs, what string, c corev1.Container) {
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			problems.addf("chart: %s: no %s request", what, r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		problems.addf("chart: %s: no memory limit", what)
	}
}

var shardArg = regexp.MustCompile(`^\$\(JOB_COMPLETION_INDEX\)/(\d+)$`)

func checkJob(problems *errs, name string, mode *batchv1.CompletionMode, completions *int32, tmpl corev1.PodTemplateSpec, gate labels.Selector, f *ChartFacts) {
	if mode == nil || string(*mode) != "Indexed" {
		problems.addf("chart: Job %s: completionMode must be Indexed", name)
	}
	if completions == nil || *completions < 1 {
		problems.addf("chart: Job %s: completions must be set", name)
		return
	}
	if gate.Matches(labels.Set(tmpl.Labels)) {
		problems.addf("chart: Job %s: its pods match the gate's selector (Service, PDB and Deployment would count them)", name)
	}
	pod := tmpl.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		problems.addf("chart: Job %s: restartPolicy must be Never (backoffLimitPerIndex)", name)
	}
	if len(pod.Containers) != 1 {
		problems.addf("chart: Job %s: want one container", name)
		return
	}
	c := pod.Containers[0]
	checkSecurity(problems, "Job "+name, pod, c)
	checkResources(problems, "Job "+name, c)
	if len(c.Args) == 0 || c.Args[0] != "filter" {
		problems.addf("chart: Job %s: args %q: want filter ...", name, c.Args)
	}
	n, out := 0, ""
	for i, a := range c.Args {
		if i+1 >= len(c.Args) {
			break
		}
		switch a {
		case "--shard":
			m := shardArg.FindStringSubmatch(c.Args[i+1])
			if m == nil {
				problems.addf("chart: Job %s: --shard %q: want $(JOB_COMPLETION_INDEX)/N", name, c.Args[i+1])
				continue
			}
			n, _ = strconv.Atoi(m[1])
		case "-o", "--out":
			out = c.Args[i+1]
		}
	}
	if n != int(*completions) {
		problems.addf("chart: Job %s: --shard .../%d but completions %d: shards would be lost or repeated", name, n, *completions)
	}
	if !strings.Contains(out, "$(JOB_COMPLETION_INDEX)") {
		problems.addf("chart: Job %s: -o %q is shared by every shard; want one directory per index", name, out)
	}
	// $(VAR) in args expands only for variables in the container's env.
	ok := false
	for _, e := range c.Env {
		if e.Name == "JOB_COMPLETION_INDEX" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
			e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			ok = true
		}
	}
	if !ok {
		problems.addf("chart: Job %s: JOB_COMPLETION_INDEX is not in the container env (from the completion-index annotation)", name)
	}
	f.JobShards = n
}

func checkScaledObject(problems *errs, so map[string]any, r *Rendered, dep *appsv1.Deployment, cfg *ConfigSchema, conf map[string]any, keda *KEDA, f *ChartFacts) {
	if err := keda.ValidateScaledObject(so); err != nil {
		problems.addf("chart: %w", err)
		return
	}
	if str(so, "spec", "scaleTargetRef", "name") != dep.Name || (str(so, "spec", "scaleTargetRef", "kind") != "" && str(so, "spec", "scaleTargetRef", "kind") != "Deployment") {
		problems.addf("chart: ScaledObject does not target Deployment %s", dep.Name)
	}
	min, _ := strconv.Atoi(fmt.Sprint(at(so, "spec", "minReplicaCount")))
	max, _ := strconv.Atoi(fmt.Sprint(at(so, "spec", "maxReplicaCount")))
	if max < 1 || min > max {
		problems.addf("chart: ScaledObject: replicas %d..%d", min, max)
	}
	brokers := strings.Join(Strings(cfg.Setting(conf, "kafka.brokers")), ",")
	group, _ := cfg.Setting(conf, "kafka.group_id").(string)
	topics := Strings(cfg.Setting(conf, "kafka.topics"))
	start, _ := cfg.Setting(conf, "kafka.start_offset").(string)
	kafkaTriggers := 0
	for _, tr := range listAt(so, "spec", "triggers") {
		if str(tr, "type") != "kafka" {
			continue
		}
		kafkaTriggers++
		md := func(k string) string { return str(tr, "metadata", k) }
		if md("bootstrapServers") != brokers {
			problems.addf("chart: ScaledObject: bootstrapServers %q, qegate uses %q", md("bootstrapServers"), brokers)
		}
		if md("consumerGroup") != group {
			problems.addf("chart: ScaledObject: consumerGroup %q, qegate's group is %q", md("consumerGroup"), group)
		}
		if t := md("topic"); t != "" && !slices.Contains(topics, t) {
			problems.addf("chart: ScaledObject: topic %q is not one qegate consumes (%v)", t, topics)
		} else if t == "" && len(topics) == 1 {
			problems.addf("chart: ScaledObject: no topic, though qegate consumes only %s", topics[0])
		}
		f.Topic = md("topic")
		if n, err := strconv.Atoi(md("lagThreshold")); err != nil || n < 1 {
			problems.addf("chart: ScaledObject: lagThreshold %q: want a positive integer", md("lagThreshold"))
		}
		if p := md("offsetResetPolicy"); p != start {
			problems.addf("chart: ScaledObject: offsetResetPolicy %q, qegate starts at %q", p, start)
		}
		sasl := at(conf, "kafka", "sasl") != nil
		tls := at(conf, "kafka", "tls") != nil
		if sasl != (md("sasl") != "" && md("sasl") != "none") {
			problems.addf("chart: ScaledObject: sasl %q but qegate's SASL is %v", md("sasl"), sasl)
		}
		if tls != (md("tls") == "enable") {
			problems.addf("chart: ScaledObject: tls %q but qegate's TLS is %v", md("tls"), tls)
		}
		ref := str(tr, "authenticationRef", "name")
		if sasl && ref == "" {
			problems.addf("chart: ScaledObject: SASL without an authenticationRef: KEDA cannot read the lag")
		}
		if ref != "" {
			found := false
			for _, ta := range r.TriggerAuths {
				if str(ta, "metadata", "name") == ref {
					found = true
					params := map[string]bool{}
					for _, s := range listAt(ta, "spec", "secretTargetRef") {
						params[str(s, "parameter")] = true
					}
					if sasl && (!params["username"] || !params["password"]) {
						problems.addf("chart: TriggerAuthentication %s: SASL needs username and password", ref)
					}
					if ca, _ := cfg.Setting(conf, "kafka.tls.ca_file").(string); ca != "" && !params["ca"] {
						problems.addf("chart: TriggerAuthentication %s: qegate trusts a private CA, KEDA would not", ref)
					}
				}
			}
			if !found {
				problems.addf("chart: ScaledObject: authenticationRef %s is not rendered", ref)
			}
		}
	}
	if kafkaTriggers != 1 {
		problems.addf("chart: ScaledObject: want one kafka trigger, got %d", kafkaTriggers)
	}
}

package pipeline

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline/rules"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's Prometheus instruments, all named qegate_*.
// Each pipeline gets its own registry so tests and the demo can run several.
type Metrics struct {
	Messages    *prometheus.CounterVec
	DeadLetters *prometheus.CounterVec
	// Scores is the decision score per language pair and route: drift in
	// an MT engine shows as a shifting distribution.
	Scores *prometheus.HistogramVec
	// RuleRejections counts pairs the prefilter rejected, by rule.
	RuleRejections *prometheus.CounterVec
	// Critical counts written pairs the model flagged as critical errors,
	// by language pair (whether routes.critical or routes.post_edit
	// received them).
	Critical *prometheus.CounterVec
	// Segments is how many sentence pieces each written, non-dead-letter
	// message was scored (or rule-checked) in: 1 for a pair scored whole.
	Segments prometheus.Histogram
	// Truncated counts written messages whose text the model did not see
	// in full (a piece longer than max_len, or input.max_segments reached).
	Truncated prometheus.Counter
	// EndToEnd is input timestamp (the Kafka record's) to output acked.
	EndToEnd prometheus.Histogram
	// Lag is, per input partition, the high watermark minus the next
	// offset to commit: messages not yet done.
	Lag        *prometheus.GaugeVec
	Abandoned  prometheus.Counter
	BatchSize  prometheus.Histogram
	ScoreTime  prometheus.Histogram
	WriteTime  prometheus.Histogram
	SinkErrors prometheus.Counter
	Fetched    prometheus.Counter
	Committed  *prometheus.GaugeVec
	Partitions prometheus.Gauge

	// langPairs, when set, are the language-pair label values; any other
	// pair is counted as "other", so senders cannot grow the label set.
	langPairs atomic.Pointer[map[string]bool]
}

// NewMetrics creates the instruments and registers them with reg (nil: not
// registered, still usable).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qegate_messages_total", Help: "Messages written to a sink, by route.",
		}, []string{"route", "lang_pair"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qegate_dead_letters_total", Help: "Dead-lettered messages by reason class.",
		}, []string{"reason"}),
		Scores: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "qegate_score", Help: "Decision scores of routed pairs, by language pair and route.",
			Buckets: prometheus.LinearBuckets(0.05, 0.05, 20),
		}, []string{"lang_pair", "route"}),
		RuleRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qegate_rule_rejections_total", Help: "Pairs a rule prefilter rejected before the model, by rule.",
		}, []string{"rule"}),
		Critical: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qegate_critical_total", Help: "Pairs the model flagged as critical errors (never published), by language pair.",
		}, []string{"lang_pair"}),
		Segments: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "qegate_segments_per_message", Help: "Sentence pieces a message was scored in (1: scored whole).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		Truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qegate_truncated_total", Help: "Messages scored without all of their text (a sentence over the model's max_len, or input.max_segments reached).",
		}),
		EndToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "qegate_end_to_end_seconds", Help: "From the input record's timestamp to its output being acknowledged.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 16),
		}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qegate_consumer_lag", Help: "Per input partition: high watermark minus the next offset to commit.",
		}, []string{"topic", "partition"}),
		Abandoned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qegate_abandoned_total", Help: "Messages dropped unwritten because their partition was revoked; the new owner reprocesses them.",
		}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "qegate_batch_size", Help: "Pairs per scored micro-batch.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		ScoreTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "qegate_score_seconds", Help: "Scorer time per micro-batch (tokenize + ONNX Runtime).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		WriteTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "qegate_sink_write_seconds", Help: "Sink write time per micro-batch, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		SinkErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qegate_sink_errors_total", Help: "Failed sink writes (retried).",
		}),
		Fetched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qegate_fetched_total", Help: "Messages fetched from the source.",
		}),
		Committed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qegate_committed_offset", Help: "Last committed offset (next to read) per input partition.",
		}, []string{"topic", "partition"}),
		Partitions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "qegate_assigned_partitions", Help: "Input partitions owned by this process.",
		}),
	}
	for _, r := range rules.AllRules() {
		m.RuleRejections.WithLabelValues(r) // every rule's series exists from the start, at 0
	}
	if reg != nil {
		reg.MustRegister(m.Messages, m.DeadLetters, m.RuleRejections, m.Critical, m.Scores, m.Segments, m.Truncated, m.EndToEnd, m.Lag, m.Abandoned, m.BatchSize, m.ScoreTime,
			m.WriteTime, m.SinkErrors, m.Fetched, m.Committed, m.Partitions)
	}
	return m
}

// LimitLangPairs makes lps the only language-pair label values; others
// are counted as "other". Empty lps lifts the limit.
func (m *Metrics) LimitLangPairs(lps []string) {
	if len(lps) == 0 {
		m.langPairs.Store(nil)
		return
	}
	set := make(map[string]bool, len(lps))
	for _, lp := range lps {
		set[lp] = true
	}
	m.langPairs.Store(&set)
}

// langLabel is the label value for a language pair.
func (m *Metrics) langLabel(lp string) string {
	if set := m.langPairs.Load(); set != nil && lp != "" && !(*set)[lp] {
		return "other"
	}
	return lp
}

// observe records one written output.
func (m *Metrics) observe(o routed, label string, now time.Time) {
	m.Messages.WithLabelValues(o.rec.Route.String(), label).Inc()
	if o.rec.Route == qe.RouteDeadLetter {
		m.DeadLetters.WithLabelValues(reasonClass(string(o.rec.Header(qe.HeaderError)))).Inc()
	}
	if o.rule != "" {
		m.RuleRejections.WithLabelValues(o.rule).Inc()
	}
	if o.scored || o.rule != "" {
		m.Segments.Observe(float64(max(o.rec.Segments, 1)))
		if o.rec.Verdict.Truncated {
			m.Truncated.Inc()
		}
	}
	if o.scored && o.rec.Route != qe.RouteDeadLetter {
		m.Scores.WithLabelValues(label, o.rec.Route.String()).Observe(float64(o.res.Score))
		if c := o.res.Critical; c != nil && c.Flagged {
			m.Critical.WithLabelValues(label).Inc()
		}
	}
	if t := o.it.Time; !t.IsZero() {
		m.EndToEnd.Observe(now.Sub(t).Seconds())
	}
}

// reasonClass keeps the dead-letter label's cardinality small: the reason
// up to its first quote or colon ("missing field", "not a JSON object").
func reasonClass(reason string) string {
	if i := strings.IndexAny(reason, `":`); i > 0 {
		reason = reason[:i]
	}
	return strings.TrimSpace(reason)
}

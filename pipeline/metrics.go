package pipeline

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's Prometheus instruments, all named qegate_*.
// Each pipeline gets its own registry so tests and the demo can run several.
type Metrics struct {
	Messages    *prometheus.CounterVec
	DeadLetters *prometheus.CounterVec
	Abandoned   prometheus.Counter
	BatchSize   prometheus.Histogram
	ScoreTime   prometheus.Histogram
	WriteTime   prometheus.Histogram
	SinkErrors  prometheus.Counter
	Fetched     prometheus.Counter
	Committed   *prometheus.GaugeVec
	Partitions  prometheus.Gauge
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
	if reg != nil {
		reg.MustRegister(m.Messages, m.DeadLetters, m.Abandoned, m.BatchSize, m.ScoreTime,
			m.WriteTime, m.SinkErrors, m.Fetched, m.Committed, m.Partitions)
	}
	return m
}

// reasonClass keeps the dead-letter label's cardinality small: the reason
// up to its first quote or colon ("missing field", "not a JSON object").
func reasonClass(reason string) string {
	if i := strings.IndexAny(reason, `":`); i > 0 {
		reason = reason[:i]
	}
	return strings.TrimSpace(reason)
}

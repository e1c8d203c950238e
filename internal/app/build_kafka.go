package app

import (
	"context"
	"time"

	"github.com/qegate/qegate/scorer"
	"github.com/qegate/qegate/sink"
	"github.com/qegate/qegate/source"
)

// buildKafka makes the live gate's consumer-group source and Kafka sink.
func (b *builder) buildKafka() error {
	snk, err := b.kafkaSink(b.cfg.Kafka.Topics)
	if err != nil {
		return err
	}
	kc := b.cfg.Kafka
	// The partition readers' prefetch gets half the byte budget of the
	// queue, so fetched-ahead messages are bounded in bytes too.
	kc.PrefetchBytes = b.cfg.Pipeline.QueueBytes / 2
	kc.MaxMessageBytes = b.cfg.Input.MaxBytes
	ks := source.NewKafka(kc, b.dec, b.g.Metrics, b.log)
	b.g.kafka, b.g.brokers, b.g.conn = ks, b.cfg.Kafka.Brokers, b.cfg.Kafka.Conn
	if b.opts.Registry != nil {
		b.opts.Registry.MustRegister(ks.Collector())
	}
	b.src, b.g.Sink = ks, snk
	return nil
}

// buildBackfill makes a backfill gate: a bounded read of one topic (no
// consumer group, no commits) into the Kafka sink.
func (b *builder) buildBackfill() error {
	bc := *b.opts.Backfill
	snk, err := b.kafkaSink([]string{bc.Topic})
	if err != nil {
		return err
	}
	if len(bc.Brokers) == 0 {
		bc.Brokers = b.cfg.Kafka.Brokers
	}
	if bc.MaxFetchBytes <= 0 {
		bc.MaxFetchBytes = b.cfg.Kafka.MaxFetchBytes
	}
	bc.Conn = b.cfg.Kafka.Conn
	bf, err := source.NewBackfill(b.ctx, bc, b.dec, b.log)
	if err != nil {
		_ = snk.Close()
		return err
	}
	b.src, b.g.Sink, b.g.Backfill = bf, snk, bf
	return nil
}

// kafkaSink checks what a Kafka-reading gate needs before it starts (the
// brokers answer, the inputs and every output topic of the model's
// language pairs exist) and opens the Kafka sink.
func (b *builder) kafkaSink(inputs []string) (*sink.Kafka, error) {
	cfg, router, log := b.cfg, b.g.Router, b.log
	lps := LangPairs(b.sc, cfg.Input.LangPairs)
	if router.Templated() && len(lps) == 0 {
		log.Warn("routes use language templates but the model names no language pairs; output topics are checked as they are used")
	}
	outBrokers, outConn, err := cfg.Output()
	if err != nil {
		return nil, err
	}
	for _, w := range append(cfg.Kafka.Conn.Warnings(), outConn.Warnings()...) {
		log.Warn(w)
	}
	// Connection problems (wrong password, unknown CA, plaintext on a
	// TLS listener) end start-up with one explained line, instead of a
	// consumer group retrying them forever in the background.
	pctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	err = cfg.Kafka.Conn.Probe(pctx, cfg.Kafka.Brokers)
	cancel()
	if err != nil {
		return nil, err // explained: "kafka: authentication failed for ..."
	}
	if err := CheckTopics(b.ctx, cfg.Kafka.Brokers, cfg.Kafka.Conn, inputs); err != nil {
		return nil, err
	}
	if err := CheckTopics(b.ctx, outBrokers, outConn, router.Topics(lps)); err != nil {
		return nil, err
	}
	b.expect = router.Topics(lps)
	m := b.g.Metrics
	m.LimitLangPairs(lps)
	if hot, ok := b.sc.(*scorer.Reloading); ok {
		// A reloaded model may name new language pairs: their output
		// topics must exist before it is swapped in.
		hot.Check = func(ctx context.Context, next *scorer.Scorer) error {
			lps := LangPairs(next, cfg.Input.LangPairs)
			if err := CheckTopics(ctx, outBrokers, outConn, router.Topics(lps)); err != nil {
				return err
			}
			m.LimitLangPairs(lps)
			return nil
		}
	}
	tr, err := outConn.Transport()
	if err != nil {
		return nil, err
	}
	return sink.NewKafka(sink.KafkaConfig{Brokers: outBrokers, Transport: tr})
}

package sink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/qe"
)

// KafkaConfig configures a Kafka sink.
type KafkaConfig struct {
	// Brokers are the bootstrap addresses. Required.
	Brokers []string
	// BatchTimeout bounds how long the writer waits to fill a produce
	// request. Zero means 5ms (DefaultKafkaConfig, as for every zero
	// field below).
	BatchTimeout time.Duration
	// WriteTimeout bounds one produce round trip. Zero means 10s.
	WriteTimeout time.Duration
	// MaxAttempts is kafka-go's retry count per write. Zero means 3; the
	// pipeline retries failed batches on top of this, without acking.
	MaxAttempts int
	// BatchBytes caps one produce request. Zero means 16 MiB.
	BatchBytes int64
	// Transport carries TLS and SASL (kafkaconn.Config.Transport). Nil:
	// kafka-go's default, plaintext.
	Transport *kafka.Transport
}

// Kafka writes records to Kafka topics with acks=all and synchronous
// delivery: Write returns only once every record is acknowledged by all
// in-sync replicas, so the caller may ack the inputs. Async mode is never
// used because it hides delivery errors.
type Kafka struct {
	w *kafka.Writer
	// one writes single records, one request at a time (WriteOne): w
	// batches records of concurrent Writes together, so a broker's refusal
	// of a batch cannot be pinned on one record through w.
	one   *kafka.Writer
	oneMu sync.Mutex
}

// NewKafka returns a Kafka sink. The writer picks the topic per record.
func NewKafka(cfg KafkaConfig) (*Kafka, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("sink: kafka: no brokers configured")
	}
	d := DefaultKafkaConfig()
	if cfg.BatchTimeout == 0 {
		cfg.BatchTimeout = d.BatchTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = d.WriteTimeout
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = d.MaxAttempts
	}
	if cfg.BatchBytes == 0 {
		cfg.BatchBytes = d.BatchBytes
	}
	newWriter := func() *kafka.Writer {
		return &kafka.Writer{
			Addr:      kafka.TCP(cfg.Brokers...),
			Transport: transport(cfg.Transport),
			// murmur2 matches the Java client's partitioner, so keyed records land
			// where a Java producer would put them; keyless records spread.
			Balancer:               &kafka.Murmur2Balancer{},
			RequiredAcks:           kafka.RequireAll,
			Async:                  false,
			BatchTimeout:           cfg.BatchTimeout,
			BatchSize:              1000,
			BatchBytes:             cfg.BatchBytes,
			WriteTimeout:           cfg.WriteTimeout,
			ReadTimeout:            cfg.WriteTimeout,
			MaxAttempts:            cfg.MaxAttempts,
			AllowAutoTopicCreation: false,
		}
	}
	return &Kafka{w: newWriter(), one: newWriter()}, nil
}

// transport keeps a nil *kafka.Transport out of the RoundTripper interface,
// where it would not read as nil.
func transport(t *kafka.Transport) kafka.RoundTripper {
	if t == nil {
		return nil
	}
	return t
}

// Write produces recs and blocks until all are acknowledged or one fails.
// On error some records may have been written: the caller must not ack
// any input of the batch (at-least-once; duplicates are possible on retry).
func (k *Kafka) Write(ctx context.Context, recs []qe.Record) error {
	return write(ctx, k.w, recs)
}

// WriteOne writes one record in a produce request of its own, so that an
// error (e.g. a record batch too large) is this record's and no
// batch-mate's. Calls are serialised.
func (k *Kafka) WriteOne(ctx context.Context, rec qe.Record) error {
	k.oneMu.Lock()
	defer k.oneMu.Unlock()
	return write(ctx, k.one, []qe.Record{rec})
}

func write(ctx context.Context, w *kafka.Writer, recs []qe.Record) error {
	if len(recs) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		hs := make([]kafka.Header, len(r.Headers))
		for j, h := range r.Headers {
			hs[j] = kafka.Header{Key: h.Key, Value: h.Value}
		}
		msgs[i] = kafka.Message{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: hs}
	}
	err := w.WriteMessages(ctx, msgs...)
	if err == nil {
		return nil
	}
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) && len(werrs) == len(recs) {
		out := make(qe.WriteErrors, len(werrs))
		for i, e := range werrs {
			if e == nil {
				continue
			}
			if errors.Is(e, kafka.UnknownTopicOrPartition) {
				e = &qe.MissingTopicError{Topic: recs[i].Topic, Err: e}
			} else if permanentKafka(e) {
				e = &qe.PermanentError{Err: e}
			}
			out[i] = fmt.Errorf("sink: kafka write %s: %w", recs[i].Topic, e)
		}
		return out
	}
	if errors.Is(err, kafka.UnknownTopicOrPartition) {
		// kafka-go fails the whole call when one topic has no metadata;
		// name it when the records share one (else the caller writes each
		// alone to find it).
		topic := recs[0].Topic
		for _, r := range recs[1:] {
			if r.Topic != topic {
				topic = ""
				break
			}
		}
		err = &qe.MissingTopicError{Topic: topic, Err: err}
	} else if permanentKafka(err) {
		err = &qe.PermanentError{Err: err}
	}
	return fmt.Errorf("sink: kafka write: %w", err)
}

// permanentKafka lists the broker answers that no retry can change, and
// kafka-go's own refusal of a message larger than the writer's BatchBytes.
// UNKNOWN_TOPIC_OR_PARTITION is not among them: during metadata lag it
// clears by itself (see MissingTopicError).
func permanentKafka(err error) bool {
	var tooLarge kafka.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		return true
	}
	for _, e := range []error{
		kafka.MessageSizeTooLarge, kafka.InvalidTopic,
		kafka.TopicAuthorizationFailed, kafka.RecordListTooLarge, kafka.InvalidRecord,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Stats exposes the writer's counters for metrics.
func (k *Kafka) Stats() kafka.WriterStats { return k.w.Stats() }

// Close flushes and closes the writer.
func (k *Kafka) Close() error {
	if err := errors.Join(k.w.Close(), k.one.Close()); err != nil {
		return fmt.Errorf("sink: kafka close: %w", err)
	}
	return nil
}

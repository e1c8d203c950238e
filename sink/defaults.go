package sink

import "time"

// DefaultKafkaConfig is what a zero field of KafkaConfig means to NewKafka
// (no brokers: the wiring sets them). The reason for each number is beside
// it.
func DefaultKafkaConfig() KafkaConfig {
	return KafkaConfig{
		// The pipeline already batches, so the writer should not add
		// latency of its own waiting to fill a produce request.
		BatchTimeout: 5 * time.Millisecond,
		// One produce round trip with acks=all: a hung connection is
		// noticed and the write retried, while a slow but live broker
		// (all in-sync replicas acknowledging) has ample time.
		WriteTimeout: 10 * time.Second,
		// kafka-go's own retries of a write; the pipeline retries failed
		// batches on top of this, without acking.
		MaxAttempts: 3,
		// 16 x the 1 MiB input.max_message_bytes default, so that values
		// up to the pipeline's max message size fit in one request.
		BatchBytes: 16 << 20,
	}
}

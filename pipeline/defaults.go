package pipeline

import "time"

// DefaultConfig is the pipeline section with no file and no environment:
// configs/qegate.yaml lists these values, app.Load applies them once, and
// NewEngine and Gate.Run read a zero field as the value here. The reason
// for each number is beside it.
func DefaultConfig() Config {
	return Config{
		EngineConfig: EngineConfig{
			// One sink write (one produce request per topic) per batch; at
			// ~2.5-3.3 ms of inference per pair (docs/BENCHMARKS.md) 32
			// pairs are about 0.1 s on one session, so a batch's records
			// are not held long before they are written.
			BatchSize: 32,
			// Long enough to fill batches under load, short enough to
			// keep batch-1 latency low when idle.
			BatchWait: 10 * time.Millisecond,
			// Zero: app sizes it from the scorer (sessions + 1, so that a
			// batch is written while the next one scores); NewEngine alone
			// reads zero as 2, one scoring while another writes.
			Workers: 0,
			// Short, so that a one-off refusal (a leader election) costs
			// little; doubling up to 5s keeps a long outage from becoming
			// a busy loop.
			RetryBackoff: 100 * time.Millisecond,
			// Metadata of a just-created topic lags (the broker answers
			// unknown topic until it arrives); 30s is ample for that lag
			// and still prompt about a topic that is gone.
			MissingTopicTimeout: 30 * time.Second,
		},
		// Enough fetched items to keep 32-pair batches of every worker fed
		// between fetches, few enough that a stalled sink holds a bounded
		// number of messages in memory.
		QueueSize: 1024,
		// 64 messages of input.max_message_bytes: with large messages the
		// byte bound, not QueueSize, is what holds memory when a sink
		// stalls (docs/delivery.md, scenario 12).
		QueueBytes: 64 << 20,
		// Below Kubernetes' default 30s termination grace period, so a
		// drained pod exits and commits before it is killed.
		DrainTimeout: 20 * time.Second,
	}
}

// engineDefaults is DefaultConfig's engine part with Workers 2, what a zero
// EngineConfig field means to NewEngine.
func engineDefaults() EngineConfig {
	d := DefaultConfig().EngineConfig
	d.Workers = 2
	return d
}

// DefaultDecoderConfig is the input section with no file and no
// environment, as DefaultConfig is for the pipeline section.
func DefaultDecoderConfig() DecoderConfig {
	return DecoderConfig{
		// The message contract's field names (docs/delivery.md).
		Fields: Fields{ID: "id", Src: "src", MT: "mt", SrcLang: "src_lang", TgtLang: "tgt_lang", MTScore: "mt_score"},
		// Kafka's default max.message.bytes (about 1 MB): a larger value
		// could not have been produced to a default topic, and the model
		// reads at most max_len tokens of it anyway.
		MaxBytes: 1 << 20,
		// An output record keeps the input's key and headers, and the
		// output topic's max.message.bytes counts them: 64 KiB each leaves
		// room for the value under Kafka's default.
		MaxKeyBytes:    64 << 10,
		MaxHeaderBytes: 64 << 10,
		// Empty: any well-formed language code is accepted.
		LangPairs: []string{},
	}
}

// positive is v, or d when v is not positive: what a zero (or negative)
// size or duration of a config means.
func positive[T ~int | ~int64](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

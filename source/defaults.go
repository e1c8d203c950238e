package source

import "time"

// DefaultKafkaConfig is the kafka section with no file and no environment
// (app adds the contract's broker, group and topic): configs/qegate.yaml
// lists these values, app.Load applies them once, and NewKafka reads a zero
// field as the value here. The reason for each number is beside it.
func DefaultKafkaConfig() KafkaConfig {
	return KafkaConfig{
		// Kafka's own auto.commit.interval.ms is 5s; 1s bounds what a
		// crash redelivers to about a second of traffic at the cost of one
		// small commit request per second.
		CommitInterval: time.Second,
		// Long enough for the in-flight batches of a revoked partition to
		// be scored and written; revokeBudget caps it at 4/5 of
		// SessionTimeout so the member is not evicted while it drains.
		RevokeTimeout: 10 * time.Second,
		// A member silent this long is evicted and its partitions move:
		// 10s (heartbeats at a fifth of it) rides out a GC pause or a slow
		// batch without a rebalance and still moves a dead member's
		// partitions within seconds.
		SessionTimeout: 10 * time.Second,
		// Members rejoin after draining (at most RevokeTimeout); 30s leaves
		// room for that plus the join round trips.
		RebalanceTimeout: 30 * time.Second,
		// Must exceed the largest input message (input.max_message_bytes,
		// 1 MiB by default) or that message is never fetched; 16 MiB is
		// 16 of them.
		MaxFetchBytes: 16 << 20,
		// How long the broker holds a fetch open on an idle partition:
		// half of Kafka's fetch.max.wait.ms default (500ms), so readers
		// notice a stop or revocation sooner, and long enough not to spin
		// on empty fetches.
		FetchMaxWait: 250 * time.Millisecond,
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

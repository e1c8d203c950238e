// Package source provides the inputs of the gate, each a pipeline.Source:
// [Kafka], a consumer group that commits each partition's contiguous done
// watermark ([Tracker]), and [File], JSONL or TSV files for corpus cleaning
// and backfills. A source decodes each message into a pipeline.Item whose
// ack marks it done in the source's tracker.
package source

// Package kafkaread reads Kafka partitions: Read is the one loop that reads
// a partition's range (the consumer-group source, backfill, audit, demo
// and tests all use it), Bounds finds a topic's partitions and offsets,
// and Topic and Each read whole topics back, from the first offset to the
// end offset at the time of the call.
package kafkaread

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/kafkaconn"
)

// Topic reads every message of topic that exists when it is called, in
// partition and offset order, over a plaintext connection. It fails when
// the topic is missing or a partition cannot be read to its end before ctx
// expires.
func Topic(ctx context.Context, brokers []string, topic string) ([]kafka.Message, error) {
	return TopicConn(ctx, brokers, kafkaconn.Config{}, topic)
}

// TopicConn is Topic over conn (kafka.tls, kafka.sasl); connection
// failures come back explained.
func TopicConn(ctx context.Context, brokers []string, conn kafkaconn.Config, topic string) ([]kafka.Message, error) {
	var out []kafka.Message
	err := EachConn(ctx, brokers, conn, topic, func(m kafka.Message) { out = append(out, m) })
	return out, err
}

// Each calls fn for every message of topic from the first offset of each
// partition to its last offset at the time of the call, partition by
// partition, without keeping the messages (an audited input can be large).
func Each(ctx context.Context, brokers []string, topic string, fn func(kafka.Message)) error {
	return EachConn(ctx, brokers, kafkaconn.Config{}, topic, fn)
}

// EachConn is Each over conn; connection failures come back explained.
func EachConn(ctx context.Context, brokers []string, conn kafkaconn.Config, topic string, fn func(kafka.Message)) error {
	// A transport of its own: the shared default one pools connections,
	// which go stale when a broker restarts (an audit after an incident).
	tr, err := conn.Transport()
	if err != nil {
		return fmt.Errorf("kafkaread: %w", err)
	}
	defer tr.CloseIdleConnections()
	dialer, err := conn.Dialer(10 * time.Second)
	if err != nil {
		return fmt.Errorf("kafkaread: %w", err)
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second, Transport: tr}
	return conn.Explain(each(ctx, client, dialer, brokers, topic, fn))
}

func each(ctx context.Context, client *kafka.Client, dialer *kafka.Dialer, brokers []string, topic string, fn func(kafka.Message)) error {
	b, err := Bounds(ctx, client, topic)
	if err != nil {
		return err
	}
	for _, p := range b.Partitions {
		err := Read(ctx, Partition{Brokers: brokers, Dialer: dialer, Topic: topic, Partition: p, Start: b.First[p], End: b.Last[p], MaxBytes: 64 << 20, MaxWait: 200 * time.Millisecond},
			func(m kafka.Message) error { fn(m); return nil })
		if err != nil {
			return err
		}
	}
	return nil
}

// TopicBounds are a topic's partitions, in order, and each one's first
// offset and end offset (the last stable offset: see Isolation).
type TopicBounds struct {
	Partitions  []int
	First, Last map[int]int64
}

// Bounds looks up topic's partitions and their offsets; a missing topic is
// an error.
func Bounds(ctx context.Context, client *kafka.Client, topic string) (TopicBounds, error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return TopicBounds{}, fmt.Errorf("kafkaread: metadata %s: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) == 0 {
		var cause error = errors.New("not found")
		if len(md.Topics) == 1 && md.Topics[0].Error != nil {
			cause = md.Topics[0].Error
		}
		return TopicBounds{}, fmt.Errorf("kafkaread: topic %s: %w", topic, cause)
	}
	b := TopicBounds{First: map[int]int64{}, Last: map[int]int64{}}
	var reqs []kafka.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		b.Partitions = append(b.Partitions, p.ID)
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	sort.Ints(b.Partitions)
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}, IsolationLevel: Isolation})
	if err != nil {
		return TopicBounds{}, fmt.Errorf("kafkaread: list offsets %s: %w", topic, err)
	}
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return TopicBounds{}, fmt.Errorf("kafkaread: offsets %s/%d: %w", topic, po.Partition, po.Error)
		}
		b.First[po.Partition], b.Last[po.Partition] = po.FirstOffset, po.LastOffset
	}
	return b, nil
}

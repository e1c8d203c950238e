// Package kafkaread reads whole topics back, from the first offset to the
// end offset at the time of the call: what the demo, the audit and the
// end-to-end tests use to count every routed message.
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
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return fmt.Errorf("kafkaread: metadata %s: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		if len(md.Topics) == 1 {
			err = md.Topics[0].Error
		}
		return fmt.Errorf("kafkaread: topic %s: %w", topic, errors.Join(err, errors.New("not found")))
	}
	var reqs []kafka.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return fmt.Errorf("kafkaread: list offsets %s: %w", topic, err)
	}
	parts := offs.Topics[topic]
	sort.Slice(parts, func(i, j int) bool { return parts[i].Partition < parts[j].Partition })
	for _, po := range parts {
		if po.Error != nil {
			return fmt.Errorf("kafkaread: offsets %s/%d: %w", topic, po.Partition, po.Error)
		}
		if po.LastOffset <= po.FirstOffset {
			continue
		}
		if err := eachInPartition(ctx, dialer, brokers, topic, po.Partition, po.FirstOffset, po.LastOffset, fn); err != nil {
			return err
		}
	}
	return nil
}

func eachInPartition(ctx context.Context, dialer *kafka.Dialer, brokers []string, topic string, part int, first, end int64, fn func(kafka.Message)) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: brokers, Topic: topic, Partition: part, Dialer: dialer,
		MinBytes: 1, MaxBytes: 64 << 20, MaxWait: 200 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(first); err != nil {
		return fmt.Errorf("kafkaread: %s/%d: %w", topic, part, err)
	}
	next := first
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return fmt.Errorf("kafkaread: %s/%d at offset %d of [%d,%d): %w", topic, part, next, first, end, err)
		}
		fn(m)
		next = m.Offset + 1
		if m.Offset >= end-1 {
			return nil
		}
	}
}

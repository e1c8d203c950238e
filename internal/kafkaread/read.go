// Package kafkaread reads whole topics back, from the first offset to the
// end offset at the time of the call: what the demo, the audit command and
// the end-to-end tests use to count every routed message.
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

// Topic reads every message of topic that exists when it is called. It
// fails when the topic is missing or a partition cannot be read to its end
// before ctx expires.
func Topic(ctx context.Context, brokers []string, topic string) ([]kafka.Message, error) {
	return TopicConn(ctx, brokers, kafkaconn.Config{}, topic)
}

// clients returns the admin client and the reader dialer for conn: kafka-go's
// defaults for the zero (plaintext) Config, so that plain use is unchanged,
// else conn's Transport and Dialer. done releases the transport.
func clients(conn kafkaconn.Config) (client *kafka.Client, dialer *kafka.Dialer, done func(), err error) {
	client = &kafka.Client{Timeout: 10 * time.Second}
	if conn.TLS == (kafkaconn.TLSConfig{}) && conn.SASL == (kafkaconn.SASLConfig{}) {
		return client, nil, func() {}, nil
	}
	tr, err := conn.Transport()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kafkaread: %w", err)
	}
	if dialer, err = conn.Dialer(10 * time.Second); err != nil {
		return nil, nil, nil, fmt.Errorf("kafkaread: %w", err)
	}
	client.Transport = tr
	return client, dialer, tr.CloseIdleConnections, nil
}

// TopicConn is Topic over a TLS/SASL connection (kafka.tls, kafka.sasl);
// connection failures come back Explain'd.
func TopicConn(ctx context.Context, brokers []string, conn kafkaconn.Config, topic string) ([]kafka.Message, error) {
	client, dialer, done, err := clients(conn)
	if err != nil {
		return nil, err
	}
	defer done()
	client.Addr = kafka.TCP(brokers...)
	out, err := topicWith(ctx, client, dialer, brokers, topic)
	return out, conn.Explain(err)
}

func topicWith(ctx context.Context, client *kafka.Client, dialer *kafka.Dialer, brokers []string, topic string) ([]kafka.Message, error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("kafkaread: metadata %s: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		if len(md.Topics) == 1 {
			err = md.Topics[0].Error
		}
		return nil, fmt.Errorf("kafkaread: topic %s: %w", topic, errors.Join(err, errors.New("not found")))
	}
	var reqs []kafka.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("kafkaread: list offsets %s: %w", topic, err)
	}
	var out []kafka.Message
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("kafkaread: offsets %s/%d: %w", topic, po.Partition, po.Error)
		}
		if po.LastOffset <= po.FirstOffset {
			continue
		}
		msgs, err := partition(ctx, dialer, brokers, topic, po.Partition, po.FirstOffset, po.LastOffset)
		if err != nil {
			return nil, err
		}
		out = append(out, msgs...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset < out[j].Offset
	})
	return out, nil
}

func partition(ctx context.Context, dialer *kafka.Dialer, brokers []string, topic string, part int, first, end int64) ([]kafka.Message, error) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: brokers, Topic: topic, Partition: part, Dialer: dialer,
		MinBytes: 1, MaxBytes: 32 << 20, MaxWait: 200 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(first); err != nil {
		return nil, fmt.Errorf("kafkaread: %s/%d: %w", topic, part, err)
	}
	var out []kafka.Message
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return out, fmt.Errorf("kafkaread: %s/%d at %d of %d: %w", topic, part, len(out), end-first, err)
		}
		out = append(out, m)
		if m.Offset >= end-1 {
			return out, nil
		}
	}
}

// Topics lists the topics of a cluster, internal ones excluded.
func Topics(ctx context.Context, brokers []string) ([]string, error) {
	return TopicsConn(ctx, brokers, kafkaconn.Config{})
}

// TopicsConn is Topics over a TLS/SASL connection; connection failures
// come back Explain'd.
func TopicsConn(ctx context.Context, brokers []string, conn kafkaconn.Config) ([]string, error) {
	client, _, done, err := clients(conn)
	if err != nil {
		return nil, err
	}
	defer done()
	client.Addr = kafka.TCP(brokers...)
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil, conn.Explain(fmt.Errorf("kafkaread: metadata: %w", err))
	}
	var out []string
	for _, t := range md.Topics {
		if !t.Internal {
			out = append(out, t.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

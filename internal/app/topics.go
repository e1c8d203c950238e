package app

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/qegate/qegate/internal/kafkaconn"
	"github.com/segmentio/kafka-go"
)

// CheckTopics fails with one clear message when the brokers cannot be
// reached or a topic is missing; producing to a missing topic later would
// otherwise stall or dead-letter everything.
func CheckTopics(ctx context.Context, brokers []string, conn kafkaconn.Config, topics []string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tr, err := conn.Transport()
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: tr}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return conn.Explain(fmt.Errorf("kafka: cannot reach brokers %s: %w", strings.Join(brokers, ","), err))
	}
	got := map[string]bool{}
	var missing []string
	for _, t := range md.Topics {
		got[t.Name] = true
		if t.Error != nil {
			missing = append(missing, t.Name)
		}
	}
	for _, t := range topics {
		if !got[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("kafka: topic(s) do not exist: %s (create them, or change routes/kafka.topics)", strings.Join(missing, ", "))
	}
	return nil
}

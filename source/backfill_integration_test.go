//go:build integration

package source_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/qegate/qegate/internal/kafkatest"
	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/source"
)

// TestBackfillReadCommitted: a backfill reads read_committed, as the live
// source does. With a transaction still open at the end of the topic,
// "--to now" ends at the last stable offset (the open records are not
// read), and so is a range that names the open records' offsets; once
// the transaction commits, the same range reads them.
func TestBackfillReadCommitted(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{DisableAutoCreateTopics: true})
	b.CreateTopics(t, 1, "hist")
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.TransactionalID("qegate-backfill-test"), kgo.DefaultProduceTopic("hist"), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Committed: c1-0..4 (offsets 0-4, commit marker 5); open: open-0..4
	// (offsets 6-10).
	for _, prefix := range []string{"c1", "open"} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: pairValue(fmt.Sprintf("%s-%d", prefix, i))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if prefix == "c1" {
			if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
		}
	}

	// --to now, while the transaction is open.
	got, bf := backfill(t, ctx, source.BackfillConfig{Brokers: []string{b.Addr()}, Topic: "hist"})
	if r := bf.Ranges(); len(r) != 1 || r[0].End != 6 {
		t.Fatalf("ranges %+v: want [0, 6), the last stable offset", r)
	}
	if strings.Join(got, " ") != "c1-0 c1-1 c1-2 c1-3 c1-4" || !bf.Complete() {
		t.Fatalf("backfilled %v (complete %v), want c1-0..4 and no record of the open transaction", got, bf.Complete())
	}

	// A range that names the open records' offsets is clamped to the last
	// stable offset too, until the transaction commits.
	hw := highWatermark(t, ctx, b.Addr(), "hist")
	if hw != 11 {
		t.Fatalf("high watermark %d, want 11", hw)
	}
	byOffset := source.BackfillConfig{Brokers: []string{b.Addr()}, Topic: "hist", From: "0:0", To: fmt.Sprintf("0:%d", hw)}
	got, bf = backfill(t, ctx, byOffset)
	if r := bf.Ranges(); strings.Join(got, " ") != "c1-0 c1-1 c1-2 c1-3 c1-4" || len(r) != 1 || r[0].End != 6 {
		t.Fatalf("backfilled %v over %+v, want c1-0..4 over [0, 6)", got, r)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	got, bf = backfill(t, ctx, byOffset)
	want := "c1-0 c1-1 c1-2 c1-3 c1-4 open-0 open-1 open-2 open-3 open-4"
	if strings.Join(got, " ") != want || !bf.Complete() {
		t.Fatalf("after the commit: backfilled %v (complete %v), want %s", got, bf.Complete(), want)
	}
}

// backfill runs a backfill of cfg to its end, acking every item, and
// returns the ids of the valid items in offset order.
func backfill(t *testing.T, ctx context.Context, cfg source.BackfillConfig) ([]string, *source.Backfill) {
	t.Helper()
	bf, err := source.NewBackfill(ctx, cfg, pipeline.NewDecoder(pipeline.DecoderConfig{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan *pipeline.Item)
	var ids []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for it := range out {
			if it.Err == nil { // transaction markers are invalid input
				ids = append(ids, it.ID)
			}
			it.Ack()
		}
	}()
	left, err := bf.Run(ctx, time.Second, out)
	close(out)
	wg.Wait()
	if err != nil || left != 0 {
		t.Fatalf("backfill: %d left unwritten, err %v", left, err)
	}
	return ids, bf
}

func highWatermark(t *testing.T, ctx context.Context, addr, topic string) int64 {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: {kafka.LastOffsetOf(0)}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Topics[topic][0].LastOffset
}

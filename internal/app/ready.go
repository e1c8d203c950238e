package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/qegate/qegate/internal/kafkaconn"
)

// brokerProbe caches whether the brokers answer, so that frequent probes
// (/readyz every few seconds from each kubelet) cost one metadata request
// per TTL at most.
type brokerProbe struct {
	mu   sync.Mutex
	at   time.Time
	err  error
	busy bool
}

const probeTTL = 2 * time.Second

func (p *brokerProbe) check(ctx context.Context, brokers []string, conn kafkaconn.Config) error {
	p.mu.Lock()
	if time.Since(p.at) < probeTTL || p.busy {
		err := p.err
		p.mu.Unlock()
		return err
	}
	p.busy = true
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := conn.Probe(ctx, brokers)
	if err != nil {
		err = fmt.Errorf("brokers %s unreachable: %w", strings.Join(brokers, ","), err)
	}
	p.mu.Lock()
	p.at, p.err, p.busy = time.Now(), err, false
	p.mu.Unlock()
	return err
}

// Ready says why the gate cannot take traffic, or nil: the model is loaded
// and, for a Kafka gate, the brokers answer, the consumer group is joined
// and this member owns at least one partition. (A replica beyond the
// partition count is never ready: scale replicas to at most the input
// partitions, as KEDA's Kafka scaler does by default.)
func (g *Wired) Ready(ctx context.Context) error {
	if g.model == nil {
		return errors.New("model not loaded")
	}
	if g.kafka == nil {
		return nil
	}
	if err := g.probe.check(ctx, g.brokers, g.conn); err != nil {
		return err
	}
	joined, parts := g.kafka.Status()
	switch {
	case !joined:
		return errors.New("consumer group not joined")
	case parts == 0:
		return errors.New("no partitions assigned")
	}
	return nil
}

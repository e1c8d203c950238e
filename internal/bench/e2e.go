package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/qegate/qegate/internal/demo"
	"github.com/qegate/qegate/internal/qe"
)

// endToEnd is stage 3: the same pairs end to end through the in-process
// Kafka broker, bracketed by raw scorer runs. A failed run is reported in
// the result, not as an error.
func (m *measurement) endToEnd() error {
	m.progress("end to end through kfake: %d pairs, bracketed by raw scorer runs", len(m.pairs))
	before, err := m.ref(m.pairs)
	if err != nil {
		return err
	}
	e2e, secs, err := measureE2E(m.ctx, m.modelDir, m.pairs, m.o.Partitions)
	if err != nil {
		m.res.E2EError = err.Error()
		m.progress("e2e failed: %v", err)
	}
	after, err2 := m.ref(m.pairs)
	if err2 != nil {
		return err2
	}
	if err == nil {
		res := m.res
		res.E2EPairsPerS, res.E2ESeconds, res.E2EPairs = e2e, secs, len(m.pairs)
		res.E2ERawPairsPerS = (before.PairsPerS + after.PairsPerS) / 2
		res.E2EVsRaw = e2e / res.E2ERawPairsPerS
		m.progress("e2e %.1f pairs/s, raw alongside %.1f pairs/s", e2e, res.E2ERawPairsPerS)
	}
	return nil
}

// measureE2E runs the demo's whole gate (in-process kfake broker, the
// gate's default configuration) over exactly these pairs, no malformed ones.
func measureE2E(ctx context.Context, modelDir string, pairs []qe.Pair, partitions int) (float64, float64, error) {
	msgs := make([]demo.Message, len(pairs))
	for i, p := range pairs {
		id := fmt.Sprintf("b%d", i)
		v, _ := json.Marshal(map[string]string{"id": id, "src": p.Src, "mt": p.MT, "src_lang": p.SrcLang, "tgt_lang": p.TgtLang})
		msgs[i] = demo.Message{Key: id, Value: v, LangPair: p.LangPair()}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sum, err := demo.Run(ctx, log, msgs, "bench", modelDir, partitions, 10*time.Minute)
	if err != nil {
		return 0, 0, err
	}
	return sum.PairsPerS, sum.Seconds, nil
}

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qegate/qegate/internal/qe"
)

// routed pairs a record with the item it came from.
type routed struct {
	it  *Item
	rec qe.Record
	// res is the model's verdict; scored is false for dead letters and
	// rule rejections.
	res    qe.Result
	scored bool
	// rule is the prefilter rule that rejected the pair, if one did.
	rule string
	// valueDropped marks a dead letter re-sent without its value, because
	// the dead-letter topic refused it (too large) even on its own.
	valueDropped bool
	// keyDropped marks a dead letter re-sent without key and headers too.
	keyDropped bool
}

// score labels the valid items and routes every item. ok is false only on
// a hard stop.
func (e *Engine) score(ctx context.Context, items []*Item) ([]routed, bool) {
	outs := make([]routed, len(items))
	var valid []int
	for i, it := range items {
		if it.Err != nil {
			outs[i] = routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}
			continue
		}
		if e.Prefilter != nil {
			p := it.Pair
			if v := e.Prefilter.Check(p.Src, p.MT, p.SrcLang, p.TgtLang); !v.Passed() {
				rec, err := e.router.RuleRejected(it, v)
				if err != nil {
					it.Err = &InputError{"rule verdict: " + err.Error()}
					outs[i] = routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}
					continue
				}
				outs[i] = routed{it: it, rec: rec, rule: v.Rule}
				continue
			}
		}
		valid = append(valid, i)
	}
	if len(valid) == 0 {
		return outs, true
	}
	pairs := make([]qe.Pair, len(valid))
	for j, i := range valid {
		pairs[j] = items[i].Pair
	}
	e.metrics.BatchSize.Observe(float64(len(pairs)))
	start := time.Now()
	res, err := e.scorer.Score(ctx, pairs)
	e.metrics.ScoreTime.Observe(time.Since(start).Seconds())
	if err == nil && len(res) != len(pairs) {
		err = fmt.Errorf("scorer returned %d results for %d pairs", len(res), len(pairs))
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, false
		}
		// One bad pair must not sink its batch-mates: score one by one and
		// dead-letter only the pairs that still fail.
		e.log.Warn("batch scoring failed; retrying pair by pair", "pairs", len(pairs), "err", err)
		res = make([]qe.Result, len(pairs))
		for j := range pairs {
			r, err := e.scorer.Score(ctx, pairs[j:j+1])
			if err == nil && len(r) != 1 {
				err = errors.New("scorer returned no result")
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil, false
				}
				it := items[valid[j]]
				it.Err = &InputError{"scoring failed: " + qe.Reason(err)}
				outs[valid[j]] = routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}
				valid[j] = -1
				continue
			}
			res[j] = r[0]
		}
	}
	for j, i := range valid {
		if i < 0 {
			continue
		}
		it := items[i]
		_, rec, err := e.router.Scored(it, res[j])
		if err != nil {
			it.Err = &InputError{"scoring failed: " + err.Error()}
			outs[i] = routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}
			continue
		}
		outs[i] = routed{it: it, rec: rec, res: res[j], scored: true}
	}
	return outs, true
}

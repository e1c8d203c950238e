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
// a hard stop. An item of several sentences is scored as its aligned
// sentence pieces, all in the one scorer call with the rest of the batch
// (SegmentConfig); an item of one sentence as itself.
func (e *Engine) score(ctx context.Context, items []*Item) ([]routed, bool) {
	outs := make([]routed, len(items))
	// job is a valid item and where its pieces are in pairs.
	type job struct {
		i, lo int
		ps    pieces
	}
	var jobs []job
	var pairs []qe.Pair
	for i, it := range items {
		if it.Err != nil {
			outs[i] = routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}
			continue
		}
		ps, err := e.segments.split(it.Pair)
		if err != nil {
			it.Err = err
			outs[i] = routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}
			continue
		}
		if o, rejected := e.prefilter(it, ps); rejected {
			outs[i] = o
			continue
		}
		jobs = append(jobs, job{i: i, lo: len(pairs), ps: ps})
		pairs = append(pairs, ps.pairs...)
	}
	if len(jobs) == 0 {
		return outs, true
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
		// One bad pair must not sink its batch-mates: score item by item
		// (an item's pieces together) and dead-letter only the items that
		// still fail.
		e.log.Warn("batch scoring failed; retrying item by item", "pairs", len(pairs), "err", err)
		res = make([]qe.Result, len(pairs))
		for n, j := range jobs {
			r, err := e.scorer.Score(ctx, j.ps.pairs)
			if err == nil && len(r) != len(j.ps.pairs) {
				err = errors.New("scorer returned no result")
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil, false
				}
				it := items[j.i]
				it.Err = &InputError{"scoring failed: " + qe.Reason(err)}
				outs[j.i] = routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}
				jobs[n].i = -1
				continue
			}
			copy(res[j.lo:], r)
		}
	}
	for _, j := range jobs {
		if j.i < 0 {
			continue
		}
		it := items[j.i]
		r := j.ps.combine(res[j.lo : j.lo+len(j.ps.pairs)])
		_, rec, err := e.router.Scored(it, r)
		if err != nil {
			it.Err = &InputError{"scoring failed: " + err.Error()}
			outs[j.i] = routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}
			continue
		}
		outs[j.i] = routed{it: it, rec: rec, res: r, scored: true}
	}
	return outs, true
}

// prefilter runs the rule prefilter on each piece of an item; the first
// piece a rule rejects rejects the item, and rejected is then true.
func (e *Engine) prefilter(it *Item, ps pieces) (o routed, rejected bool) {
	if e.Prefilter == nil {
		return routed{}, false
	}
	for k, p := range ps.pairs {
		v := e.Prefilter.Check(p.Src, p.MT, p.SrcLang, p.TgtLang)
		if v.Passed() {
			continue
		}
		var at Piece
		if !ps.whole {
			at = Piece{Segments: len(ps.pairs), Index: k, Truncated: ps.truncated}
		}
		rec, err := e.router.RuleRejected(it, v, at)
		if err != nil {
			it.Err = &InputError{"rule verdict: " + err.Error()}
			return routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}, true
		}
		return routed{it: it, rec: rec, rule: v.Rule}, true
	}
	return routed{}, false
}

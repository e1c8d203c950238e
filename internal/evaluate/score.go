package evaluate

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Scorer scores rows. It returns, for each row in order, every model output after
// its transform, in manifest order (as qe.Result.Outputs). It must be safe for
// concurrent calls when ScoreOptions.Workers > 1.
type Scorer interface {
	Score(ctx context.Context, rows []Row) ([][]float32, error)
}

// Measurer is optionally implemented by a Scorer that can tell how long each row
// is in model tokens; ScoreRows then groups rows by that length instead of by
// text bytes, which pads less across scripts. A row it cannot measure gets -1.
type Measurer interface {
	Lengths(rows []Row) []int
}

// ScoreOptions tunes ScoreRows.
type ScoreOptions struct {
	// BatchSize is the number of rows per Score call (default 32).
	BatchSize int
	// Workers is the number of concurrent Score calls (default runtime.NumCPU()).
	Workers int
}

// Scored is the outcome of ScoreRows: per-row outputs (nil where scoring failed),
// rows that could not be scored, and the wall time spent.
type Scored struct {
	Outputs [][]float32
	BadRows []BadRow
	Elapsed time.Duration
}

// PairsPerSecond is the scoring rate over the rows that were scored.
func (s *Scored) PairsPerSecond() float64 {
	n := 0
	for _, o := range s.Outputs {
		if o != nil {
			n++
		}
	}
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(n) / s.Elapsed.Seconds()
}

// ScoreRows scores all rows in batches of one language pair and similar length
// (sorted by token count when s is a Measurer, else by text bytes, so that a batch
// pads little) with several concurrent workers. When a batch fails, its rows are
// retried one at a time so that a single bad row only costs itself; those rows
// are reported as bad rows. A canceled context stops scoring
// and is returned as an error.
func ScoreRows(ctx context.Context, s Scorer, rows []Row, opt ScoreOptions) (*Scored, error) {
	bs := opt.BatchSize
	if bs <= 0 {
		bs = 32
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	start := time.Now() // measuring lengths (tokenizing) is part of scoring
	// Group rows of similar length so that a batch pads little: token counts when
	// the scorer can give them, else text bytes.
	var lengths []int
	if m, ok := s.(Measurer); ok {
		lengths = m.Lengths(rows)
	}
	if len(lengths) != len(rows) {
		lengths = make([]int, len(rows))
		for i, r := range rows {
			lengths[i] = len(r.Src) + len(r.MT)
		}
	}
	// Batches never mix language pairs, so a pair's scores do not depend on what
	// other files are evaluated with it (int8 models with dynamic quantization
	// scale activations per batch, so neighbours move scores slightly).
	sort.SliceStable(order, func(a, b int) bool {
		ra, rb := &rows[order[a]], &rows[order[b]]
		if lpa, lpb := ra.LangPair(), rb.LangPair(); lpa != lpb {
			return lpa < lpb
		}
		return lengths[order[a]] < lengths[order[b]]
	})
	var batches [][]int
	for i := 0; i < len(order); {
		j := i + 1
		for j < len(order) && j-i < bs && rows[order[j]].LangPair() == rows[order[i]].LangPair() {
			j++
		}
		batches = append(batches, order[i:j])
		i = j
	}

	res := &Scored{Outputs: make([][]float32, len(rows))}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan []int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idx := range work {
				bad, err := scoreBatch(ctx, s, rows, idx, res.Outputs)
				mu.Lock()
				res.BadRows = append(res.BadRows, bad...)
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, b := range batches {
		select {
		case work <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	res.Elapsed = time.Since(start)
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, fmt.Errorf("score rows: %w", firstErr)
	}
	sort.Slice(res.BadRows, func(a, b int) bool {
		if res.BadRows[a].File != res.BadRows[b].File {
			return res.BadRows[a].File < res.BadRows[b].File
		}
		return res.BadRows[a].Line < res.BadRows[b].Line
	})
	return res, nil
}

// scoreBatch scores rows[idx...] into out. It returns per-row failures as bad rows,
// and an error only for a failure that is not about particular rows (context
// canceled, or every row of the batch failing on its own too).
func scoreBatch(ctx context.Context, s Scorer, rows []Row, idx []int, out [][]float32) ([]BadRow, error) {
	batch := make([]Row, len(idx))
	for i, j := range idx {
		batch[i] = rows[j]
	}
	got, err := s.Score(ctx, batch)
	if err == nil && len(got) == len(batch) {
		for i, j := range idx {
			out[j] = got[i]
		}
		return nil, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err == nil {
		err = fmt.Errorf("scorer returned %d results for %d rows", len(got), len(batch))
	}
	if len(idx) == 1 {
		r := rows[idx[0]]
		return []BadRow{{File: r.File, Line: r.Line, Reason: "score: " + err.Error()}}, nil
	}
	// Retry one by one to isolate the rows at fault.
	var bad []BadRow
	var lastErr error
	for _, j := range idx {
		b, err := scoreBatch(ctx, s, rows, []int{j}, out)
		if err != nil {
			return bad, err
		}
		if len(b) > 0 {
			lastErr = errors.New(b[0].Reason)
		}
		bad = append(bad, b...)
	}
	if len(bad) == len(idx) {
		// Nothing in the batch scores: the scorer itself is broken.
		return bad, fmt.Errorf("every row of a batch failed: %w", lastErr)
	}
	return bad, nil
}

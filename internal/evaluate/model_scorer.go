package evaluate

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/scorer"
)

// modelScorer lets a *scorer.Scorer serve Scorer and Measurer.
type modelScorer struct{ s *scorer.Scorer }

func (a modelScorer) Score(ctx context.Context, rows []Row) ([][]float32, error) {
	pairs := make([]qe.Pair, len(rows))
	for i, r := range rows {
		pairs[i] = qe.Pair{Src: r.Src, MT: r.MT, SrcLang: r.SrcLang, TgtLang: r.TgtLang}
	}
	res, err := a.s.Score(ctx, pairs)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(res))
	for i, r := range res {
		out[i] = r.Outputs
	}
	return out, nil
}

// Lengths returns each row's encoded length in tokens (special tokens included,
// after truncation), so that ScoreRows batches rows of equal length;
// -1 for a row that does not encode (scoring will report it).
func (a modelScorer) Lengths(rows []Row) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		b, err := a.s.Encode([]qe.Pair{{Src: r.Src, MT: r.MT, SrcLang: r.SrcLang, TgtLang: r.TgtLang}})
		if err != nil || b.Len() != 1 {
			out[i] = -1
			continue
		}
		out[i] = len(b.TokenIDs(0))
	}
	return out
}

// ScoredData is labelled data read from disk and scored by a model.
type ScoredData struct {
	Data   *Data
	Model  *ManifestView
	Scored *Scored
	// Bad holds read and scoring failures, in that order.
	Bad []BadRow
	// Critical is true for critical-error data (rows labelled ERR/NOT):
	// evaluate it with EvaluateCritical, not Evaluate.
	Critical bool
}

// ModelOptions say which labelled data to score with which model and how:
// the flags eval and calibrate share.
type ModelOptions struct {
	// Data is an MLQE-PE .tsv, a .jsonl, or a directory of them.
	Data string
	// Model is the model directory; empty: scorer.ModelDir resolves it.
	Model string
	// Batch is rows per ONNX Runtime run; 0 or 1 scores each pair alone,
	// as the gate does.
	Batch int
	// Sessions and Threads size ONNX Runtime; both zero means one
	// single-threaded session per core.
	Sessions, Threads int
}

// ReadAndScore reads o.Data, reports bad rows on stderr, and scores the
// rest with the model.
func ReadAndScore(ctx context.Context, o ModelOptions, stderr io.Writer) (*ScoredData, error) {
	data, err := ReadPath(o.Data)
	if err != nil {
		return nil, err
	}
	for _, b := range data.BadRows {
		fmt.Fprintln(stderr, b.String())
	}
	if len(data.Rows) == 0 {
		return nil, fmt.Errorf("no usable rows in %s (%d bad)", o.Data, len(data.BadRows))
	}
	dir, err := scorer.ModelDir(o.Model)
	if err != nil {
		return nil, fmt.Errorf("no model: pass --model or set $%s", native.EnvModelDir)
	}
	sessions, threads := o.Sessions, o.Threads
	if sessions == 0 && threads == 0 {
		// Single-row-latency defaults do not suit bulk scoring: one
		// single-threaded session per core keeps every core busy.
		sessions, threads = runtime.NumCPU(), 1
	}
	s, err := scorer.New(scorer.Config{ModelDir: dir, Sessions: sessions, IntraOpThreads: threads, MaxBatch: max(o.Batch, 1)})
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	defer s.Close()
	info := FromManifest(s.Manifest())
	critical, err := CheckCriticalData(info, data.Rows)
	if err != nil { // before scoring: the answer does not depend on it
		return nil, err
	}
	sessions, _ = s.PoolSize()
	scored, err := ScoreRows(ctx, modelScorer{s}, data.Rows, ScoreOptions{BatchSize: o.Batch, Workers: sessions + 1})
	if err != nil {
		return nil, err
	}
	for _, b := range scored.BadRows {
		fmt.Fprintln(stderr, b.String())
	}
	bad := append(append([]BadRow{}, data.BadRows...), scored.BadRows...)
	return &ScoredData{Data: data, Model: info, Scored: scored, Bad: bad, Critical: critical}, nil
}

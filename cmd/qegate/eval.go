package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/evaluate"
	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/scorer"
)

func init() { rootCmd.AddCommand(newEvalCmd()) }

// scoreFlags are the model and throughput flags that eval and calibrate share.
type scoreFlags struct {
	data     string
	model    string
	batch    int
	sessions int
	threads  int
}

func (f *scoreFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.data, "data", "", "labelled data: an MLQE-PE .tsv (pair from the file name, e.g. en-de.tsv), a .jsonl, or a directory of them (required)")
	cmd.Flags().StringVar(&f.model, "model", "", "model directory (default: $QEGATE_MODEL_DIR, the built-in path, or models/default)")
	cmd.Flags().IntVar(&f.batch, "batch", 1, "rows per ONNX Runtime run; 1 (default) scores each pair alone, as the gate does, so int8 scores do not depend on batch-mates")
	cmd.Flags().IntVar(&f.sessions, "sessions", 0, "ONNX Runtime sessions (0: one per CPU core)")
	cmd.Flags().IntVar(&f.threads, "threads", 0, "intra-op threads per session (0: cores / sessions)")
	_ = cmd.MarkFlagRequired("data") // the flag exists, so this cannot fail
}

// scorerAdapter lets a *scorer.Scorer serve evaluate.Scorer.
type scorerAdapter struct{ s *scorer.Scorer }

func (a scorerAdapter) Score(ctx context.Context, rows []evaluate.Row) ([][]float32, error) {
	pairs := make([]scorer.Pair, len(rows))
	for i, r := range rows {
		pairs[i] = scorer.Pair{Src: r.Src, MT: r.MT, SrcLang: r.SrcLang, TgtLang: r.TgtLang}
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
// after truncation), so that evaluate.ScoreRows batches rows of equal length;
// -1 for a row that does not encode (scoring will report it).
func (a scorerAdapter) Lengths(rows []evaluate.Row) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		b, err := a.s.Encode([]scorer.Pair{{Src: r.Src, MT: r.MT, SrcLang: r.SrcLang, TgtLang: r.TgtLang}})
		if err != nil || b.Len() != 1 {
			out[i] = -1
			continue
		}
		out[i] = len(b.TokenIDs(0))
	}
	return out
}

// modelInfo converts the scorer's manifest into what evaluate needs.
func modelInfo(m *scorer.Manifest) *evaluate.ModelInfo {
	info := &evaluate.ModelInfo{Dir: m.Dir, Name: m.Name, Version: m.Version, DefaultOutput: m.DefaultOutput}
	for _, o := range m.Outputs {
		info.Outputs = append(info.Outputs, evaluate.Output{
			Name: o.Name, Index: o.Index, Kind: o.Kind, Transform: o.Transform, Label: o.Label,
			DAThreshold: o.DAThreshold, DefaultThreshold: o.DefaultThreshold, Thresholds: o.Thresholds,
		})
	}
	return info
}

// scoredData is labelled data read from disk and scored by a model.
type scoredData struct {
	data   *evaluate.Data
	info   *evaluate.ModelInfo
	scored *evaluate.Scored
	bad    []evaluate.BadRow // read and scoring failures, in that order
}

// readAndScore reads --data, reports bad rows on stderr, and scores the rest.
func readAndScore(ctx context.Context, f *scoreFlags, stderr io.Writer) (*scoredData, error) {
	data, err := evaluate.ReadPath(f.data)
	if err != nil {
		return nil, err
	}
	for _, b := range data.BadRows {
		fmt.Fprintln(stderr, b.String())
	}
	if len(data.Rows) == 0 {
		return nil, fmt.Errorf("no usable rows in %s (%d bad)", f.data, len(data.BadRows))
	}
	dir := f.model
	if dir == "" {
		dir = native.DefaultModelDir()
		if dir == "" {
			return nil, fmt.Errorf("no model: pass --model or set $%s", native.EnvModelDir)
		}
	}
	sessions, threads := f.sessions, f.threads
	if sessions == 0 && threads == 0 {
		// Single-row-latency defaults do not suit bulk scoring: one
		// single-threaded session per core keeps every core busy.
		sessions, threads = runtime.NumCPU(), 1
	}
	s, err := scorer.New(scorer.Config{ModelDir: dir, Sessions: sessions, IntraOpThreads: threads, MaxBatch: max(f.batch, 1)})
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	defer s.Close()
	sessions, _ = s.PoolSize()
	scored, err := evaluate.ScoreRows(ctx, scorerAdapter{s}, data.Rows, evaluate.ScoreOptions{BatchSize: f.batch, Workers: sessions + 1})
	if err != nil {
		return nil, err
	}
	for _, b := range scored.BadRows {
		fmt.Fprintln(stderr, b.String())
	}
	bad := append(append([]evaluate.BadRow{}, data.BadRows...), scored.BadRows...)
	return &scoredData{data: data, info: modelInfo(s.Manifest()), scored: scored, bad: bad}, nil
}

func newEvalCmd() *cobra.Command {
	var (
		f       scoreFlags
		asJSON  bool
		plotDir string
	)
	cmd := &cobra.Command{
		Use:   "eval --data PATH [--model DIR] [--json] [--plot DIR]",
		Short: "Score labelled data and report Pearson/Spearman and F1/MCC at DA >= 51 and >= 70 per language pair",
		Long: `eval scores labelled pairs with the model and reports, per language pair and
macro-averaged over pairs: n; Pearson and Spearman of the regression output (else
the decision output) against z_mean (else DA); and at DA >= 51 and >= 70 the F1 of
the acceptable class, macro-F1, precision, recall, MCC and the threshold used, with
the classification output trained for that cut (else the decision output).

Data: MLQE-PE TSV files (columns original, translation, mean, z_mean by header
name; the language pair comes from the file name, e.g. en-de.tsv) or JSONL with
src, mt, src_lang, tgt_lang and labels da (0-100), z and/or acceptable (bool).
Bad rows are reported on stderr as file:line: reason and skipped.

--json prints one object; its keys are documented in docs/EVAL.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			sd, err := readAndScore(ctx, &f, cmd.ErrOrStderr())
			if err != nil {
				return fmt.Errorf("eval: %w", err)
			}
			rep := evaluate.Evaluate(sd.info, sd.data.Rows, sd.scored.Outputs)
			rep.PairsPerS = evaluate.Metric(sd.scored.PairsPerSecond())
			rep.BadRows = sd.bad
			rep.SkippedRows = len(sd.bad)
			rep.Notes = append(append([]string{}, sd.data.Notes...), rep.Notes...)
			if plotDir != "" {
				files, err := evaluate.Plot(plotDir, sd.info, sd.data.Rows, sd.scored.Outputs)
				if err != nil {
					return fmt.Errorf("eval: %w", err)
				}
				rep.Notes = append(rep.Notes, fmt.Sprintf("wrote %d plots to %s", len(files), plotDir))
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return fmt.Errorf("eval: write json: %w", err)
				}
				return nil
			}
			if err := evaluate.WriteText(out, rep); err != nil {
				return fmt.Errorf("eval: %w", err)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (keys in docs/EVAL.md)")
	cmd.Flags().StringVar(&plotDir, "plot", "", "write per-pair PNGs (predicted vs gold, precision-recall) into this directory")
	return cmd
}

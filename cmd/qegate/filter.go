package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/app"
	"github.com/qegate/qegate/internal/progress"
	"github.com/qegate/qegate/scorer"
	"github.com/qegate/qegate/sink"
	"github.com/qegate/qegate/source"
)

func init() { rootCmd.AddCommand(newFilterCmd()) }

// filterFlags are the filter command's options beyond the file source's.
type filterFlags struct {
	out, configPath, modelDir, output string
	columns, shard, compress          string
	progressMode                      string
	progressEvery                     time.Duration
	thresholds                        []string
	review                            float64
	batch                             int
	resume, force, asJSON, critical   bool
	ckLines                           int
	ckEvery                           time.Duration
}

// newFilterCmd is the batch counterpart of run: the same decoder, engine,
// router and two-step shutdown over files, for cleaning mined parallel
// corpora and backfills.
func newFilterCmd() *cobra.Command {
	var (
		ff filterFlags
		in source.FileConfig
	)
	cmd := &cobra.Command{
		Use:   "filter FILE...",
		Short: "Gate files of pairs (JSONL or TSV, plain, gzip or zstd; - is stdin) into accepted/rejected/critical/review/dead_letter and annotated JSONL, in input order, resumable",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFilter(cmd, ff, in, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&ff.out, "out", "o", "qegate-out", "output directory (accepted, rejected, critical, review, dead_letter and annotated .jsonl, plus a checkpoint); - writes the annotated stream to stdout")
	f.StringVarP(&ff.configPath, "config", "c", "", "config file for the model, input and pipeline sections (default: built-in defaults and QEGATE_* env)")
	f.StringVar(&ff.modelDir, "model", "", "model directory (default: the configured or shipped default model)")
	f.StringVar(&ff.output, "output", "", "decision output (e.g. da51, da70; default: the model's)")
	f.StringArrayVar(&ff.thresholds, "threshold", nil, "per language pair threshold override, lp=value (en-de=0.6, default=0.5); repeatable; on top of model.thresholds")
	f.StringVar(&in.Format, "format", "", "input format: jsonl or tsv (default: by extension, .tsv/.txt are TSV, .jsonl JSONL, else by the first line)")
	f.StringVar(&ff.columns, "columns", "", "TSV column names in order: src and mt are the pair, other names become fields, - drops a column (e.g. src,mt,-,score); default: a header naming original/translation, else src,mt,col3,...")
	f.StringVar(&in.SrcLang, "src-lang", "", "source language of TSV input (default: from a file name like en-de.tsv)")
	f.StringVar(&in.TgtLang, "tgt-lang", "", "target language of TSV input")
	f.IntVar(&in.MaxLineBytes, "max-line-bytes", 0, "dead-letter longer lines (default: input.max_message_bytes, 1 MiB)")
	f.StringVar(&ff.shard, "shard", "", "read only shard i of N (i/N, 0-based): line g of the input is read when g % N == i; N machines split one corpus without coordination")
	f.StringVar(&ff.compress, "compress", "", "compress the outputs once complete: gzip or zstd (inputs are detected by magic bytes)")
	f.BoolVar(&ff.resume, "resume", false, "continue an interrupted run in the output directory from its checkpoint")
	f.BoolVar(&ff.force, "force", false, "replace earlier outputs in a non-empty output directory")
	f.Float64Var(&ff.review, "review-margin", 0, "send scores within this margin of the threshold to review.jsonl")
	f.BoolVar(&ff.critical, "critical", false, "write pairs the model flags as critical errors to critical.jsonl (default: rejected.jsonl, with the reason); needs a model with a critical output")
	f.IntVar(&ff.batch, "batch", 0, "pairs per scorer call (default: pipeline.batch_size)")
	f.StringVar(&ff.progressMode, "progress", "auto", "progress: auto (a bar on a terminal, else plain lines), bar, plain or none; on stderr")
	f.DurationVar(&ff.progressEvery, "progress-interval", 10*time.Second, "how often a plain progress line is written")
	f.BoolVar(&ff.asJSON, "json", false, "print the final summary as one JSON object")
	f.IntVar(&ff.ckLines, "checkpoint-lines", 0, "checkpoint after this many lines (default 10000)")
	f.DurationVar(&ff.ckEvery, "checkpoint-interval", 0, "checkpoint at least this often (default 5s)")
	return cmd
}

// parseThresholds turns lp=value flags into a threshold map.
func parseThresholds(flags []string, into map[string]float64) error {
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || k == "" || err != nil || f < 0 || f > 1 {
			return fmt.Errorf("--threshold %q: want lp=value with value in [0,1], e.g. en-de=0.6 or default=0.5", kv)
		}
		into[strings.ToLower(k)] = f
	}
	return nil
}

func runFilter(cmd *cobra.Command, ff filterFlags, in source.FileConfig, args []string) error {
	var (
		fp       string
		runCtx   context.Context
		rep      *progress.Reporter
		complete bool
		report   = cmd.OutOrStdout()
	)
	if ff.out == "-" {
		report = cmd.ErrOrStderr() // stdout carries the data
	}
	return gateCmd[*scorer.Scorer]{
		configPath: ff.configPath,
		configure: func(cfg *app.Config) error {
			if ff.modelDir != "" {
				cfg.Model.ModelDir = ff.modelDir
			}
			if ff.output != "" {
				cfg.Model.Output = ff.output
			}
			if ff.batch > 0 {
				cfg.Pipeline.BatchSize = ff.batch
			}
			if cfg.Model.ThresholdOverrides == nil {
				cfg.Model.ThresholdOverrides = map[string]float64{}
			}
			if err := parseThresholds(ff.thresholds, cfg.Model.ThresholdOverrides); err != nil {
				return err
			}
			if err := progress.ParseMode(ff.progressMode); err != nil {
				return err
			}
			if ff.resume && ff.force {
				return fmt.Errorf("filter: --resume and --force exclude each other")
			}
			if ff.shard != "" {
				var err error
				if in.Shard, err = source.ParseShard(ff.shard); err != nil {
					return err
				}
			}
			if ff.columns != "" {
				in.Columns = strings.Split(ff.columns, ",")
			}
			in.Paths = args
			cfg.Routes = app.FileRoutes(ff.review, ff.critical)
			return nil
		},
		open: func(cfg *app.Config, _ *slog.Logger) (*scorer.Scorer, error) { return app.OpenScorer(cfg.Model) },
		prepare: func(stop context.Context, cfg *app.Config, sc *scorer.Scorer, log *slog.Logger) (context.Context, app.Options, error) {
			if _, ok := sc.CriticalOutput(); ff.critical && !ok {
				return nil, app.Options{}, fmt.Errorf("filter: --critical: model %s has no critical-error output", sc.Model().Tag())
			}
			var err error
			if fp, err = app.FilterFingerprint(cfg, sc, in, ff.compress); err != nil {
				return nil, app.Options{}, err
			}
			// A fatal write error stops reading at once; runCtx is the
			// gate's stop (cancelled with stop when the command ends).
			var stopRun context.CancelCauseFunc
			runCtx, stopRun = context.WithCancelCause(stop)
			outCfg := sink.OrderedConfig{
				Dir: ff.out, Resume: ff.resume, Force: ff.force, Fingerprint: fp, Inputs: args, Compress: ff.compress,
				CheckpointLines: ff.ckLines, CheckpointInterval: ff.ckEvery,
				Stdout:  cmd.OutOrStdout(),
				OnFatal: func(err error) { stopRun(err) },
			}
			return runCtx, app.Options{Log: log, Files: &app.FileOptions{Input: in, Output: outCfg}}, nil
		},
		start: func(_ context.Context, _ *app.Config, _ *scorer.Scorer, g *app.Wired, log *slog.Logger) (func(), error) {
			if g.Out.Resumed() {
				log.Info("resuming from the checkpoint", "file", g.Start.File, "line", g.Start.Line, "lines_written", g.Start.Seq)
			}
			total := inputBytes(args)
			rep = progress.Start(progress.Options{Out: cmd.ErrOrStderr(), Mode: ff.progressMode, Interval: ff.progressEvery, Label: "filter", Bytes: true},
				func() progress.Sample {
					return progress.Sample{Items: g.Out.Written(), Pos: g.Files.BytesRead(), Total: total}
				})
			return nil, nil
		},
		ran: func(o gateOutcome) {
			g := o.Gate
			fed := int64(g.Files.Fed())
			complete = o.RunErr == nil && runCtx.Err() == nil && g.Files.Complete() && g.Out.Err() == nil &&
				g.Out.Written() == g.Start.Seq+fed
			if complete {
				g.Out.MarkComplete()
			}
		},
		finish: func(o gateOutcome) error {
			g, res, runErr, closeErr := o.Gate, o.Report, o.RunErr, o.CloseErr
			if g.AlreadyComplete {
				return printFilterSummary(report, ff, g.Out.Summary(), 0, true, true)
			}
			rep.Stop()
			sum := g.Out.Summary()
			if perr := printFilterSummary(report, ff, sum, res.Elapsed, g.Out.Resumed(), complete && closeErr == nil); perr != nil && runErr == nil {
				runErr = perr
			}
			switch {
			case g.Out.Err() != nil:
				return fmt.Errorf("filter: %w; every output ends with a whole line; %s", g.Out.Err(), resumeHint(ff))
			case runErr != nil:
				return fmt.Errorf("filter: %w; %s", runErr, resumeHint(ff))
			case closeErr != nil:
				return fmt.Errorf("filter: %w; %s", closeErr, resumeHint(ff))
			case o.Stop.Err() != nil:
				return fmt.Errorf("filter: interrupted after %d lines (%d left unwritten, not checkpointed); %s", sum.Lines, res.Dropped, resumeHint(ff))
			case !complete:
				return fmt.Errorf("filter: wrote %d of %d lines; %s", g.Out.Written()-g.Start.Seq, int64(g.Files.Fed()), resumeHint(ff))
			}
			return nil
		},
	}.execute(cmd.Context())
}

func resumeHint(ff filterFlags) string {
	if ff.out == "-" {
		return "standard output cannot be resumed: rerun with -o DIR for a resumable run"
	}
	return "rerun the same command with --resume to continue from the checkpoint in " + ff.out
}

// inputBytes sums the sizes of the regular input files; -1 when one is
// standard input or not a regular file (no percentage, no ETA).
func inputBytes(paths []string) int64 {
	var n int64
	for _, p := range paths {
		st, err := os.Stat(p)
		if p == "-" || err != nil || !st.Mode().IsRegular() {
			return -1
		}
		n += st.Size()
	}
	return n
}

// printFilterSummary writes the final counts per route and language pair
// with score histograms, as text or one JSON object.
func printFilterSummary(w io.Writer, ff filterFlags, s sink.Summary, elapsed time.Duration, resumed, complete bool) error {
	if ff.asJSON {
		obj := map[string]any{
			"out": ff.out, "lines": s.Lines, "routes": s.Routes, "histogram": s.Histogram, "by_lang_pair": s.ByLangPair,
			"elapsed_s": elapsed.Seconds(), "resumed": resumed, "complete": complete,
		}
		enc := json.NewEncoder(w)
		return enc.Encode(obj)
	}
	state := "complete"
	if !complete {
		state = "incomplete"
	}
	if resumed {
		state += ", resumed"
	}
	fmt.Fprintf(w, "%d lines (%s) -> %s", s.Lines, state, ff.out)
	if elapsed > 0 {
		fmt.Fprintf(w, " in %.1fs", elapsed.Seconds())
	}
	fmt.Fprintf(w, ": accepted %d, rejected %d, critical %d, review %d, dead letter %d\n",
		s.Routes["accepted"], s.Routes["rejected"], s.Routes["critical"], s.Routes["review"], s.Routes["dead_letter"])
	lps := make([]string, 0, len(s.ByLangPair))
	for lp := range s.ByLangPair {
		lps = append(lps, lp)
	}
	sort.Strings(lps)
	fmt.Fprintf(w, "%-10s %9s %9s %9s %9s %11s  score histogram [0,0.1) ... [0.9,1]\n", "lang pair", "accepted", "rejected", "critical", "review", "dead letter")
	row := func(name string, r map[string]int64, hist any) {
		fmt.Fprintf(w, "%-10s %9d %9d %9d %9d %11d  %v\n", name, r["accepted"], r["rejected"], r["critical"], r["review"], r["dead_letter"], hist)
	}
	for _, lp := range lps {
		l := s.ByLangPair[lp]
		row(lp, l.Routes, l.Histogram)
	}
	row("all", s.Routes, s.Histogram)
	return nil
}

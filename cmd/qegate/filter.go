package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/app"
	"github.com/qegate/qegate/source"
)

func init() { rootCmd.AddCommand(newFilterCmd()) }

// newFilterCmd is the batch counterpart of run: the same decoder, engine,
// router and two-step shutdown over files, for cleaning mined parallel
// corpora and backfills.
func newFilterCmd() *cobra.Command {
	var (
		out, configPath string
		in              source.FileConfig
		review          float64
		batch           int
		modelDir        string
		output          string
	)
	cmd := &cobra.Command{
		Use:   "filter FILE...",
		Short: "Gate files of pairs (JSONL per the message contract, or TSV src<TAB>mt) into accepted/rejected/review/dead_letter JSONL files",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := app.Load(configPath)
			if err != nil {
				return err
			}
			if modelDir != "" {
				cfg.Model.ModelDir = modelDir
			}
			if output != "" {
				cfg.Model.Output = output
			}
			if batch > 0 {
				cfg.Pipeline.BatchSize = batch
			}
			cfg.Routes = app.FileRoutes(review)
			log := cfg.Logger()
			stop, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			sc, err := app.OpenScorer(cfg.Model)
			if err != nil {
				return err
			}
			defer sc.Close()
			in.Paths = args
			g, err := app.Build(stop, cfg, sc, app.Options{Log: log, Files: &app.FileOptions{Input: in, OutDir: out}})
			if err != nil {
				return err
			}
			rep, runErr := g.Run(stop)
			if err := g.Close(); err != nil && runErr == nil {
				runErr = err
			}
			s := g.Engine.Stats().Snapshot().Total
			fed := g.Files.Fed()
			fmt.Fprintf(cmd.OutOrStdout(), "%d pairs in %.1fs (%.1f pairs/s): accepted %d, rejected %d, review %d, dead letter %d -> %s\n",
				fed, rep.Elapsed.Seconds(), float64(fed)/rep.Elapsed.Seconds(), s.Accepted, s.Rejected, s.Review, s.DeadLetter, out)
			switch {
			case runErr != nil:
				return fmt.Errorf("filter: %w", runErr)
			case stop.Err() != nil:
				return fmt.Errorf("filter: interrupted: %d of %d lines written, %d left unwritten", s.Sum(), fed, rep.Dropped)
			case s.Sum() != int64(fed):
				return fmt.Errorf("filter: routed %d of %d pairs", s.Sum(), fed)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "qegate-out", "output directory (accepted.jsonl, rejected.jsonl, review.jsonl, dead_letter.jsonl)")
	f.StringVarP(&configPath, "config", "c", "", "config file for the model, input and pipeline sections (default: built-in defaults and QEGATE_* env)")
	f.StringVar(&modelDir, "model", "", "model directory (default: the configured or shipped default model)")
	f.StringVar(&output, "output", "", "decision output (e.g. da51, da70; default: the model's)")
	f.StringVar(&in.Format, "format", "", "input format: jsonl or tsv (default: by extension, .tsv/.txt are TSV)")
	f.StringVar(&in.SrcLang, "src-lang", "", "source language of TSV input (default: from a file name like en-de.tsv)")
	f.StringVar(&in.TgtLang, "tgt-lang", "", "target language of TSV input")
	f.Float64Var(&review, "review-margin", 0, "send scores within this margin of the threshold to review.jsonl")
	f.IntVar(&batch, "batch", 0, "pairs per scorer call (default: pipeline.batch_size)")
	return cmd
}

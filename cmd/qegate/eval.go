package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/app"
	"github.com/qegate/qegate/internal/evaluate"
	"github.com/qegate/qegate/pipeline/rules"
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

func (f *scoreFlags) options() evaluate.ModelOptions {
	return evaluate.ModelOptions{Data: f.data, Model: f.model, Batch: f.batch, Sessions: f.sessions, Threads: f.threads}
}

func (f *scoreFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.data, "data", "", "labelled data: an MLQE-PE .tsv (pair from the file name, e.g. en-de.tsv), a .jsonl, or a directory of them (required)")
	cmd.Flags().StringVar(&f.model, "model", "", "model directory (default: $QEGATE_MODEL_DIR, the built-in path, or models/default)")
	cmd.Flags().IntVar(&f.batch, "batch", 1, "rows per ONNX Runtime run; 1 (default) scores each pair alone, as the gate does, so int8 scores do not depend on batch-mates")
	cmd.Flags().IntVar(&f.sessions, "sessions", 0, "ONNX Runtime sessions (0: one per CPU core)")
	cmd.Flags().IntVar(&f.threads, "threads", 0, "intra-op threads per session (0: cores / sessions)")
	_ = cmd.MarkFlagRequired("data") // the flag exists, so this cannot fail
}

func newEvalCmd() *cobra.Command {
	var (
		f          scoreFlags
		asJSON     bool
		plotDir    string
		withRules  bool
		configPath string
	)
	cmd := &cobra.Command{
		Use:   "eval --data PATH [--model DIR] [--json] [--plot DIR]",
		Short: "Score labelled data and report Pearson/Spearman and F1/MCC at DA >= 51 and >= 70 per language pair (or MCC of critical-error detection on WMT21 CED data)",
		Long: `eval scores labelled pairs with the model and reports, per language pair and
macro-averaged over pairs: n; Pearson and Spearman of the regression output (else
the decision output) against z_mean (else DA); and at DA >= 51 and >= 70 the F1 of
the acceptable class, macro-F1, precision, recall, MCC and the threshold used, with
the classification output trained for that cut (else the decision output).

Data: MLQE-PE TSV files (columns original, translation, mean, z_mean by header
name; the language pair comes from the file name, e.g. en-de.tsv) or JSONL with
src, mt, src_lang, tgt_lang and labels da (0-100), z and/or acceptable (bool).
Bad rows are reported on stderr as file:line: reason and skipped.

Critical-error data (WMT21 CED TSV: columns original, translation and label
ERR/NOT, e.g. ../shared/mlqe-pe/ced/dev; or JSONL with a boolean critical)
is evaluated instead against the model's critical output: per language pair
and averaged, MCC (the task's metric) and F1, precision and recall of the
ERR class at the thresholds in model.json. A model without a critical
output is an error.

--json prints one object; its keys are documented in docs/EVAL.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			sd, err := evaluate.ReadAndScore(ctx, f.options(), cmd.ErrOrStderr())
			if err != nil {
				return fmt.Errorf("eval: %w", err)
			}
			if sd.Critical {
				return evalCritical(cmd, sd, asJSON, withRules && cmd.Flags().Changed("rules"), plotDir != "")
			}
			rep := evaluate.Evaluate(sd.Model, sd.Data.Rows, sd.Scored.Outputs)
			rep.PairsPerS = evaluate.Metric(sd.Scored.PairsPerSecond())
			rep.BadRows = sd.Bad
			rep.SkippedRows = len(sd.Bad)
			rep.Notes = append(append([]string{}, sd.Data.Notes...), rep.Notes...)
			if withRules {
				cfg, err := app.Load(configPath)
				if err != nil {
					return err
				}
				checker, err := rules.New(cfg.Rules)
				if err != nil {
					return err
				}
				rep.Rules = evaluate.EvaluateRules(sd.Model, sd.Data.Rows, sd.Scored.Outputs, func(r evaluate.Row) string {
					return checker.Check(r.Src, r.MT, r.SrcLang, r.TgtLang).Rule
				})
			}
			if plotDir != "" {
				files, err := evaluate.Plot(plotDir, sd.Model, sd.Data.Rows, sd.Scored.Outputs)
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
			if rep.Rules != nil {
				if err := evaluate.WriteRulesText(out, rep.Avg, rep.Rules); err != nil {
					return fmt.Errorf("eval: %w", err)
				}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.AddCommand(newEvalParagraphsCmd(), newEvalFailuresCmd())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (keys in docs/EVAL.md)")
	cmd.Flags().BoolVar(&withRules, "rules", true, "also report the rule prefilters' effect (what each rejects, and F1 of rules+model)")
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "config file whose rules section to use (default: built-in defaults)")
	cmd.Flags().StringVar(&plotDir, "plot", "", "write per-pair PNGs (predicted vs gold, precision-recall) into this directory")
	return cmd
}

// evalCritical reports critical-error detection on CED data. The rule
// prefilters and plots measure acceptability, so they are not run here.
func evalCritical(cmd *cobra.Command, sd *evaluate.ScoredData, asJSON, rulesAsked, plotAsked bool) error {
	rep, err := evaluate.EvaluateCritical(sd.Model, sd.Data.Rows, sd.Scored.Outputs)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	rep.PairsPerS = evaluate.Metric(sd.Scored.PairsPerSecond())
	rep.BadRows = sd.Bad
	rep.SkippedRows = len(sd.Bad)
	rep.Notes = append(append([]string{}, sd.Data.Notes...), rep.Notes...)
	if rulesAsked {
		rep.Notes = append(rep.Notes, "--rules ignored: the rule prefilters are measured on DA data")
	}
	if plotAsked {
		rep.Notes = append(rep.Notes, "--plot ignored: plots are drawn for DA data")
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
	if err := evaluate.WriteCriticalText(out, rep); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

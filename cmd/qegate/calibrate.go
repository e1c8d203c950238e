package main

import (
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/evaluate"
)

func init() { rootCmd.AddCommand(newCalibrateCmd()) }

func newCalibrateCmd() *cobra.Command {
	var (
		f      scoreFlags
		goal   string
		output string
		cut    float64
		points int
		write  bool
	)
	cmd := &cobra.Command{
		Use:   "calibrate --data PATH --goal max-f1|precision=P [--output NAME] [--write]",
		Short: "Choose per-language-pair thresholds for a model output on labelled data",
		Long: `calibrate scores labelled data and picks, per language pair, the threshold of
one output (default: the model's default_output) that meets the goal:

  max-f1          the highest F1 of the acceptable class
  precision=P     the lowest threshold whose precision is at least P (the most recall)

Gold labels are DA >= the output's da_threshold (override with --da), or the
acceptable booleans of JSONL data. It prints a precision/recall table per pair;
--write stores the chosen thresholds in the model's model.json (that output's
"thresholds"; pairs not calibrated keep theirs; model.json.bak keeps the old file).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := evaluate.ParseGoal(goal)
			if err != nil {
				return fmt.Errorf("calibrate: %w", err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			sd, err := evaluate.ReadAndScore(ctx, f.options(), cmd.ErrOrStderr())
			if err != nil {
				return fmt.Errorf("calibrate: %w", err)
			}
			info := sd.Model
			name := output
			if name == "" {
				name = info.DefaultOutput
			}
			oi := info.OutputIndex(name)
			if oi < 0 {
				return fmt.Errorf("calibrate: model has no output %q", name)
			}
			o := info.Outputs[oi]
			if o.Kind == "critical" || sd.Critical {
				// Critical thresholds are chosen by the recipe on CED dev by
				// MCC (train/); calibrate fits acceptability on DA labels.
				return fmt.Errorf("calibrate: calibrates acceptability thresholds on DA labels; the critical output's thresholds come from the recipe (chosen on CED dev by MCC)")
			}
			c := cut
			if c == 0 {
				c = evaluate.Cut51
				if o.DAThreshold != nil {
					c = *o.DAThreshold
				}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "model %s %s (%s), output %s, gold DA >= %g, goal %s\n\n", info.Name, info.Version, info.Dir, name, c, g)
			groups := evaluate.Group(sd.Data.Rows, info.Scored(sd.Scored.Outputs))
			lps := make([]string, 0, len(groups))
			for lp := range groups {
				lps = append(lps, lp)
			}
			sort.Strings(lps)
			chosen := map[string]float32{}
			for _, lp := range lps {
				var scores []float32
				var gold []bool
				for _, i := range groups[lp] {
					if a, ok := evaluate.GoldAt(sd.Data.Rows[i], c, c); ok {
						scores = append(scores, sd.Scored.Outputs[i][oi])
						gold = append(gold, a)
					}
				}
				curve := evaluate.Curve(scores, gold)
				ch := evaluate.Choose(g, curve)
				evaluate.WriteTradeoff(out, lp, evaluate.Tradeoff(curve, ch, points), ch)
				cur := o.Threshold(lp)
				cm := evaluate.Count(gold, evaluate.Threshold(f32s(scores), float64(cur)))
				fmt.Fprintf(out, "  current %.4g: precision %.3f recall %.3f f1 %.3f", cur, cm.Precision(), cm.Recall(), cm.F1())
				if ch.OK {
					chosen[lp] = ch.Threshold
					fmt.Fprintf(out, "; chosen %.4g: precision %.3f recall %.3f f1 %.3f (n=%d)\n\n", ch.Threshold, ch.Precision, ch.Recall, ch.F1, len(gold))
				} else {
					fmt.Fprintf(out, "; not calibrated (n=%d)\n\n", len(gold))
				}
			}
			if !write {
				fmt.Fprintln(out, "dry run: pass --write to store these thresholds in model.json")
				return nil
			}
			if len(chosen) == 0 {
				return fmt.Errorf("calibrate: no pair could be calibrated; model.json unchanged")
			}
			if err := evaluate.WriteThresholds(info.Dir, name, chosen); err != nil {
				return fmt.Errorf("calibrate: %w", err)
			}
			fmt.Fprintf(out, "wrote %d thresholds for output %s to %s/model.json (backup model.json.bak)\n", len(chosen), name, info.Dir)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&goal, "goal", "", "max-f1, or precision=P (lowest threshold with precision >= P) (required)")
	cmd.Flags().StringVar(&output, "output", "", "model output to calibrate (default: the model's default_output)")
	cmd.Flags().Float64Var(&cut, "da", 0, "gold label: acceptable when DA >= this (default: the output's da_threshold, else 51)")
	cmd.Flags().IntVar(&points, "points", 10, "rows of the precision/recall table per pair")
	cmd.Flags().BoolVar(&write, "write", false, "store the thresholds in the model's model.json")
	_ = cmd.MarkFlagRequired("goal") // the flag exists, so this cannot fail
	return cmd
}

func f32s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/evaluate"
)

func newEvalFailuresCmd() *cobra.Command {
	var (
		data, out string
		opt       evaluate.FailureOptions
	)
	cmd := &cobra.Command{
		Use:   "failures --data PATH -o DIR [--good-da 70] [--seed 1]",
		Short: "Build the MT-failure evaluation sets: unrelated MT, MT cut to its first third, and the good pairs",
		Long: `failures builds the sets of docs/EVAL.md ("MT failures") from labelled data
(MLQE-PE DA TSV or JSONL, as eval reads): unrelated.jsonl (each source with the
MT of another sentence of its language pair, the MTs moved along a --seed-ed
random cycle: a fluent hallucination or a misaligned pair), cut.jsonl (each MT
cut to its first third) and good.jsonl (the pairs whose DA is at least
--good-da, unchanged), input for qegate filter:

  qegate filter DIR/unrelated.jsonl -o DIR/unrelated --json  # accepted: published by mistake
  qegate filter DIR/cut.jsonl -o DIR/cut --json
  qegate filter DIR/good.jsonl -o DIR/good --json            # rejected: lost good translations

The same data, options and seed always give the same files.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := evaluate.ReadPath(data)
			if err != nil {
				return fmt.Errorf("eval failures: %w", err)
			}
			for _, b := range d.BadRows {
				fmt.Fprintln(cmd.ErrOrStderr(), b)
			}
			sets := evaluate.BuildFailures(d.Rows, opt)
			if len(sets.Cut) == 0 {
				return fmt.Errorf("eval failures: %s: no rows", data)
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("eval failures: %w", err)
			}
			for name, cs := range map[string][]evaluate.Case{"unrelated.jsonl": sets.Unrelated, "cut.jsonl": sets.Cut, "good.jsonl": sets.Good} {
				if err := writeFile(filepath.Join(out, name), func(w io.Writer) error { return evaluate.WriteJSONL(w, cs) }); err != nil {
					return fmt.Errorf("eval failures: %w", err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d unrelated, %d cut and %d good pairs to %s\n",
				len(sets.Unrelated), len(sets.Cut), len(sets.Good), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "labelled data: an MLQE-PE DA .tsv, a .jsonl, or a directory of them (required)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory for unrelated.jsonl, cut.jsonl and good.jsonl (required)")
	cmd.Flags().Float64Var(&opt.GoodDA, "good-da", 70, "least mean DA of a pair in good.jsonl")
	cmd.Flags().Uint64Var(&opt.Seed, "seed", 1, "seed of the draw")
	_ = cmd.MarkFlagRequired("data") // the flags exist, so these cannot fail
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

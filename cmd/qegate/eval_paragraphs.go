package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/evaluate"
)

func newEvalParagraphsCmd() *cobra.Command {
	var (
		data, out string
		opt       evaluate.ParagraphOptions
	)
	cmd := &cobra.Command{
		Use:   "paragraphs --data PATH -o DIR [--sentences 5] [--min-da 70] [--seed 1]",
		Short: "Build the long-input evaluation sets: paragraphs of well-rated sentence pairs, clean and with one MT sentence replaced",
		Long: `paragraphs builds the long-input evaluation sets of docs/EVAL.md ("Long
inputs") from labelled data (MLQE-PE DA TSV or JSONL, as eval reads): per
language pair, paragraphs of --sentences sentence pairs whose DA is at least
--min-da, each pair used once, drawn in a --seed-ed random order; and for each
one a bad twin with one MT sentence replaced by the MT of another well-rated,
unrelated sentence of the same language pair. It writes DIR/clean.jsonl,
DIR/bad.jsonl and DIR/replaced.jsonl (each bad paragraph's replaced sentence
pair alone), input for qegate filter:

  qegate filter DIR/clean.jsonl -o DIR/clean        # accepted: clean paragraphs published
  qegate filter DIR/bad.jsonl -o DIR/bad            # rejected: hidden bad sentences caught
  qegate filter DIR/replaced.jsonl -o DIR/replaced  # the bad sentences alone

The same data, options and seed always give the same files.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := evaluate.ReadPath(data)
			if err != nil {
				return fmt.Errorf("eval paragraphs: %w", err)
			}
			for _, b := range d.BadRows {
				fmt.Fprintln(cmd.ErrOrStderr(), b)
			}
			sets := evaluate.BuildParagraphs(d.Rows, opt)
			if len(sets.Clean) == 0 {
				return fmt.Errorf("eval paragraphs: %s: no language pair has more than %d rows with DA labels at or above the minimum", data, max(opt.Sentences, 5))
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("eval paragraphs: %w", err)
			}
			for name, ps := range map[string][]evaluate.Paragraph{"clean.jsonl": sets.Clean, "bad.jsonl": sets.Bad, "replaced.jsonl": sets.Replaced} {
				if err := writeFile(filepath.Join(out, name), func(w io.Writer) error { return evaluate.WriteJSONL(w, ps) }); err != nil {
					return fmt.Errorf("eval paragraphs: %w", err)
				}
			}
			perLP := map[string]int{}
			for _, p := range sets.Clean {
				perLP[p.SrcLang+"-"+p.TgtLang]++
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d clean and %d bad paragraphs and their %d replaced sentence pairs to %s (per language pair: %v)\n",
				len(sets.Clean), len(sets.Bad), len(sets.Replaced), out, perLP)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "labelled data: an MLQE-PE DA .tsv, a .jsonl, or a directory of them (required)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory for clean.jsonl, bad.jsonl and replaced.jsonl (required)")
	cmd.Flags().IntVar(&opt.Sentences, "sentences", 5, "sentence pairs per paragraph")
	cmd.Flags().Float64Var(&opt.MinDA, "min-da", 70, "least mean DA of a sentence pair in a paragraph")
	cmd.Flags().Uint64Var(&opt.Seed, "seed", 1, "seed of the draw")
	_ = cmd.MarkFlagRequired("data") // the flags exist, so these cannot fail
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

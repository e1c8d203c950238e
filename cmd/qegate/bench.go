package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/bench"
	"github.com/qegate/qegate/internal/native"
)

func init() { rootCmd.AddCommand(newBenchCmd()) }

func newBenchCmd() *cobra.Command {
	var (
		o                      bench.Options
		asJSON, rssProbe       bool
		markdown, plot, render string
		fo                     bench.FilterOptions
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure scoring latency and throughput, end to end through Kafka, and against peers on the same pairs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fo.N > 0 {
				fo.Model, fo.Data = o.Model, o.Data
				r, err := bench.FilterBench(cmd.Context(), fo, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				r.Command = "qegate bench " + strings.Join(os.Args[2:], " ")
				if asJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					return enc.Encode(r)
				}
				bench.WriteFilterText(cmd.OutOrStdout(), r)
				return nil
			}
			if rssProbe {
				return bench.RSSProbe(cmd.Context(), o, cmd.OutOrStdout())
			}
			var res *bench.Result
			if render != "" {
				// Re-render the reports of an earlier --json run.
				b, err := os.ReadFile(render)
				if err != nil {
					return err
				}
				res = &bench.Result{}
				if err := json.Unmarshal(b, res); err != nil {
					return fmt.Errorf("bench: %s: %w", render, err)
				}
			} else {
				r, err := bench.Run(cmd.Context(), o, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				res = r
				res.Command = "qegate bench " + strings.Join(os.Args[2:], " ")
			}
			if markdown != "" {
				if err := bench.WriteMarkdown(markdown, plot, res); err != nil {
					return err
				}
			}
			if plot != "" {
				if err := bench.WritePlot(plot, res); err != nil {
					return err
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			bench.WriteText(cmd.OutOrStdout(), res)
			return nil
		},
	}
	root := native.RepoRoot()
	at := func(rel string) string {
		if root == "" {
			return ""
		}
		return filepath.Join(root, rel)
	}
	f := cmd.Flags()
	f.StringVar(&o.Model, "model", "", "model directory (default: the shipped default model)")
	f.StringVar(&o.Data, "data", "", "MLQE-PE directory or TSV/JSONL file (default: as for demo, ../shared/mlqe-pe/da/dev)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.BoolVar(&o.Quick, "quick", false, "a few seconds: few pairs, small grid, short runs")
	f.IntVar(&o.N, "n", 2000, "pairs to use (cycled from the data set when it has fewer)")
	f.IntVar(&o.LatencyN, "latency-n", 300, "pairs for the batch-1 latency protocol")
	f.Float64Var(&o.MinSeconds, "min-seconds", 3, "each throughput run repeats the pairs until this long")
	f.StringVar(&o.Peers, "peers", "python_ort,hugot,l4,v1,unquantized,unpruned,unpruned_fp32", "peers to measure, comma-separated (none: no peers)")
	f.StringVar(&o.Python, "python", at("train/.venv/bin/python"), "Python with onnxruntime and tokenizers, for the python_ort peer")
	f.StringVar(&o.PeersDir, "peers-dir", at("bench/peers"), "directory of the peer scripts")
	f.StringVar(&o.Hugot, "hugot", at("bin/hugot-peer"), "hugot peer binary (bench/peers/hugot, built by bench/peers/build_hugot.sh)")
	f.StringVar(&o.L4, "l4", at("models/l4"), "model directory of the 4-layer tier, for the l4 peer")
	f.StringVar(&o.V1, "v1", at("bench/models/l4-1.0.0"), "model directory of model 1.0.0 (the reference of the speed ratios), for the v1 peer")
	f.StringVar(&o.Unquantized, "unquantized", at("train/.work/lat/L4_fp32.onnx"), "fp32 ONNX of the same pruned model")
	f.StringVar(&o.Unpruned, "unpruned", at("train/.work/lat/L12_int8.onnx"), "int8 ONNX of the unpruned 12-layer model")
	f.StringVar(&o.UnprunedFP32, "unpruned-fp32", at("train/.work/lat/L12_fp32.onnx"), "fp32 ONNX of the unpruned 12-layer model (the paper's baseline)")
	f.StringVar(&markdown, "markdown", "", "also write a Markdown report to this path (docs/BENCHMARKS.md)")
	f.StringVar(&plot, "plot", "", "also write a PNG plot (throughput vs batch size) to this path")
	f.BoolVar(&o.E2E, "e2e", true, "measure end to end through the in-process Kafka broker")
	f.IntVar(&o.Partitions, "partitions", 4, "partitions of the e2e input topic")
	f.IntVar(&o.Rounds, "rounds", 3, "rounds per peer (each bracketed by qegate runs); the ratio is the median")
	f.IntVar(&fo.N, "filter", 0, "instead of the scoring bench: filter a generated file of this many lines (1000000 for the issue's target) and compare with the raw scorer in the same run")
	f.Float64Var(&fo.ScorerSeconds, "filter-scorer-seconds", 20, "with --filter: length of each raw scorer run (one before, one after)")
	f.StringVar(&fo.Dir, "filter-dir", "", "with --filter: directory for the generated file and outputs (default: a temporary one, removed)")
	f.BoolVar(&rssProbe, "rss-probe", false, "internal: score the pairs with the default configuration and print the peak RSS")
	_ = f.MarkHidden("rss-probe")
	f.StringVar(&render, "render", "", "write --markdown/--plot (and print) from the JSON of an earlier run instead of measuring")
	return cmd
}

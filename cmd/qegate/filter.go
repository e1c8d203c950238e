package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/sink"
)

func init() { rootCmd.AddCommand(newFilterCmd()) }

// newFilterCmd is the batch counterpart of run: the same decoder, engine and
// router over files, for cleaning mined parallel corpora and backfills.
func newFilterCmd() *cobra.Command {
	var (
		out, modelDir, output, srcLang, tgtLang string
		review                                  float64
		batch                                   int
	)
	cmd := &cobra.Command{
		Use:   "filter FILE...",
		Short: "Gate files of pairs (JSONL per the message contract, or TSV src<TAB>mt) into accepted/rejected/dead_letter JSONL files",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := openScorer(ModelConfig{Dir: modelDir, Output: output})
			if err != nil {
				return fmt.Errorf("model: %w", err)
			}
			defer sc.Close()
			snk, err := sink.NewFile(out)
			if err != nil {
				return err
			}
			routes := pipeline.RoutesConfig{Publish: "accepted", PostEdit: "rejected", DeadLetter: "dead_letter"}
			if review > 0 {
				routes.Review, routes.ReviewMargin = "review", review
			}
			man := sc.Manifest()
			router := pipeline.NewRouter(routes, pipeline.ModelInfo{Name: man.Name, Version: man.Version, Output: sc.DecisionOutput().Name})
			sessions, _ := sc.PoolSize()
			eng := pipeline.NewEngine(pipeline.EngineConfig{BatchSize: batch, Workers: sessions + 1}, sc, router, snk, nil, nil)
			dec := pipeline.NewDecoder(pipeline.DecoderConfig{})
			in := make(chan *pipeline.Item, 1024)
			done := make(chan struct{})
			start := time.Now()
			go func() { defer close(done); eng.Run(cmd.Context(), in) }()
			var readErr error
			fed := 0
			for _, path := range args {
				n, err := feedFile(cmd.Context(), path, srcLang, tgtLang, dec, in)
				fed += n
				if err != nil {
					readErr = err
					break
				}
			}
			close(in)
			<-done
			if err := snk.Close(); err != nil {
				return err
			}
			if readErr != nil {
				return readErr
			}
			s := eng.Stats().Snapshot().Total
			el := time.Since(start)
			fmt.Fprintf(cmd.OutOrStdout(), "%d pairs in %.1fs (%.1f pairs/s): accepted %d, rejected %d, review %d, dead letter %d -> %s\n",
				fed, el.Seconds(), float64(fed)/el.Seconds(), s.Accepted, s.Rejected, s.Review, s.DeadLetter, out)
			if s.Sum() != int64(fed) {
				return fmt.Errorf("filter: routed %d of %d pairs", s.Sum(), fed)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "qegate-out", "output directory (accepted.jsonl, rejected.jsonl, review.jsonl, dead_letter.jsonl)")
	f.StringVar(&modelDir, "model", "", "model directory (default: the shipped default model)")
	f.StringVar(&output, "output", "", "decision output (e.g. da51, da70; default: the model's)")
	f.StringVar(&srcLang, "src-lang", "", "source language of TSV input (default: from a file name like en-de.tsv)")
	f.StringVar(&tgtLang, "tgt-lang", "", "target language of TSV input")
	f.Float64Var(&review, "review-margin", 0, "send scores within this margin of the threshold to review.jsonl")
	f.IntVar(&batch, "batch", 32, "pairs per scorer call")
	return cmd
}

// feedFile turns each line into an item; TSV lines become contract JSON so
// both formats share the decoder's validation and dead-letter reasons.
func feedFile(ctx context.Context, path, srcLang, tgtLang string, dec *pipeline.Decoder, in chan<- *pipeline.Item) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("filter: %w", err)
	}
	defer f.Close()
	tsv := strings.HasSuffix(path, ".tsv") || strings.HasSuffix(path, ".txt")
	if tsv && (srcLang == "" || tgtLang == "") {
		base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		s, t, ok := strings.Cut(base, "-")
		if !ok {
			return 0, fmt.Errorf("filter: %s: pass --src-lang and --tgt-lang, or name the file like en-de.tsv", path)
		}
		srcLang, tgtLang = s, t
	}
	r := bufio.NewReaderSize(f, 1<<20)
	n := 0
	srcCol, mtCol := 0, 1
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if len(b) > 0 {
			b = []byte(strings.TrimRight(string(b), "\r\n"))
			value := b
			if tsv {
				cols := strings.Split(string(b), "\t")
				if line == 1 {
					if i, j := indexOf(cols, "original"), indexOf(cols, "translation"); i >= 0 && j >= 0 {
						srcCol, mtCol = i, j // an MLQE-PE style header
						continue
					}
				}
				obj := map[string]any{"line": line, "src_lang": srcLang, "tgt_lang": tgtLang}
				if len(cols) > srcCol && len(cols) > mtCol {
					obj["src"], obj["mt"] = cols[srcCol], cols[mtCol]
				}
				value, _ = json.Marshal(obj)
			}
			it := pipeline.NewItem(pipeline.Origin{Topic: path, Offset: int64(line)}, nil, value, nil, nil, nil)
			dec.Decode(it)
			select {
			case in <- it:
				n++
			case <-ctx.Done():
				return n, ctx.Err()
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("filter: read %s: %w", path, err)
		}
	}
}

func indexOf(cols []string, name string) int {
	for i, c := range cols {
		if c == name {
			return i
		}
	}
	return -1
}

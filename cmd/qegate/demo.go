package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/demo"
)

func init() { rootCmd.AddCommand(newDemoCmd()) }

func newDemoCmd() *cobra.Command {
	var (
		asJSON     bool
		limit      int
		dataDir    string
		modelDir   string
		partitions int
		timeout    time.Duration
		verbose    bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole gate on an in-process Kafka broker fed with MLQE-PE dev pairs and print a routing summary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lvl := slog.LevelWarn
			if verbose {
				lvl = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
			msgs, source, err := demo.LoadMessages(dataDir, limit)
			if err != nil {
				return err
			}
			sum, err := demo.Run(cmd.Context(), log, msgs, source, modelDir, partitions, timeout)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(sum)
			}
			printDemo(cmd.OutOrStdout(), sum)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	f.IntVar(&limit, "limit", 300, "pairs per language pair to feed (0: all)")
	f.StringVar(&dataDir, "data", "", "MLQE-PE directory (default: $QEGATE_DATA, else ../shared/mlqe-pe, else the built-in sample)")
	f.StringVar(&modelDir, "model", "", "model directory (default: the shipped default model)")
	f.IntVar(&partitions, "partitions", 4, "partitions of the input topic")
	f.DurationVar(&timeout, "timeout", 15*time.Minute, "give up when not everything is routed by then")
	f.BoolVar(&verbose, "verbose", false, "log pipeline events")
	return cmd
}

func printDemo(w io.Writer, s *demo.Summary) {
	fmt.Fprintf(w, "qegate demo: %d messages from %s through an in-process Kafka broker\n", s.Fed, s.Data)
	fmt.Fprintf(w, "model %s, decision output %s\n\n", s.Model, s.Output)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "lang pair\tfed\taccepted\trejected\treview\tdead letter\tagrees with DA label\t")
	lps := make([]string, 0, len(s.ByLP))
	for lp := range s.ByLP {
		lps = append(lps, lp)
	}
	sort.Strings(lps)
	for _, lp := range lps {
		c := s.ByLP[lp]
		agree := "-"
		if c.AgreeGold != nil {
			agree = fmt.Sprintf("%.1f%%", 100**c.AgreeGold)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t\n", lp, c.Fed, c.Accepted, c.Rejected, c.Review, c.DeadLetter, agree)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t\t\n", s.Fed, s.Accepted, s.Rejected, s.Review, s.DeadLetter)
	_ = tw.Flush()
	fmt.Fprintf(w, "\naccepted + rejected + review + dead letter = %d of %d fed; read back from the output topics: %v\n",
		s.Accepted+s.Rejected+s.Review+s.DeadLetter, s.Fed, s.ReadBack)
	fmt.Fprintf(w, "rate: %.1f pairs/s end to end (%.1fs)\n", s.PairsPerS, s.Seconds)
}

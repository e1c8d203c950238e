package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/app"
	"github.com/qegate/qegate/internal/progress"
	"github.com/qegate/qegate/scorer"
	"github.com/qegate/qegate/source"
)

func init() { rootCmd.AddCommand(newBackfillCmd()) }

// newBackfillCmd re-scores a bounded range of a topic already in Kafka
// (after a model or threshold change) through the same engine, router and
// Kafka sink as run, without a consumer group.
func newBackfillCmd() *cobra.Command {
	var (
		configPath, brokers, progressMode string
		progressEvery                     time.Duration
		asJSON                            bool
		bc                                source.BackfillConfig
	)
	cmd := &cobra.Command{
		Use:   "backfill --topic T --from earliest|RFC3339|p:off,... --to now|RFC3339|p:off,...",
		Short: "Re-score an exact offset or time range of a topic, routed like run; no consumer group, exits when every partition reaches its bound",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := progress.ParseMode(progressMode); err != nil {
				return err
			}
			var rep *progress.Reporter
			return gateCmd[*scorer.Scorer]{
				configPath: configPath,
				configure: func(cfg *app.Config) error {
					if brokers != "" {
						cfg.Kafka.Brokers = strings.Split(brokers, ",")
					}
					return nil
				},
				open: func(cfg *app.Config, _ *slog.Logger) (*scorer.Scorer, error) { return app.OpenScorer(cfg.Model) },
				prepare: func(stop context.Context, _ *app.Config, _ *scorer.Scorer, log *slog.Logger) (context.Context, app.Options, error) {
					return stop, app.Options{Log: log, Backfill: &bc}, nil
				},
				start: func(_ context.Context, _ *app.Config, _ *scorer.Scorer, g *app.Wired, log *slog.Logger) (func(), error) {
					bf := g.Backfill
					for _, r := range bf.Ranges() {
						log.Info("backfill range", "topic", bc.Topic, "partition", r.Partition, "start", r.Start, "end", r.End)
					}
					rep = progress.Start(progress.Options{Out: cmd.ErrOrStderr(), Mode: progressMode, Interval: progressEvery, Label: "backfill"},
						func() progress.Sample {
							var pos int64
							var parts []string
							for _, r := range bf.Ranges() {
								pos += r.Next - r.Start
								parts = append(parts, fmt.Sprintf("p%d %d/%d", r.Partition, r.Next-r.Start, r.End-r.Start))
							}
							return progress.Sample{Items: g.Engine.Stats().Snapshot().Total.Sum(), Pos: pos, Total: bf.Total(), Detail: strings.Join(parts, " ")}
						})
					return nil, nil
				},
				ran: func(gateOutcome) { rep.Stop() },
				finish: func(o gateOutcome) error {
					g, bf, res, runErr := o.Gate, o.Gate.Backfill, o.Report, o.RunErr
					if o.CloseErr != nil && runErr == nil {
						runErr = o.CloseErr
					}
					s := g.Engine.Stats().Snapshot()
					complete := runErr == nil && o.Stop.Err() == nil && bf.Complete() && res.Dropped == 0 && s.Total.Sum() == bf.Fed()
					out := cmd.OutOrStdout()
					if asJSON {
						_ = json.NewEncoder(out).Encode(map[string]any{
							"topic": bc.Topic, "partitions": bf.Ranges(), "read": bf.Fed(), "routed": s.Total, "by_lang_pair": s.ByLP,
							"elapsed_s": res.Elapsed.Seconds(), "complete": complete,
						})
					} else {
						fmt.Fprintf(out, "%s: %d messages in %.1fs: accepted %d, rejected %d, critical %d, review %d, dead letter %d\n",
							bc.Topic, bf.Fed(), res.Elapsed.Seconds(), s.Total.Accepted, s.Total.Rejected, s.Total.Critical, s.Total.Review, s.Total.DeadLetter)
						lps := make([]string, 0, len(s.ByLP))
						for lp := range s.ByLP {
							lps = append(lps, lp)
						}
						sort.Strings(lps)
						for _, lp := range lps {
							c := s.ByLP[lp]
							fmt.Fprintf(out, "  %-10s accepted %d, rejected %d, critical %d, review %d, dead letter %d\n", lp, c.Accepted, c.Rejected, c.Critical, c.Review, c.DeadLetter)
						}
					}
					switch {
					case runErr != nil:
						return fmt.Errorf("backfill: %w", runErr)
					case o.Stop.Err() != nil:
						return fmt.Errorf("backfill: interrupted after %d of %d offsets (%d read but unwritten); rerun the same range: outputs carry qe-source for deduplication", bf.Fed(), bf.Total(), res.Dropped)
					case !complete:
						return fmt.Errorf("backfill: routed %d of %d messages read", s.Total.Sum(), bf.Fed())
					}
					return nil
				},
			}.execute(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "configs/qegate.yaml", "config file: kafka.brokers, routes, model, pipeline (the kafka group settings are not used)")
	f.StringVar(&brokers, "brokers", "", "bootstrap brokers, comma-separated (default: kafka.brokers)")
	f.StringVar(&bc.Topic, "topic", "", "topic to re-score (required)")
	f.StringVar(&bc.From, "from", "earliest", "start: earliest, an RFC 3339 time (broker offset-for-time lookup) or partition:offset,... (only those partitions)")
	f.StringVar(&bc.To, "to", "now", "end, exclusive: now (the end offsets at start), an RFC 3339 time or partition:offset,...")
	f.StringVar(&progressMode, "progress", "auto", "progress per partition on stderr: auto, bar, plain or none")
	f.DurationVar(&progressEvery, "progress-interval", 10*time.Second, "how often a plain progress line is written")
	f.BoolVar(&asJSON, "json", false, "print the final summary as one JSON object")
	_ = cmd.MarkFlagRequired("topic")
	return cmd
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/app"
	"github.com/qegate/qegate/scorer"
)

func init() { rootCmd.AddCommand(newRunCmd()) }

func newRunCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Gate a Kafka topic: score every pair and route it to publish, post-edit, review or dead-letter topics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// SIGHUP reloads the model; caught from the start (before the
			// model load) so that one arriving during start-up is not
			// fatal (its default action).
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			var reg *prometheus.Registry
			return gateCmd[*scorer.Reloading]{
				configPath: path,
				// A stop signal during the (slow) model load or the
				// start-up checks ends the process with status 0 instead
				// of killing it mid-initialisation.
				startupStopOK: true,
				open: func(cfg *app.Config, log *slog.Logger) (*scorer.Reloading, error) {
					return scorer.NewReloading(cfg.Model.Config, log)
				},
				prepare: func(stop context.Context, _ *app.Config, sc *scorer.Reloading, log *slog.Logger) (context.Context, app.Options, error) {
					sessions, threads := sc.PoolSize()
					log.Info("model loaded", "model", sc.Model().Tag(), "output", sc.Model().Output,
						"sessions", sessions, "intra_op_threads", threads)
					reg = prometheus.NewRegistry()
					reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
					reg.MustRegister(sc.Collectors()...)
					return stop, app.Options{Log: log, Registry: reg}, nil
				},
				start: func(stop context.Context, cfg *app.Config, sc *scorer.Reloading, g *app.Wired, log *slog.Logger) (func(), error) {
					stopMetrics, err := app.ServeMetrics(cfg.Metrics, reg, g.Ready, log)
					if err != nil {
						return nil, err
					}
					go sc.Watch(stop, cfg.Model.WatchInterval)
					go reloadOnHUP(stop, sc, hup)
					log.Info("gate running", "brokers", cfg.Kafka.Brokers, "topics", cfg.Kafka.Topics, "group", cfg.Kafka.GroupID)
					return stopMetrics, nil
				},
				finish: func(o gateOutcome) error {
					if o.CloseErr != nil {
						o.Log.Warn("closing sink", "err", o.CloseErr)
					}
					o.Gate.Summary(o.Log, o.Report, o.RunErr)
					if o.RunErr != nil && o.Stop.Err() == nil {
						return fmt.Errorf("gate: %w", o.RunErr)
					}
					return nil
				},
			}.execute(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "configs/qegate.yaml", "config file (YAML); QEGATE_* env vars override keys")
	return cmd
}

// reloadOnHUP hot-reloads the model on each SIGHUP until ctx ends; a
// refused model is logged by Reload and the old one keeps serving.
func reloadOnHUP(ctx context.Context, m *scorer.Reloading, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = m.Reload(ctx)
		}
	}
}

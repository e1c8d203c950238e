package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/app"
)

func init() { rootCmd.AddCommand(newRunCmd()) }

func newRunCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Gate a Kafka topic: score every pair and route it to publish, post-edit, review or dead-letter topics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.Load(path)
			if err != nil {
				return err
			}
			log := cfg.Logger()
			// Catch SIGINT/SIGTERM before the (slow) model load: a stop
			// signal during start-up then ends the process with status 0
			// instead of killing it mid-initialisation.
			stop, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			sc, err := app.OpenScorer(cfg.Model)
			if err != nil {
				return err
			}
			defer sc.Close()
			if stop.Err() != nil {
				log.Info("stop signal during start-up; nothing was consumed")
				return nil
			}
			man := sc.Manifest()
			sessions, threads := sc.PoolSize()
			log.Info("model loaded", "name", man.Name, "version", man.Version, "output", sc.DecisionOutput().Name,
				"sessions", sessions, "intra_op_threads", threads)

			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			g, err := app.Build(stop, cfg, sc, app.Options{Log: log, Registry: reg})
			if err != nil {
				if stop.Err() != nil {
					log.Info("stop signal during start-up; nothing was consumed")
					return nil
				}
				return err
			}
			stopMetrics, err := app.ServeMetrics(cfg.Metrics.Listen, reg, log)
			if err != nil {
				_ = g.Close()
				return err
			}
			defer stopMetrics()
			log.Info("gate running", "brokers", cfg.Kafka.Brokers, "topics", cfg.Kafka.Topics, "group", cfg.Kafka.GroupID)
			rep, runErr := g.Run(stop)
			if err := g.Close(); err != nil {
				log.Warn("closing sink", "err", err)
			}
			g.Summary(log, rep, runErr)
			if runErr != nil && stop.Err() == nil {
				return fmt.Errorf("gate: %w", runErr)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "configs/qegate.yaml", "config file (YAML); QEGATE_* env vars override keys")
	return cmd
}

package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
)

func init() { rootCmd.AddCommand(newRunCmd()) }

func newRunCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Gate a Kafka topic: score every pair and route it to publish, post-edit, review or dead-letter topics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := LoadConfig(path)
			if err != nil {
				return err
			}
			log := cfg.Logger()
			// Catch SIGINT/SIGTERM before the (slow) model load: a stop
			// signal during start-up then ends the process with status 0
			// instead of killing it mid-initialisation.
			stop, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			sc, err := openScorer(cfg.Model)
			if err != nil {
				return fmt.Errorf("model: %w", err)
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
			parts, err := buildGate(stop, cfg, sc, log, reg)
			if err != nil {
				if stop.Err() != nil {
					log.Info("stop signal during start-up; nothing was consumed")
					return nil
				}
				return err
			}
			stopMetrics, err := serveMetrics(cfg.Metrics.Listen, reg, log)
			if err != nil {
				parts.sink.Close()
				return err
			}
			defer stopMetrics()
			log.Info("gate running", "brokers", cfg.Kafka.Brokers, "topics", cfg.Kafka.Topics, "group", cfg.Kafka.GroupID)
			rep, runErr := parts.gate.Run(stop)
			if err := parts.sink.Close(); err != nil {
				log.Warn("closing sink", "err", err)
			}
			s := parts.engine.Stats().Snapshot()
			log.Info("gate stopped", "accepted", s.Total.Accepted, "rejected", s.Total.Rejected, "review", s.Total.Review,
				"dead_letter", s.Total.DeadLetter, "dropped_uncommitted", rep.Dropped, "elapsed", rep.Elapsed)
			if runErr != nil && stop.Err() == nil {
				return runErr
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "configs/qegate.yaml", "config file (YAML); QEGATE_* env vars override keys")
	return cmd
}

package main

import (
	"context"
	"fmt"
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
			// SIGHUP reloads the model; caught from the start so that one
			// arriving during start-up is not fatal (its default action).
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			sc, err := scorer.NewReloading(cfg.Model.Config, log)
			if err != nil {
				return err
			}
			defer sc.Close()
			if stop.Err() != nil {
				log.Info("stop signal during start-up; nothing was consumed")
				return nil
			}
			sessions, threads := sc.PoolSize()
			log.Info("model loaded", "model", sc.Model().Tag(), "output", sc.Model().Output,
				"sessions", sessions, "intra_op_threads", threads)

			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			reg.MustRegister(sc.Collectors()...)
			g, err := app.Build(stop, cfg, sc, app.Options{Log: log, Registry: reg})
			if err != nil {
				if stop.Err() != nil {
					log.Info("stop signal during start-up; nothing was consumed")
					return nil
				}
				return err
			}
			stopMetrics, err := app.ServeMetrics(cfg.Metrics, reg, g.Ready, log)
			if err != nil {
				_ = g.Close()
				return err
			}
			defer stopMetrics()
			go sc.Watch(stop, cfg.Model.WatchInterval)
			go reloadOnHUP(stop, sc, hup)
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

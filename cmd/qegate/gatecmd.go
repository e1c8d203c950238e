package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/qegate/qegate/internal/app"
	"github.com/qegate/qegate/pipeline"
)

// gateScorer is what a gate command opens: a model to build the gate on,
// closed when the command ends.
type gateScorer interface {
	app.GateScorer
	Close() error
}

// gateCmd is the one skeleton of the commands that run a gate (run, filter,
// backfill): load the config, catch the stop signals, open the scorer, build
// the gate, run it, close it. The hooks are what the commands do
// differently; each may be nil except open.
type gateCmd[S gateScorer] struct {
	// configPath is the --config file ("" for defaults and QEGATE_* only).
	configPath string
	// configure applies the command's flags to the loaded config and checks
	// them, before anything is opened.
	configure func(cfg *app.Config) error
	// open loads the model, after the stop signals are caught (a stop
	// during a slow load is then a stop, not a kill); its error ends the
	// command.
	open func(cfg *app.Config, log *slog.Logger) (S, error)
	// startupStopOK makes a stop signal before the gate runs (during the
	// model load or the start-up checks) end the command without an error:
	// nothing was consumed (run).
	startupStopOK bool
	// prepare checks the opened model against the flags and returns the
	// context the gate runs under (stop, or one derived from it) and the
	// build options.
	prepare func(stop context.Context, cfg *app.Config, sc S, log *slog.Logger) (context.Context, app.Options, error)
	// start runs after the gate is built and before it runs (metrics,
	// progress, logs); its cleanup, if any, runs when the command ends. A
	// start error closes the gate and ends the command.
	start func(ctx context.Context, cfg *app.Config, sc S, g *app.Wired, log *slog.Logger) (cleanup func(), err error)
	// ran runs after Run returns and before the gate is closed (its
	// outcome's CloseErr is not known yet).
	ran func(o gateOutcome)
	// finish gets the outcome once the gate is closed and returns the
	// command's error. A resumed file gate whose run had finished
	// (g.AlreadyComplete) is not run: it is closed and finish is called
	// with a zero report. Nil: the run error.
	finish func(o gateOutcome) error
}

// gateOutcome is how a gate command's gate ended.
type gateOutcome struct {
	// Stop is the signal context: Stop.Err() != nil after SIGINT/SIGTERM.
	Stop context.Context
	Gate *app.Wired
	Log  *slog.Logger
	// Report is Run's (zero when the gate was not run).
	Report pipeline.Report
	// RunErr and CloseErr are Run's and Close's errors.
	RunErr, CloseErr error
}

// execute runs the skeleton under ctx (the command's context).
func (c gateCmd[S]) execute(ctx context.Context) error {
	cfg, err := app.Load(c.configPath)
	if err != nil {
		return err
	}
	if c.configure != nil {
		if err := c.configure(cfg); err != nil {
			return err
		}
	}
	log := cfg.Logger()
	stop, cancel := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer cancel()
	sc, err := c.open(cfg, log)
	if err != nil {
		return err
	}
	defer sc.Close()
	if c.startupStopOK && stop.Err() != nil {
		log.Info("stop signal during start-up; nothing was consumed")
		return nil
	}
	runCtx, opts := stop, app.Options{Log: log}
	if c.prepare != nil {
		if runCtx, opts, err = c.prepare(stop, cfg, sc, log); err != nil {
			return err
		}
	}
	g, err := app.Build(runCtx, cfg, sc, opts)
	if err != nil {
		if c.startupStopOK && stop.Err() != nil {
			log.Info("stop signal during start-up; nothing was consumed")
			return nil
		}
		return err
	}
	o := gateOutcome{Stop: stop, Gate: g, Log: log}
	if g.AlreadyComplete {
		o.CloseErr = g.Close()
		if c.finish == nil {
			return o.CloseErr
		}
		return c.finish(o)
	}
	if c.start != nil {
		cleanup, err := c.start(runCtx, cfg, sc, g, log)
		if err != nil {
			_ = g.Close()
			return err
		}
		if cleanup != nil {
			defer cleanup()
		}
	}
	o.Report, o.RunErr = g.Run(runCtx)
	if c.ran != nil {
		c.ran(o)
	}
	o.CloseErr = g.Close()
	if c.finish == nil {
		return o.RunErr
	}
	return c.finish(o)
}

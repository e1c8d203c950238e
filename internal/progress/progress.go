// Package progress shows how far a long batch run (qegate filter, qegate
// backfill) has got: a bar with rate and ETA on a terminal, a plain line
// every interval otherwise (logs, CI, Kubernetes), nothing when asked.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Sample is a run's state at one moment.
type Sample struct {
	// Items is how many lines or messages are done.
	Items int64
	// Pos and Total measure progress in the unit ETA is computed in
	// (input bytes for filter, messages for backfill); Total <= 0 means
	// unknown (standard input), which shows no percentage and no ETA.
	Pos, Total int64
	// Detail is appended to each report (per-partition positions).
	Detail string
}

// Options configure a Reporter. The zero value picks bar or plain by
// whether Out is a terminal, reports every 10s and writes to os.Stderr.
type Options struct {
	// Out receives the reports; nil means os.Stderr.
	Out io.Writer
	// Mode is "auto" (bar on a terminal, else plain), "bar", "plain" or
	// "none". Empty means auto.
	Mode string
	// Interval is how often a plain line is written. Zero means 10s.
	Interval time.Duration
	// Label names the run in each report, e.g. "filter". Empty: "progress".
	Label string
	// Bytes says Pos and Total are bytes (rendered as such).
	Bytes bool
}

// Reporter samples a run and reports it until Stop.
type Reporter struct {
	opts   Options
	sample func() Sample
	bar    *progressbar.ProgressBar
	start  time.Time
	base   Sample // at start: a resumed run's rate counts only this run
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// Start begins reporting; sample is called from the reporter's goroutine.
func Start(opts Options, sample func() Sample) *Reporter {
	if opts.Out == nil {
		opts.Out = os.Stderr
	}
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	if opts.Label == "" {
		opts.Label = "progress"
	}
	if opts.Mode == "" || opts.Mode == "auto" {
		opts.Mode = "plain"
		if f, ok := opts.Out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			opts.Mode = "bar"
		}
	}
	r := &Reporter{opts: opts, sample: sample, start: time.Now(), base: sample(), stop: make(chan struct{}), done: make(chan struct{})}
	if opts.Mode == "none" {
		close(r.done)
		return r
	}
	every := opts.Interval
	if opts.Mode == "bar" {
		total := r.base.Total
		if total <= 0 {
			total = -1 // a spinner
		}
		r.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(opts.Out),
			progressbar.OptionSetDescription(opts.Label),
			progressbar.OptionShowBytes(opts.Bytes),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetWidth(30),
		)
		every = 250 * time.Millisecond
	}
	go r.loop(every)
	return r
}

// ParseMode checks a --progress value.
func ParseMode(s string) error {
	switch s {
	case "", "auto", "bar", "plain", "none":
		return nil
	}
	return fmt.Errorf("progress %q: want auto, bar, plain or none", s)
}

func (r *Reporter) loop(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.report(r.sample())
		}
	}
}

func (r *Reporter) report(s Sample) {
	el := time.Since(r.start)
	rate := float64(s.Items-r.base.Items) / el.Seconds()
	if r.bar != nil {
		r.bar.Describe(fmt.Sprintf("%s %d (%.0f/s) %s", r.opts.Label, s.Items, rate, s.Detail))
		_ = r.bar.Set64(s.Pos)
		return
	}
	line := fmt.Sprintf("%s: %d done, %.0f/s, elapsed %s", r.opts.Label, s.Items, rate, el.Round(time.Second))
	if s.Total > 0 {
		pct := 100 * float64(s.Pos) / float64(s.Total)
		line += fmt.Sprintf(", %.1f%%", pct)
		if moved := s.Pos - r.base.Pos; moved > 0 && s.Pos < s.Total {
			eta := time.Duration(float64(el) * float64(s.Total-s.Pos) / float64(moved))
			line += ", ETA " + eta.Round(time.Second).String()
		}
	}
	if s.Detail != "" {
		line += "; " + s.Detail
	}
	fmt.Fprintln(r.opts.Out, line)
}

// Stop writes a last report and stops; safe to call more than once.
func (r *Reporter) Stop() {
	r.once.Do(func() {
		if r.opts.Mode == "none" {
			return
		}
		close(r.stop)
		<-r.done
		s := r.sample()
		if r.bar != nil {
			r.report(s)
			if s.Total > 0 && s.Pos >= s.Total {
				_ = r.bar.Finish()
			} else {
				_ = r.bar.Exit() // an interrupted run: leave the bar where it stopped, not at 100%
			}
			fmt.Fprintln(r.opts.Out)
			return
		}
		r.report(s)
	})
}

package scorer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qegate/qegate/internal/qe"
)

// Reloading is a scorer whose model can be replaced while the gate runs
// (hot reload): Reload loads the model directory again and swaps it in; calls
// already running finish on the old model, which is closed once they have.
// A model that fails to load, or that the Check hook refuses, is not
// swapped in: the old one keeps serving. Every result names the model that
// produced it. Safe for concurrent use.
type Reloading struct {
	cfg Config
	log *slog.Logger

	// Check, when set, vets a newly loaded model before it is swapped in
	// (the gate's wiring sets it to check the new model's output topics).
	Check func(context.Context, *Scorer) error

	reloadMu sync.Mutex // one reload at a time
	cur      atomic.Pointer[loaded]
	finger   string // fingerprint of the files the current model came from

	info    *prometheus.GaugeVec
	reloads *prometheus.CounterVec
}

// loaded is one open scorer and the calls using it.
type loaded struct {
	sc     *Scorer
	mu     sync.RWMutex // held for reading by each Score call, for writing by retire
	closed bool
}

// NewReloading loads the model of cfg (New) for hot reload; log may be nil.
func NewReloading(cfg Config, log *slog.Logger) (*Reloading, error) {
	if log == nil {
		log = slog.Default()
	}
	m := &Reloading{cfg: cfg, log: log}
	m.info, m.reloads = newModelMetrics()
	finger, err := fingerprint(m.dir())
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	sc, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	m.cur.Store(&loaded{sc: sc})
	m.finger = finger
	m.setInfo(sc.Model())
	return m, nil
}

func newModelMetrics() (*prometheus.GaugeVec, *prometheus.CounterVec) {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qegate_model_info", Help: "The model scoring now: 1 for its name, version and decision output.",
		}, []string{"name", "version", "output"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qegate_model_reloads_total", Help: "Model reloads by result: ok, or failed (the old model kept serving).",
		}, []string{"result"})
}

// ReloadingCollectors returns unregistered metrics of the kind a
// Reloading registers (qegate_model_info, qegate_model_reloads_total), for
// checks of what the gate exports.
func ReloadingCollectors() []prometheus.Collector {
	info, reloads := newModelMetrics()
	return []prometheus.Collector{info, reloads}
}

// Collectors returns the model's metrics for registration.
func (m *Reloading) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.info, m.reloads}
}

// dir is the model directory watched and reloaded ("" when there is none:
// New then fails with ModelDir's error).
func (m *Reloading) dir() string {
	dir, _ := ModelDir(m.cfg.ModelDir)
	return dir
}

func (m *Reloading) setInfo(id qe.ModelID) {
	m.info.Reset()
	m.info.WithLabelValues(id.Name, id.Version, id.Output).Set(1)
}

// acquire returns the current scorer, read-locked so that it is not closed
// until release; a scorer retired between the load and the lock is skipped.
func (m *Reloading) acquire() *loaded {
	for {
		l := m.cur.Load()
		l.mu.RLock()
		if !l.closed {
			return l
		}
		l.mu.RUnlock()
	}
}

// Score implements pipeline.Scorer on the current model.
func (m *Reloading) Score(ctx context.Context, pairs []qe.Pair) ([]qe.Result, error) {
	l := m.acquire()
	defer l.mu.RUnlock()
	return l.sc.Score(ctx, pairs)
}

// Manifest returns the current model's manifest.
func (m *Reloading) Manifest() *Manifest {
	l := m.acquire()
	defer l.mu.RUnlock()
	return l.sc.Manifest()
}

// Model names the current model.
func (m *Reloading) Model() qe.ModelID {
	l := m.acquire()
	defer l.mu.RUnlock()
	return l.sc.Model()
}

// PoolSize returns the current model's ONNX Runtime pool size.
func (m *Reloading) PoolSize() (int, int) {
	l := m.acquire()
	defer l.mu.RUnlock()
	return l.sc.PoolSize()
}

// Reload loads the model directory again and swaps the new model in, or
// returns why it did not (the old model keeps serving).
func (m *Reloading) Reload(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	finger, _ := fingerprint(m.dir())
	return m.reloadLocked(ctx, finger)
}

func (m *Reloading) reloadLocked(ctx context.Context, finger string) error {
	sc, err := New(m.cfg)
	if err != nil {
		err = fmt.Errorf("model: %w", err)
	}
	if err == nil && m.Check != nil {
		if err = m.Check(ctx, sc); err != nil {
			_ = sc.Close()
		}
	}
	if err != nil {
		m.reloads.WithLabelValues("failed").Inc()
		m.log.Error("model reload refused; the old model keeps serving", "dir", m.dir(), "model", m.Model().Tag(), "err", err)
		// The files are remembered, so the watcher does not retry the same
		// broken model every interval; the next change is tried again.
		m.finger = finger
		return fmt.Errorf("model reload: %w", err)
	}
	old := m.cur.Swap(&loaded{sc: sc})
	m.finger = finger
	m.setInfo(sc.Model())
	m.reloads.WithLabelValues("ok").Inc()
	m.log.Info("model reloaded", "dir", m.dir(), "from", old.sc.Model().Tag(), "to", sc.Model().Tag())
	go retire(old, m.log) // waits for the old model's in-flight calls
	return nil
}

// retire closes a swapped-out scorer once its in-flight calls finished:
// an ORT call is never abandoned.
func retire(l *loaded, log *slog.Logger) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if err := l.sc.Close(); err != nil {
		log.Warn("closing the previous model", "err", err)
	}
}

// Watch reloads the model whenever its files change, checking every
// interval, until ctx ends. interval <= 0 disables it.
func (m *Reloading) Watch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		finger, err := fingerprint(m.dir())
		if err != nil {
			continue // mid-copy or removed: keep serving, look again later
		}
		m.reloadMu.Lock()
		if finger != m.finger {
			_ = m.reloadLocked(ctx, finger)
		}
		m.reloadMu.Unlock()
	}
}

// Close closes the current model; the caller stops scoring first.
func (m *Reloading) Close() error {
	l := m.cur.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.sc.Close()
}

// fingerprint identifies the model files by path (symlinks resolved, so a
// swapped link counts as a change), size and modification time.
func fingerprint(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("no model directory")
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	out := real
	for _, name := range []string{ManifestFile, ModelFile, TokenizerFile} {
		st, err := os.Stat(filepath.Join(real, name))
		if err != nil {
			return "", err
		}
		out += fmt.Sprintf("|%s:%d:%d", name, st.Size(), st.ModTime().UnixNano())
	}
	return out, nil
}

package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/qegate/qegate/scorer"
)

// rssProbe runs `qegate bench --rss-probe` in a fresh process: the peak RSS
// of loading the model in modelDir ("" the default model) with the default
// configuration and scoring the pairs as the gate does, without what the
// bench itself has touched.
func rssProbe(ctx context.Context, o Options, modelDir string) (rssProbeResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return rssProbeResult{}, err
	}
	// A test binary would run its tests instead of the probe (and those
	// would start probes again): never re-execute one, nor nest probes.
	if strings.HasSuffix(exe, ".test") || os.Getenv(rssProbeEnv) != "" {
		return rssProbeResult{}, errors.New("not re-executing a test binary or a probe")
	}
	args := []string{"bench", "--rss-probe", "--n", fmt.Sprint(o.N)}
	if modelDir != "" {
		args = append(args, "--model", modelDir)
	}
	if o.Data != "" {
		args = append(args, "--data", o.Data)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), rssProbeEnv+"=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return rssProbeResult{}, fmt.Errorf("%w: %s", err, lastLines(stderr.String(), 3))
	}
	var r rssProbeResult
	if err := json.Unmarshal(out, &r); err != nil {
		return rssProbeResult{}, err
	}
	return r, nil
}

// rssProbeResult is what `qegate bench --rss-probe` prints, in MiB.
type rssProbeResult struct {
	PeakRSSMB     float64 `json:"peak_rss_mb"`      // VmHWM at the end
	LoadPeakRSSMB float64 `json:"load_peak_rss_mb"` // VmHWM after scorer.New
	SteadyRSSMB   float64 `json:"steady_rss_mb"`    // VmRSS after scoring
}

const rssProbeEnv = "QEGATE_BENCH_RSS_PROBE"

// RSSProbe is `qegate bench --rss-probe`: score the pairs with the default
// configuration and print the process's peak RSS as JSON on w.
func RSSProbe(ctx context.Context, o Options, w io.Writer) error {
	pairs, _, err := benchPairs(o.Data, o.N)
	if err != nil {
		return err
	}
	sc, err := scorer.New(scorer.Config{ModelDir: o.Model})
	if err != nil {
		return err
	}
	defer sc.Close()
	load := PeakRSSMB()
	sessions, _ := sc.PoolSize()
	if _, err := measureThroughput(ctx, sc, pairs, 32, sessions+1, 0); err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(rssProbeResult{PeakRSSMB: PeakRSSMB(), LoadPeakRSSMB: load, SteadyRSSMB: currentRSSMB()})
}

package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/qegate/qegate/scorer"
	"github.com/qegate/qegate/source"
)

// FilterFingerprint identifies everything that decides a filter run's
// output bytes: the model files, the decision output and thresholds in
// effect (and the critical output's), the routes, the input section and
// the file options (start position excluded) and the output compression. A resume with another
// fingerprint is refused: its outputs would not match an uninterrupted run.
func FilterFingerprint(cfg *Config, sc *scorer.Scorer, in source.FileConfig, compress string) (string, error) {
	h := sha256.New()
	dir, err := scorer.ModelDir(cfg.Model.ModelDir)
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	for _, name := range []string{"model.json", "model.onnx", "tokenizer.json"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("fingerprint: %w", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("fingerprint: %w", err)
		}
	}
	in.Start = source.FileConfig{}.Start
	in.Paths = nil // checked on their own, by name, so that the message says which
	th := sc.Thresholds()
	var crit *scorer.Thresholds // nil for a model without a critical output
	if c, ok := sc.CriticalThresholds(); ok {
		crit = &c
	}
	b, err := json.Marshal(struct {
		Output     string
		MaxLen     int
		Thresholds scorer.Thresholds
		Critical   *scorer.Thresholds `json:",omitempty"`
		Routes     any
		Input      any
		File       source.FileConfig
		Compress   string
	}{sc.DecisionOutput().Name, cfg.Model.MaxLen, th, crit, cfg.Routes, cfg.Input, in, compress})
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

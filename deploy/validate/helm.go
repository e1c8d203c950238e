package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// HelmVersion is the helm release the chart is checked with. The CLI is
// built from the Go module proxy (helm.sh/helm/v3/cmd/helm) rather than
// downloaded as a binary: the proxy is the only registry CI can reach.
const HelmVersion = "v3.22.0"

// KubeVersion is the Kubernetes version charts are linted and rendered for.
// A `go install`ed helm defaults to v1.20 (the release build sets it with
// -ldflags), below the chart's kubeVersion, so every call passes it.
const KubeVersion = "1.31.0"

// Helm returns the path of the helm CLI: $QEGATE_HELM when set, else
// <repo>/.cache/bin/helm-<HelmVersion>, which it builds with `go install`
// the first time (a few minutes; later runs find it, offline once the
// module cache holds helm's modules).
func Helm(ctx context.Context, repo string) (string, error) {
	if p := os.Getenv("QEGATE_HELM"); p != "" {
		return p, nil
	}
	bin := filepath.Join(repo, ".cache", "bin")
	path := filepath.Join(bin, "helm-"+HelmVersion)
	if isFile(path) {
		return path, nil
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", fmt.Errorf("helm: %w", err)
	}
	// Build into a private directory on the same file system, then rename:
	// concurrent test runs never see a half-written binary.
	tmp, err := os.MkdirTemp(bin, "helm-build-")
	if err != nil {
		return "", fmt.Errorf("helm: %w", err)
	}
	defer os.RemoveAll(tmp)
	env := append(envWithout("GOFLAGS", "GOBIN", "CGO_LDFLAGS"), "GOBIN="+tmp, "CGO_ENABLED=0")
	ldflags := "-ldflags=-X helm.sh/helm/v3/internal/version.version=" + HelmVersion
	if _, err := run(ctx, tmp, env, "go", "install", ldflags, "helm.sh/helm/v3/cmd/helm@"+HelmVersion); err != nil {
		return "", fmt.Errorf("helm: build %s: %w", HelmVersion, err)
	}
	if err := os.Rename(filepath.Join(tmp, "helm"), path); err != nil {
		return "", fmt.Errorf("helm: %w", err)
	}
	return path, nil
}

// HelmRun runs one helm invocation on chart (lint or template) with the
// given values files and --set overrides, returning stdout.
type HelmRun struct {
	Helm    string   // the CLI, from Helm
	Chart   string   // chart directory
	Values  []string // -f files
	Set     []string // --set key=value
	Release string   // release name for template; default "qegate"
}

func (h HelmRun) args() []string {
	var a []string
	for _, f := range h.Values {
		a = append(a, "-f", f)
	}
	for _, s := range h.Set {
		a = append(a, "--set", s)
	}
	return append(a, "--kube-version", KubeVersion)
}

// helmEnv isolates helm from the user's repositories, plugins and caches:
// the checks must give the same answer on every machine.
func helmEnv(tmp string) []string {
	return append(envWithout("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME", "KUBECONFIG"),
		"HELM_CACHE_HOME="+filepath.Join(tmp, "cache"), "HELM_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"HELM_DATA_HOME="+filepath.Join(tmp, "data"), "KUBECONFIG="+filepath.Join(tmp, "no-kubeconfig"))
}

// Lint runs `helm lint --strict`, which fails on warnings as well as errors
// and validates the values against values.schema.json.
func (h HelmRun) Lint(ctx context.Context, tmp string) (string, error) {
	out, err := run(ctx, tmp, helmEnv(tmp), h.Helm, append([]string{"lint", "--strict", h.Chart}, h.args()...)...)
	if err != nil {
		return string(out), fmt.Errorf("helm lint: %w", err)
	}
	if !strings.Contains(string(out), "0 chart(s) failed") {
		return string(out), fmt.Errorf("helm lint: unexpected output:\n%s", out)
	}
	return string(out), nil
}

// Template runs `helm template` and returns the rendered manifests.
func (h HelmRun) Template(ctx context.Context, tmp string) ([]byte, error) {
	rel := h.Release
	if rel == "" {
		rel = "qegate"
	}
	out, err := run(ctx, tmp, helmEnv(tmp), h.Helm, append([]string{"template", rel, h.Chart}, h.args()...)...)
	if err != nil {
		return nil, fmt.Errorf("helm template: %w", err)
	}
	return out, nil
}

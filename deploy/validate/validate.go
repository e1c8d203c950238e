// Package validate checks qegate's deployment files (deploy/) offline, with
// the real parsers of each format: the helm CLI (lint, template), upstream
// Kubernetes API types with strict decoding, KEDA's own CRD schema, the
// compose-spec loader, BuildKit's Dockerfile parser, and a PromQL parser
// for the Grafana dashboard. No container engine or cluster is needed.
//
// It is a nested module so that helm, Kubernetes and BuildKit stay out of
// qegate's own dependencies; `make test-deploy` runs its tests.
package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RepoRoot returns the qegate repository holding this module: the first
// directory above dir with go.mod, deploy/ and configs/qegate.yaml.
func RepoRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("repo root: %w", err)
	}
	for d := abs; ; {
		if isFile(filepath.Join(d, "go.mod")) && isFile(filepath.Join(d, "configs", "qegate.yaml")) &&
			isFile(filepath.Join(d, "deploy", "Dockerfile")) {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("repo root: no qegate repository above %s", abs)
		}
		d = parent
	}
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// run executes name with args in dir and returns its stdout; a failure
// carries stderr, which is where helm and go explain themselves.
func run(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// envWithout returns the process environment minus the named variables
// (make's GOFLAGS carry -ldflags meant for qegate, not for tools).
func envWithout(names ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			if k == n {
				drop = true
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// errs collects every problem a check finds, so one run reports them all
// instead of the first.
type errs []error

func (e *errs) addf(format string, args ...any) { *e = append(*e, fmt.Errorf(format, args...)) }

func (e errs) join() error { return errors.Join(e...) }

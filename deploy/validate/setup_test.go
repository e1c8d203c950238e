package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// Shared, lazily built fixtures: the helm CLI and the KEDA source are
// expensive the first time (a build, a module download) and reused after.
var (
	repoOnce sync.Once
	repoDir  string
	repoErr  error

	helmOnce sync.Once
	helmPath string
	helmErr  error

	kedaOnce sync.Once
	kedaVal  *KEDA
	kedaErr  error
)

func repo(t *testing.T) string {
	t.Helper()
	repoOnce.Do(func() { repoDir, repoErr = RepoRoot(".") })
	if repoErr != nil {
		t.Fatal(repoErr)
	}
	return repoDir
}

func helmCLI(t *testing.T) string {
	t.Helper()
	r := repo(t)
	helmOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		helmPath, helmErr = Helm(ctx, r)
	})
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	return helmPath
}

// chartKEDAVersion is the KEDA release the chart declares it is written
// for (Chart.yaml annotation qegate.io/keda-version).
func chartKEDAVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo(t), "deploy", "helm", "qegate", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	v := c.Annotations["qegate.io/keda-version"]
	if !strings.HasPrefix(v, "v2.") {
		t.Fatalf("Chart.yaml: annotation qegate.io/keda-version %q: want v2.x", v)
	}
	return v
}

func keda(t *testing.T) *KEDA {
	t.Helper()
	v := chartKEDAVersion(t)
	kedaOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		dir, err := KEDASource(ctx, v)
		if err != nil {
			kedaErr = err
			return
		}
		kedaVal, kedaErr = LoadKEDA(dir, v)
	})
	if kedaErr != nil {
		t.Fatal(kedaErr)
	}
	return kedaVal
}

func configSchema(t *testing.T) *ConfigSchema {
	t.Helper()
	s, err := LoadConfigSchema(filepath.Join(repo(t), "configs", "qegate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func imageFacts(t *testing.T) *ImageFacts {
	t.Helper()
	r := repo(t)
	f, err := CheckDockerfile(DockerfileSetup{Repo: r, Dockerfile: filepath.Join(r, "deploy", "Dockerfile")})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// wantErr fails unless err is non-nil and mentions every part of want.
func wantErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error does not mention %q:\n%v", w, err)
		}
	}
}

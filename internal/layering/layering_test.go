package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/qegate/qegate/"

// deps lists the packages pattern depends on (its own included), as
// `go list -deps` prints them.
func deps(t *testing.T, pattern string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pattern)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pattern, err)
	}
	return strings.Fields(string(out))
}

// TestDataPathImports: the data path (sources, pipeline, scorer, sinks and
// the leaf they share) never depends on wiring or tools, and sources and
// the pipeline depend on neither the scorer nor the sinks: they declare
// the interfaces they consume.
func TestDataPathImports(t *testing.T) {
	tools := []string{"internal/app", "internal/bench", "internal/demo", "internal/audit", "internal/evaluate", "cmd/"}
	cases := []struct {
		pattern   string
		forbidden []string
	}{
		{"./internal/qe/...", append([]string{"pipeline", "source", "scorer", "sink"}, tools...)},
		{"./pipeline/...", append([]string{"source", "scorer", "sink"}, tools...)},
		{"./source/...", append([]string{"scorer", "sink"}, tools...)},
		{"./scorer/...", append([]string{"source", "sink"}, tools...)},
		{"./sink/...", append([]string{"source", "scorer"}, tools...)},
	}
	for _, tc := range cases {
		for _, dep := range deps(t, tc.pattern) {
			rel, ok := strings.CutPrefix(dep, module)
			if !ok {
				continue
			}
			for _, f := range tc.forbidden {
				if rel == f || strings.HasPrefix(rel, strings.TrimSuffix(f, "/")+"/") {
					t.Errorf("%s depends on %s", tc.pattern, dep)
				}
			}
		}
	}
}

package evaluate

import (
	"os"
	"path/filepath"

	"github.com/qegate/qegate/internal/native"
)

// FindData resolves the MLQE-PE DA dev split (a directory of *-*.tsv):
// flag, $QEGATE_DATA, then ../shared/mlqe-pe next to the repository or the
// working directory; each may name the data set, its da/ or the split
// itself. "" when none has the files. The demo, bench and the rule
// evaluation (ruleeval, which takes train/ beside it) all start here.
func FindData(flag string) string {
	var cands []string
	if flag != "" {
		cands = append(cands, flag)
	}
	if env := os.Getenv("QEGATE_DATA"); env != "" {
		cands = append(cands, env)
	}
	if root := native.RepoRoot(); root != "" {
		cands = append(cands, filepath.Join(root, "..", "shared", "mlqe-pe"), filepath.Join(root, ".cache", "data", "mlqe-pe"))
	}
	cands = append(cands, filepath.Join("..", "shared", "mlqe-pe"))
	for _, c := range cands {
		for _, sub := range []string{filepath.Join("da", "dev"), "dev", ""} {
			d := filepath.Join(c, sub)
			if m, _ := filepath.Glob(filepath.Join(d, "*-*.tsv")); len(m) > 0 {
				return d
			}
		}
	}
	return ""
}

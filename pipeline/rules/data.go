package rules

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Pair is one labelled translation pair, as in MLQE-PE.
type Pair struct {
	Src, MT          string
	SrcLang, TgtLang string
	// DA is the mean direct-assessment score (0-100); NaN when unknown.
	DA float64
}

// LoadDir reads every {src}-{tgt}.tsv of an MLQE-PE DA split directory,
// in file-name order.
func LoadDir(dir string) ([]Pair, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*-*.tsv"))
	if err != nil {
		return nil, fmt.Errorf("load mlqe: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("load mlqe: no *-*.tsv in %s", dir)
	}
	sort.Strings(files)
	var out []Pair
	for _, f := range files {
		p, err := LoadTSV(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p...)
	}
	return out, nil
}

// LoadTSV reads one MLQE-PE DA file (tab-separated, header line, no
// quoting; the language pair from the file name).
func LoadTSV(path string) ([]Pair, error) {
	lp := strings.TrimSuffix(filepath.Base(path), ".tsv")
	src, tgt, ok := strings.Cut(lp, "-")
	if !ok {
		return nil, fmt.Errorf("load mlqe %s: file name is not {src}-{tgt}.tsv", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load mlqe: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var out []Pair
	for line := 1; sc.Scan(); line++ {
		if line == 1 {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 5 {
			return nil, fmt.Errorf("load mlqe %s:%d: %d fields, want at least 5", path, line, len(c))
		}
		da, err := strconv.ParseFloat(c[4], 64)
		if err != nil {
			return nil, fmt.Errorf("load mlqe %s:%d: mean: %w", path, line, err)
		}
		out = append(out, Pair{Src: c[1], MT: c[2], SrcLang: src, TgtLang: tgt, DA: da})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("load mlqe %s: %w", path, err)
	}
	return out, nil
}

// DataDir finds the MLQE-PE DA directory: $QEGATE_DATA (the da directory
// or its parent), else ../shared/mlqe-pe/da relative to the repository
// root, searched upwards from the working directory. "" when absent.
func DataDir() string {
	var cands []string
	if d := os.Getenv("QEGATE_DATA"); d != "" {
		cands = append(cands, filepath.Join(d, "da"), d, filepath.Join(d, "mlqe-pe", "da"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			cands = append(cands, filepath.Join(d, "..", "shared", "mlqe-pe", "da"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, c := range cands {
		if st, err := os.Stat(filepath.Join(c, "dev")); err == nil && st.IsDir() {
			return c
		}
	}
	return ""
}

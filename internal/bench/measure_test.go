package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchPairsInterleaves(t *testing.T) {
	dir := t.TempDir()
	for _, lp := range []string{"en-de", "si-en"} {
		var b strings.Builder
		b.WriteString("index\toriginal\ttranslation\tscores\tmean\tz_scores\tz_mean\tmodel_scores\n")
		for i := range 4 {
			fmt.Fprintf(&b, "%d\tsource %d\tmt %d\t[]\t50\t[]\t0.1\t0\n", i, i, i)
		}
		b.WriteString("9\t\tempty source\t[]\t50\t[]\t0.1\t0\n")
		if err := os.WriteFile(filepath.Join(dir, lp+".tsv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pairs, _, err := benchPairs(dir, 11)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 11 {
		t.Fatalf("got %d pairs, want 11", len(pairs))
	}
	for i := 1; i < len(pairs); i++ {
		if pairs[i].LangPair() == pairs[i-1].LangPair() {
			t.Fatalf("pairs %d and %d share %s: not interleaved", i-1, i, pairs[i].LangPair())
		}
		if pairs[i].Src == "" {
			t.Fatalf("pair %d is invalid: %+v", i, pairs[i])
		}
	}
}

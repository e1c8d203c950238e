// Command genbounds fits the length-ratio bounds of pipeline/rules on the
// MLQE-PE DA training split (the train/ beside the dev split that
// evaluate.FindData resolves) and writes length_bounds.json. Run it through
// `go generate ./pipeline/rules` (needs ../shared/mlqe-pe or $QEGATE_DATA,
// and the native libraries' environment: eval "$(make -s env)").
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/qegate/qegate/internal/evaluate"
	"github.com/qegate/qegate/internal/evaluate/ruleeval"
)

func main() {
	out := flag.String("o", "length_bounds.json", "output file")
	minDA := flag.Float64("min-da", 51, "fit on pairs with mean DA at or above this")
	minSrc := flag.Float64("min-src", 30, "fit on pairs whose source has at least this many length units")
	flag.Parse()
	dev := evaluate.FindData("")
	if dev == "" || filepath.Base(dev) != "dev" {
		fmt.Fprintln(os.Stderr, "genbounds: MLQE-PE da/dev and da/train not found: set QEGATE_DATA")
		os.Exit(1)
	}
	pairs, err := ruleeval.Load(filepath.Join(filepath.Dir(dev), "train"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "genbounds:", err)
		os.Exit(1)
	}
	t := ruleeval.FitBounds(pairs, *minDA, *minSrc, "MLQE-PE DA train (genbounds)")
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "genbounds:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genbounds:", err)
		os.Exit(1)
	}
	fmt.Printf("genbounds: %d pairs, wrote %s\n", len(pairs), *out)
}

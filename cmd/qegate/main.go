// Command qegate is a quality gate for machine translation: it scores
// (source, MT) pairs with a compressed QE classifier and routes them to
// publication, review, post-editing or dead-letter destinations.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// rootCmd is the CLI root; each subcommand file registers itself in init so
// commands stay one concept per file.
var rootCmd = &cobra.Command{
	Use:           "qegate",
	Short:         "Machine-translation quality gate: score pairs, route acceptable ones to publication",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "qegate: "+err.Error())
		os.Exit(1)
	}
}

package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/scorer"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version, and the ONNX Runtime library and default model (name and version) it will use",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "qegate %s (%s %s/%s)\nonnxruntime: %s\ndefault model: %s\n",
				version, runtime.Version(), runtime.GOOS, runtime.GOARCH, orNone(native.ORTLibrary()), modelLine(native.DefaultModelDir()))
		},
	})
}

func orNone(s string) string {
	if s == "" {
		return "(not found)"
	}
	return s
}

// modelLine names the model in dir by its manifest, so that an image or an
// install shows which model it ships; a broken directory says why.
func modelLine(dir string) string {
	if dir == "" {
		return orNone(dir)
	}
	m, err := scorer.LoadManifest(dir)
	if err != nil {
		return fmt.Sprintf("%s (unusable: %v)", dir, err)
	}
	return fmt.Sprintf("%s (%s %s)", dir, m.Name, m.Version)
}

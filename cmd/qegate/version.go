package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/native"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version, and the ONNX Runtime library and default model it will use",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "qegate %s (%s %s/%s)\nonnxruntime: %s\ndefault model: %s\n",
				version, runtime.Version(), runtime.GOOS, runtime.GOARCH, orNone(native.ORTLibrary()), orNone(native.DefaultModelDir()))
		},
	})
}

func orNone(s string) string {
	if s == "" {
		return "(not found)"
	}
	return s
}

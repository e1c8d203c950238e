package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/app"
)

func init() { rootCmd.AddCommand(newHealthcheckCmd()) }

// newHealthcheckCmd asks a running gate's own metrics endpoint, so that a
// container HEALTHCHECK or an exec probe works in an image without curl.
func newHealthcheckCmd() *cobra.Command {
	var (
		configPath, path string
		timeout          time.Duration
	)
	cmd := &cobra.Command{
		Use:   "healthcheck [--config FILE] [--path /healthz|/readyz]",
		Short: "Ask the running gate's metrics endpoint (metrics.listen) whether it is alive, or ready with --path /readyz",
		Long: `healthcheck GETs --path on the address of metrics.listen (from --config and
the QEGATE_* environment, as the gate reads them; an unspecified host means
127.0.0.1) and exits 0 on 200, else 1 with the status and the reason the
gate gave. /healthz answers while the process serves; /readyz only while every
partition is assigned and the brokers answer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.Load(configPath)
			if err != nil {
				return err
			}
			url, err := healthURL(cfg.Metrics.Listen, path)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			body, err := probeURL(ctx, url)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", url, body)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "the gate's config file (default: built-in defaults and QEGATE_* env)")
	f.StringVar(&path, "path", "/healthz", "endpoint to ask: /healthz (alive) or /readyz (consuming)")
	f.DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}

// healthURL is the URL of path on the metrics endpoint listen; a listener
// on every interface is asked on the loopback one.
func healthURL(listen, path string) (string, error) {
	if listen == "" {
		return "", errors.New("healthcheck: metrics.listen is empty, so the gate serves no health endpoint (set metrics.listen or QEGATE_METRICS_LISTEN)")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("healthcheck: metrics.listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}

// probeURL GETs url and returns the trimmed body of a 200 answer; any other
// answer is an error holding the status and the body (the reason).
func probeURL(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	body := strings.TrimSpace(string(b))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("healthcheck: GET %s: %s: %s", url, resp.Status, body)
	}
	return body, nil
}

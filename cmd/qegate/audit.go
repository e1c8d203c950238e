package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/qegate/qegate/internal/app"
	"github.com/qegate/qegate/internal/audit"
	"github.com/qegate/qegate/internal/kafkaconn"
	"github.com/spf13/cobra"
)

func init() { rootCmd.AddCommand(newAuditCmd()) }

// errAuditMissing makes `qegate audit` exit non-zero when ids are missing.
var errAuditMissing = errors.New("audit: input messages are missing from the outputs")

func newAuditCmd() *cobra.Command {
	var (
		input, idField string
		configPath     string
		outputs        []string
		brokers        []string
		asJSON         bool
		timeout        time.Duration
		maxIDs         int
	)
	cmd := &cobra.Command{
		Use:   "audit --input TOPIC --outputs T1,T2,...",
		Short: "Check that every input message reached an output topic: report missing and duplicated ids",
		Long: `audit reads the input topic and every output topic from their first to their
current last offset and matches messages by id: the --id-field of a JSON-object
value, else the Kafka key, else the position of the input message
(topic:partition:offset, which outputs carry in their qe-source header).
Dead letters keep the original value and key, so they match too; an output
whose id matches no input is matched by its qe-source header (a dead letter
whose value was too large for the dead-letter topic is written without it).

A message is missing when an input id occurs more often in the input than in
all outputs together; duplicated counts the extra output copies
(at-least-once delivery makes them possible). Exit status 1 when anything is
missing, 0 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if input == "" || len(outputs) == 0 {
				return errors.New("audit: --input and --outputs are required")
			}
			// The gate's own config says where and how to connect
			// (brokers, TLS, SASL, output cluster); --brokers overrides.
			cfg, err := app.Load(configPath)
			if err != nil {
				return err
			}
			ac := audit.Config{Brokers: cfg.Kafka.Brokers, Conn: cfg.Kafka.Conn, Input: input, Outputs: outputs, IDField: idField, MaxIDs: maxIDs}
			if ac.OutputBrokers, ac.OutputConn, err = cfg.Output(); err != nil {
				return err
			}
			if len(brokers) > 0 {
				ac.Brokers, ac.OutputBrokers, ac.OutputConn = brokers, nil, kafkaconn.Config{}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			rep, err := audit.Run(ctx, ac)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				rep.Print(cmd.OutOrStdout())
			}
			if rep.Missing > 0 {
				return fmt.Errorf("%w: %d missing", errAuditMissing, rep.Missing)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&input, "input", "", "input topic")
	f.StringSliceVar(&outputs, "outputs", nil, "output topics (comma-separated): publish, post-edit, review and dead-letter topics")
	f.StringSliceVar(&brokers, "brokers", nil, "bootstrap brokers of input and outputs (default: kafka.brokers of --config / $QEGATE_KAFKA_BROKERS)")
	f.StringVarP(&configPath, "config", "c", "", "the gate's config file, for brokers, kafka.tls, kafka.sasl and output_kafka (default: built-in defaults and QEGATE_* env)")
	f.StringVar(&idField, "id-field", "id", "JSON field holding the message id")
	f.BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "give up reading after this long")
	f.IntVar(&maxIDs, "max-ids", 20, "how many missing and duplicated ids to list")
	return cmd
}

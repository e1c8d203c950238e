package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/spf13/cobra"

	"github.com/qegate/qegate/pipeline"
)

func init() { rootCmd.AddCommand(newAuditCmd()) }

// errAuditMissing makes `qegate audit` exit non-zero when ids are missing.
var errAuditMissing = errors.New("audit: input messages are missing from the outputs")

func newAuditCmd() *cobra.Command {
	var (
		input, idField string
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
			if len(brokers) == 0 {
				brokers = []string{"127.0.0.1:9092"}
				if env := os.Getenv("QEGATE_KAFKA_BROKERS"); env != "" {
					brokers = strings.Split(env, ",")
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			rep, err := runAudit(ctx, AuditConfig{Brokers: brokers, Input: input, Outputs: outputs, IDField: idField, MaxIDs: maxIDs})
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
				rep.print(cmd.OutOrStdout())
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
	f.StringSliceVar(&brokers, "brokers", nil, "bootstrap brokers (default $QEGATE_KAFKA_BROKERS, else 127.0.0.1:9092)")
	f.StringVar(&idField, "id-field", "id", "JSON field holding the message id")
	f.BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "give up reading after this long")
	f.IntVar(&maxIDs, "max-ids", 20, "how many missing and duplicated ids to list")
	return cmd
}

// AuditConfig says what `qegate audit` compares.
type AuditConfig struct {
	Brokers []string
	Input   string
	Outputs []string
	IDField string
	// MaxIDs caps the example ids listed in the report; 0 means 20.
	MaxIDs int
}

// AuditReport is the result of an audit (the --json output).
type AuditReport struct {
	Input   string   `json:"input"`
	Outputs []string `json:"outputs"`
	IDField string   `json:"id_field"`
	// InputMessages is how many messages the input topic held; InputIDs how
	// many distinct ids they carry.
	InputMessages int `json:"input_messages"`
	InputIDs      int `json:"input_ids"`
	// OutputMessages counts output messages, ByTopic per output topic.
	OutputMessages int            `json:"output_messages"`
	ByTopic        map[string]int `json:"by_topic"`
	// IDSources counts how input messages were identified: "id" (JSON id
	// field), "key" (Kafka key) or "position" (topic:partition:offset).
	IDSources map[string]int `json:"id_sources"`
	// Missing counts input messages without an output; Duplicated counts
	// extra output copies; DuplicatedIDs how many ids have extra copies;
	// Unexpected counts output messages whose id is not in the input.
	Missing       int      `json:"missing"`
	Duplicated    int      `json:"duplicated"`
	DuplicatedIDs int      `json:"duplicated_ids"`
	Unexpected    int      `json:"unexpected"`
	MissingList   []string `json:"missing_examples,omitempty"`
	DupList       []string `json:"duplicated_examples,omitempty"`
	ElapsedMS     int64    `json:"elapsed_ms"`
}

func (r *AuditReport) print(w io.Writer) {
	fmt.Fprintf(w, "input %s: %d messages, %d distinct ids (by %s)\n", r.Input, r.InputMessages, r.InputIDs, formatCounts(r.IDSources))
	fmt.Fprintf(w, "outputs: %d messages: %s\n", r.OutputMessages, formatCounts(r.ByTopic))
	fmt.Fprintf(w, "missing %d, duplicated %d (over %d ids), unexpected %d\n", r.Missing, r.Duplicated, r.DuplicatedIDs, r.Unexpected)
	if len(r.MissingList) > 0 {
		fmt.Fprintf(w, "missing ids (first %d): %s\n", len(r.MissingList), strings.Join(r.MissingList, ", "))
	}
	if len(r.DupList) > 0 {
		fmt.Fprintf(w, "duplicated ids (first %d): %s\n", len(r.DupList), strings.Join(r.DupList, ", "))
	}
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// auditID identifies a message for the audit: the id field of a JSON
// object value, else the key, else the input position (for an input
// message, its own topic:partition:offset; for an output, its qe-source
// header). kind says which of the three it was.
func auditID(idField string, value, key []byte, position string) (id, kind string) {
	if v := bytes.TrimSpace(value); len(v) > 0 && v[0] == '{' {
		var obj map[string]json.RawMessage
		if json.Unmarshal(v, &obj) == nil {
			if raw, ok := obj[idField]; ok {
				if t := idRawText(raw); t != "" {
					return "id:" + t, "id"
				}
			}
		}
	}
	if len(key) > 0 {
		return "key:" + string(key), "key"
	}
	return "pos:" + position, "position"
}

// idRawText renders a JSON id: a string as itself, anything else compacted
// (so whitespace a re-encoding might change does not matter). "" for null.
func idRawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil || b.String() == "null" {
		return ""
	}
	return b.String()
}

// auditCounter accumulates the per-id counts of one audit.
type auditCounter struct {
	idField string
	in, out map[string]int
	// byPos maps an input position (topic:partition:offset) to its id, for
	// outputs whose own id does not match: a dead letter whose value the
	// dead-letter topic refused is written without it.
	byPos map[string]string
	r     *AuditReport
}

func newAuditCounter(cfg AuditConfig) *auditCounter {
	return &auditCounter{
		idField: cfg.IDField, in: map[string]int{}, out: map[string]int{}, byPos: map[string]string{},
		r: &AuditReport{Input: cfg.Input, Outputs: cfg.Outputs, IDField: cfg.IDField, ByTopic: map[string]int{}, IDSources: map[string]int{}},
	}
}

func (c *auditCounter) addInput(m kafka.Message) {
	pos := pipeline.Origin{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}.String()
	id, kind := auditID(c.idField, m.Value, m.Key, pos)
	c.in[id]++
	c.byPos[pos] = id
	c.r.InputMessages++
	c.r.IDSources[kind]++
}

func (c *auditCounter) addOutput(m kafka.Message) {
	pos := ""
	for _, h := range m.Headers {
		if h.Key == pipeline.HeaderSource {
			pos = string(h.Value)
		}
	}
	id, _ := auditID(c.idField, m.Value, m.Key, pos)
	if _, ok := c.in[id]; !ok {
		if byPos, ok := c.byPos[pos]; ok {
			id = byPos
		}
	}
	c.out[id]++
	c.r.OutputMessages++
	c.r.ByTopic[m.Topic]++
}

func (c *auditCounter) finish(maxIDs int) *AuditReport {
	if maxIDs <= 0 {
		maxIDs = 20
	}
	r := c.r
	r.InputIDs = len(c.in)
	var miss, dup []string
	for id, n := range c.in {
		got := c.out[id]
		switch {
		case got < n:
			r.Missing += n - got
			miss = append(miss, strings.SplitN(id, ":", 2)[1])
		case got > n:
			r.Duplicated += got - n
			r.DuplicatedIDs++
			dup = append(dup, strings.SplitN(id, ":", 2)[1])
		}
	}
	for id, n := range c.out {
		if _, ok := c.in[id]; !ok {
			r.Unexpected += n
		}
	}
	sort.Strings(miss)
	sort.Strings(dup)
	r.MissingList = miss[:min(len(miss), maxIDs)]
	r.DupList = dup[:min(len(dup), maxIDs)]
	return r
}

// runAudit reads the input and output topics to their current ends. The
// ends of the outputs are taken after the input is read, so outputs of the
// whole input are seen when the gate has finished it.
func runAudit(ctx context.Context, cfg AuditConfig) (*AuditReport, error) {
	if cfg.IDField == "" {
		cfg.IDField = "id"
	}
	start := time.Now()
	c := newAuditCounter(cfg)
	if err := eachMessage(ctx, cfg.Brokers, cfg.Input, c.addInput); err != nil {
		return nil, err
	}
	for _, t := range cfg.Outputs {
		if err := eachMessage(ctx, cfg.Brokers, t, c.addOutput); err != nil {
			return nil, err
		}
	}
	r := c.finish(cfg.MaxIDs)
	r.ElapsedMS = time.Since(start).Milliseconds()
	return r, nil
}

// eachMessage calls fn for every message of topic from the first offset of
// each partition to its last offset at the time of the call, without
// keeping the messages (inputs can be large).
func eachMessage(ctx context.Context, brokers []string, topic string, fn func(kafka.Message)) error {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return fmt.Errorf("audit: metadata %s: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		if len(md.Topics) == 1 {
			err = md.Topics[0].Error
		}
		return fmt.Errorf("audit: topic %s: %w", topic, errors.Join(err, errors.New("not found")))
	}
	var reqs []kafka.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return fmt.Errorf("audit: list offsets %s: %w", topic, err)
	}
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return fmt.Errorf("audit: offsets %s/%d: %w", topic, po.Partition, po.Error)
		}
		if po.LastOffset <= po.FirstOffset {
			continue
		}
		if err := eachInPartition(ctx, brokers, topic, po.Partition, po.FirstOffset, po.LastOffset, fn); err != nil {
			return err
		}
	}
	return nil
}

func eachInPartition(ctx context.Context, brokers []string, topic string, part int, first, end int64, fn func(kafka.Message)) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: brokers, Topic: topic, Partition: part,
		MinBytes: 1, MaxBytes: 64 << 20, MaxWait: 200 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(first); err != nil {
		return fmt.Errorf("audit: %s/%d: %w", topic, part, err)
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return fmt.Errorf("audit: %s/%d at offset %d of [%d,%d): %w", topic, part, first, first, end, err)
		}
		fn(m)
		first = m.Offset + 1
		if m.Offset >= end-1 {
			return nil
		}
	}
}

// Package audit answers "was anything lost?" after an incident: it reads
// a gate's input topic and every output topic to their ends and matches
// messages by id (qegate audit).
package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/qegate/qegate/internal/kafkaconn"
	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline"
	"github.com/segmentio/kafka-go"
)

// Config says what `qegate audit` compares.
type Config struct {
	Brokers []string
	// Conn is how to connect (TLS, SASL); zero: plaintext.
	Conn kafkaconn.Config
	// OutputBrokers and OutputConn are where the outputs are, when the
	// gate writes to another cluster; empty OutputBrokers: Brokers, Conn.
	OutputBrokers []string
	OutputConn    kafkaconn.Config
	Input         string
	Outputs       []string
	IDField       string
	// MaxIDs caps the example ids listed in the report; 0 means 20.
	MaxIDs int
}

// Report is the result of an audit (the --json output).
type Report struct {
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
	//
	// Missing is the larger of the two counts below it: by id, an input
	// message whose id has fewer output copies than input copies; by
	// position, an input message (topic:partition:offset) that no output
	// names in its qe-source header. Ids alone let a lost message hide
	// behind a repeated id whose other copy was redelivered twice.
	Missing int `json:"missing"`
	// MissingByID and MissingByPosition are the two counts; the position
	// count is used only when every output carries qe-source
	// (OutputsWithoutSource == 0), as everything qegate writes does.
	MissingByID          int `json:"missing_by_id"`
	MissingByPosition    int `json:"missing_by_position"`
	DuplicatedByPosition int `json:"duplicated_by_position"`
	OutputsWithoutSource int `json:"outputs_without_source"`
	// MissingPositions lists example input positions no output names.
	MissingPositions []string `json:"missing_positions,omitempty"`
	Duplicated       int      `json:"duplicated"`
	DuplicatedIDs    int      `json:"duplicated_ids"`
	Unexpected       int      `json:"unexpected"`
	MissingList      []string `json:"missing_examples,omitempty"`
	DupList          []string `json:"duplicated_examples,omitempty"`
	ElapsedMS        int64    `json:"elapsed_ms"`
}

// Print writes the report for a person.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "input %s: %d messages, %d distinct ids (by %s)\n", r.Input, r.InputMessages, r.InputIDs, formatCounts(r.IDSources))
	fmt.Fprintf(w, "outputs: %d messages: %s\n", r.OutputMessages, formatCounts(r.ByTopic))
	fmt.Fprintf(w, "missing %d (by id %d, by input position %d), duplicated %d (over %d ids; %d by position), unexpected %d\n",
		r.Missing, r.MissingByID, r.MissingByPosition, r.Duplicated, r.DuplicatedIDs, r.DuplicatedByPosition, r.Unexpected)
	if r.OutputsWithoutSource > 0 {
		fmt.Fprintf(w, "%d outputs carry no qe-source header: missing counted by id only\n", r.OutputsWithoutSource)
	}
	if len(r.MissingPositions) > 0 {
		fmt.Fprintf(w, "missing input positions (first %d): %s\n", len(r.MissingPositions), strings.Join(r.MissingPositions, ", "))
	}
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

// ID identifies a message for the audit: the id field of a JSON
// object value, else the key, else the input position (for an input
// message, its own topic:partition:offset; for an output, its qe-source
// header). kind says which of the three it was.
func ID(idField string, value, key []byte, position string) (id, kind string) {
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

// counter accumulates the per-id counts of one audit.
type counter struct {
	idField string
	in, out map[string]int
	// byPos maps an input position (topic:partition:offset) to its id, for
	// outputs whose own id does not match: a dead letter whose value the
	// dead-letter topic refused is written without it.
	byPos map[string]string
	// outPos counts outputs per qe-source position.
	outPos map[string]int
	r      *Report
}

func newCounter(cfg Config) *counter {
	return &counter{
		idField: cfg.IDField, in: map[string]int{}, out: map[string]int{}, byPos: map[string]string{}, outPos: map[string]int{},
		r: &Report{Input: cfg.Input, Outputs: cfg.Outputs, IDField: cfg.IDField, ByTopic: map[string]int{}, IDSources: map[string]int{}},
	}
}

func (c *counter) addInput(m kafka.Message) {
	pos := pipeline.Origin{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}.String()
	id, kind := ID(c.idField, m.Value, m.Key, pos)
	c.in[id]++
	c.byPos[pos] = id
	c.r.InputMessages++
	c.r.IDSources[kind]++
}

func (c *counter) addOutput(m kafka.Message) {
	pos := ""
	for _, h := range m.Headers {
		if h.Key == qe.HeaderSource {
			pos = string(h.Value)
		}
	}
	if pos == "" {
		c.r.OutputsWithoutSource++
	} else {
		c.outPos[pos]++
	}
	id, _ := ID(c.idField, m.Value, m.Key, pos)
	if _, ok := c.in[id]; !ok {
		if byPos, ok := c.byPos[pos]; ok {
			id = byPos
		}
	}
	c.out[id]++
	c.r.OutputMessages++
	c.r.ByTopic[m.Topic]++
}

func (c *counter) finish(maxIDs int) *Report {
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
	r.MissingByID = r.Missing
	var missPos []string
	for pos := range c.byPos {
		switch n := c.outPos[pos]; {
		case n == 0:
			r.MissingByPosition++
			missPos = append(missPos, pos)
		case n > 1:
			r.DuplicatedByPosition += n - 1
		}
	}
	if r.OutputsWithoutSource == 0 && r.MissingByPosition > r.Missing {
		r.Missing = r.MissingByPosition
	}
	sort.Strings(missPos)
	r.MissingPositions = missPos[:min(len(missPos), maxIDs)]
	sort.Strings(miss)
	sort.Strings(dup)
	r.MissingList = miss[:min(len(miss), maxIDs)]
	r.DupList = dup[:min(len(dup), maxIDs)]
	return r
}

// Run reads the input and output topics to their current ends. The
// ends of the outputs are taken after the input is read, so outputs of the
// whole input are seen when the gate has finished it.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.IDField == "" {
		cfg.IDField = "id"
	}
	outBrokers, outConn := cfg.OutputBrokers, cfg.OutputConn
	if len(outBrokers) == 0 {
		outBrokers, outConn = cfg.Brokers, cfg.Conn
	}
	start := time.Now()
	c := newCounter(cfg)
	if err := kafkaread.EachConn(ctx, cfg.Brokers, cfg.Conn, cfg.Input, c.addInput); err != nil {
		return nil, err
	}
	for _, t := range cfg.Outputs {
		if err := kafkaread.EachConn(ctx, outBrokers, outConn, t, c.addOutput); err != nil {
			return nil, err
		}
	}
	r := c.finish(cfg.MaxIDs)
	r.ElapsedMS = time.Since(start).Milliseconds()
	return r, nil
}

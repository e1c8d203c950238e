package audit

import (
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline"
)

func scoreResult(s float32) qe.Result {
	return qe.Result{Score: s, Threshold: 0.5, Acceptable: s >= 0.5}
}

func TestAuditID(t *testing.T) {
	tests := []struct {
		value, key, pos, want, kind string
	}{
		{`{"id":"a1","src":"x"}`, "k", "in:0:1", "id:a1", "id"},
		{` {"id": 42 }`, "", "in:0:1", "id:42", "id"},
		{`{"id":{"a": 1}}`, "", "in:0:1", `id:{"a":1}`, "id"},
		{`{"id":null}`, "k", "in:0:1", "key:k", "key"},
		{`{"src":"x"}`, "k", "in:0:1", "key:k", "key"},
		{"not json", "k", "in:0:1", "key:k", "key"},
		{"\xff\xfe", "", "in:3:7", "pos:in:3:7", "position"},
		{`{"id":"a1"`, "", "in:0:2", "pos:in:0:2", "position"},
	}
	for _, tc := range tests {
		id, kind := ID("id", []byte(tc.value), []byte(tc.key), tc.pos)
		if id != tc.want || kind != tc.kind {
			t.Errorf("ID(%q, key %q) = %q, %q; want %q, %q", tc.value, tc.key, id, kind, tc.want, tc.kind)
		}
	}
}

func TestAuditCounter(t *testing.T) {
	c := newCounter(Config{Input: "in", Outputs: []string{"pub", "dlq"}, IDField: "id"})
	in := []kafka.Message{
		{Topic: "in", Partition: 0, Offset: 0, Value: []byte(`{"id":"a"}`)},
		{Topic: "in", Partition: 0, Offset: 1, Value: []byte(`{"id":"b"}`)},
		{Topic: "in", Partition: 0, Offset: 2, Value: []byte("garbage"), Key: []byte("g")},
		{Topic: "in", Partition: 1, Offset: 0, Value: []byte("\xff")},
		{Topic: "in", Partition: 1, Offset: 1, Value: []byte(`{"id":"c"}`)},
		{Topic: "in", Partition: 1, Offset: 2, Value: []byte(`{"id":"d"}`)}, // lost
	}
	for _, m := range in {
		c.addInput(m)
	}
	src := func(o string) []kafka.Header { return []kafka.Header{{Key: qe.HeaderSource, Value: []byte(o)}} }
	out := []kafka.Message{
		{Topic: "pub", Value: []byte(`{"id":"a","qe":{}}`), Headers: src("in:0:0")},
		{Topic: "pub", Value: []byte(`{"id":"a","qe":{}}`), Headers: src("in:0:0")}, // duplicate
		{Topic: "dlq", Value: []byte("garbage"), Key: []byte("g"), Headers: src("in:0:2")},
		{Topic: "dlq", Value: []byte("\xff"), Headers: src("in:1:0")},
		{Topic: "pub", Value: []byte(`{"id":"c","qe":{}}`), Headers: src("in:1:1")},
		{Topic: "pub", Value: []byte(`{"id":"zz","qe":{}}`), Headers: src("other:0:0")},
		// a dead letter written without its value: matched by qe-source
		{Topic: "dlq", Key: []byte("kb"), Headers: src("in:0:1")},
	}
	for _, m := range out {
		c.addOutput(m)
	}
	r := c.finish(0)
	if r.InputMessages != 6 || r.InputIDs != 6 || r.OutputMessages != 7 {
		t.Fatalf("counts: %+v", r)
	}
	if r.Missing != 1 || len(r.MissingList) != 1 || r.MissingList[0] != "d" {
		t.Fatalf("missing: %d %v", r.Missing, r.MissingList)
	}
	if r.Duplicated != 1 || r.DuplicatedIDs != 1 || r.DupList[0] != "a" || r.Unexpected != 1 {
		t.Fatalf("duplicated %d %v unexpected %d", r.Duplicated, r.DupList, r.Unexpected)
	}
	if r.ByTopic["pub"] != 4 || r.ByTopic["dlq"] != 3 || r.IDSources["id"] != 4 || r.IDSources["key"] != 1 || r.IDSources["position"] != 1 {
		t.Fatalf("by topic %v, sources %v", r.ByTopic, r.IDSources)
	}
}

// TestAuditRepeatedIDHidesNoLoss: a producer sent id "r" twice; the gate
// lost one copy and redelivered the other twice. By id that balances out
// (2 in, 2 out); by input position one message has no output at all.
func TestAuditRepeatedIDHidesNoLoss(t *testing.T) {
	src := func(o string) []kafka.Header { return []kafka.Header{{Key: qe.HeaderSource, Value: []byte(o)}} }
	tests := []struct {
		name           string
		out            []kafka.Message
		missing, byPos int
		byID, dupByPos int
	}{
		{"one copy lost, the other duplicated", []kafka.Message{
			{Topic: "pub", Value: []byte(`{"id":"r"}`), Headers: src("in:0:0")},
			{Topic: "pub", Value: []byte(`{"id":"r"}`), Headers: src("in:0:0")},
		}, 1, 1, 0, 1},
		{"both delivered", []kafka.Message{
			{Topic: "pub", Value: []byte(`{"id":"r"}`), Headers: src("in:0:0")},
			{Topic: "pub", Value: []byte(`{"id":"r"}`), Headers: src("in:0:1")},
		}, 0, 0, 0, 0},
		{"outputs without qe-source: by id only", []kafka.Message{
			{Topic: "pub", Value: []byte(`{"id":"r"}`)},
			{Topic: "pub", Value: []byte(`{"id":"r"}`)},
		}, 0, 2, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCounter(Config{Input: "in", Outputs: []string{"pub"}, IDField: "id"})
			c.addInput(kafka.Message{Topic: "in", Partition: 0, Offset: 0, Value: []byte(`{"id":"r"}`)})
			c.addInput(kafka.Message{Topic: "in", Partition: 0, Offset: 1, Value: []byte(`{"id":"r"}`)})
			for _, m := range tc.out {
				c.addOutput(m)
			}
			r := c.finish(0)
			if r.Missing != tc.missing || r.MissingByPosition != tc.byPos || r.MissingByID != tc.byID || r.DuplicatedByPosition != tc.dupByPos {
				t.Fatalf("missing %d (by id %d, by position %d), duplicated by position %d; want %d (%d, %d), %d",
					r.Missing, r.MissingByID, r.MissingByPosition, r.DuplicatedByPosition, tc.missing, tc.byID, tc.byPos, tc.dupByPos)
			}
			if tc.missing > 0 && (len(r.MissingPositions) != 1 || r.MissingPositions[0] != "in:0:1") {
				t.Fatalf("missing positions %v, want [in:0:1]", r.MissingPositions)
			}
		})
	}
}

// FuzzAuditID checks the property `qegate audit` rests on: whatever the
// input, the output the gate builds from it (scored, or dead-lettered with
// the value and key untouched) has the same audit id as the input.
//
//	go test -run=^$ -fuzz=FuzzAuditID -fuzztime=10s ./internal/audit
func FuzzAuditID(f *testing.F) {
	for _, s := range []string{
		`{"id":"a1","src":"Hello","mt":"Hallo","src_lang":"en","tgt_lang":"de"}`,
		`{"id":{"b": [1, 2]},"src":"a","mt":"b","src_lang":"en","tgt_lang":"de","qe":1}`,
		`{"id": 1.50,"src":"a","mt":"b","src_lang":"en","tgt_lang":"de"}`,
		`{"id":null,"src":"a","mt":"b","src_lang":"en","tgt_lang":"de"}`,
		"\xff\xfe", `[]`, ``,
	} {
		f.Add([]byte(s), []byte("key"), float32(0.7))
		f.Add([]byte(s), []byte(nil), float32(0.2))
	}
	dec := pipeline.NewDecoder(pipeline.DecoderConfig{MaxBytes: 1 << 16})
	r := pipeline.NewRouter(pipeline.RoutesConfig{Publish: "pub", PostEdit: "pe", DeadLetter: "dlq"}, qe.ModelID{Name: "m", Version: "1"})
	f.Fuzz(func(t *testing.T, v, key []byte, score float32) {
		origin := pipeline.Origin{Topic: "in", Partition: 1, Offset: 42}
		it := pipeline.NewItem(origin, key, v, nil, nil, nil)
		dec.Decode(it)
		var out []byte
		var outKey []byte
		var src string
		if it.Err != nil {
			rec := r.DeadLetter(it, it.Err.Error())
			out, outKey, src = rec.Value, rec.Key, string(rec.Header(qe.HeaderSource))
		} else {
			_, rec, err := r.Scored(it, scoreResult(score))
			if err != nil {
				return // non-finite fuzzed scores are dead-lettered by the engine
			}
			out, outKey, src = rec.Value, rec.Key, string(rec.Header(qe.HeaderSource))
		}
		inID, _ := ID("id", v, key, origin.String())
		outID, _ := ID("id", out, outKey, src)
		if inID != outID {
			t.Fatalf("input id %q, output id %q\nin  %q\nout %q", inID, outID, v, out)
		}
	})
}

func TestAuditPrint(t *testing.T) {
	r := &Report{Input: "in", InputMessages: 3, InputIDs: 3, OutputMessages: 3,
		ByTopic: map[string]int{"pub": 2, "dlq": 1}, IDSources: map[string]int{"id": 3},
		Missing: 1, MissingByID: 1, MissingByPosition: 1, Duplicated: 1, DuplicatedIDs: 1, DuplicatedByPosition: 1,
		MissingList: []string{"b"}, DupList: []string{"a"}, MissingPositions: []string{"in:0:1"}}
	var b strings.Builder
	r.Print(&b)
	for _, want := range []string{"input in: 3 messages, 3 distinct ids (by id=3)", "outputs: 3 messages: dlq=1 pub=2",
		"missing 1 (by id 1, by input position 1), duplicated 1 (over 1 ids; 1 by position)", "missing ids (first 1): b",
		"missing input positions (first 1): in:0:1", "duplicated ids (first 1): a"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

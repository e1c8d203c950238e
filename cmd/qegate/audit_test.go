package main

import (
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/pipeline"
)

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
		id, kind := auditID("id", []byte(tc.value), []byte(tc.key), tc.pos)
		if id != tc.want || kind != tc.kind {
			t.Errorf("auditID(%q, key %q) = %q, %q; want %q, %q", tc.value, tc.key, id, kind, tc.want, tc.kind)
		}
	}
}

func TestAuditCounter(t *testing.T) {
	c := newAuditCounter(AuditConfig{Input: "in", Outputs: []string{"pub", "dlq"}, IDField: "id"})
	in := []kafka.Message{
		{Topic: "in", Partition: 0, Offset: 0, Value: []byte(`{"id":"a"}`)},
		{Topic: "in", Partition: 0, Offset: 1, Value: []byte(`{"id":"b"}`)},
		{Topic: "in", Partition: 0, Offset: 2, Value: []byte("garbage"), Key: []byte("g")},
		{Topic: "in", Partition: 1, Offset: 0, Value: []byte("\xff")},
		{Topic: "in", Partition: 1, Offset: 1, Value: []byte(`{"id":"c"}`)},
	}
	for _, m := range in {
		c.addInput(m)
	}
	src := func(o string) []kafka.Header { return []kafka.Header{{Key: pipeline.HeaderSource, Value: []byte(o)}} }
	out := []kafka.Message{
		{Topic: "pub", Value: []byte(`{"id":"a","qe":{}}`), Headers: src("in:0:0")},
		{Topic: "pub", Value: []byte(`{"id":"a","qe":{}}`), Headers: src("in:0:0")}, // duplicate
		{Topic: "dlq", Value: []byte("garbage"), Key: []byte("g"), Headers: src("in:0:2")},
		{Topic: "dlq", Value: []byte("\xff"), Headers: src("in:1:0")},
		{Topic: "pub", Value: []byte(`{"id":"c","qe":{}}`), Headers: src("in:1:1")},
		{Topic: "pub", Value: []byte(`{"id":"zz","qe":{}}`), Headers: src("other:0:0")},
	}
	for _, m := range out {
		c.addOutput(m)
	}
	r := c.finish(0)
	if r.InputMessages != 5 || r.InputIDs != 5 || r.OutputMessages != 6 {
		t.Fatalf("counts: %+v", r)
	}
	if r.Missing != 1 || len(r.MissingList) != 1 || r.MissingList[0] != "b" {
		t.Fatalf("missing: %d %v", r.Missing, r.MissingList)
	}
	if r.Duplicated != 1 || r.DuplicatedIDs != 1 || r.DupList[0] != "a" || r.Unexpected != 1 {
		t.Fatalf("duplicated %d %v unexpected %d", r.Duplicated, r.DupList, r.Unexpected)
	}
	if r.ByTopic["pub"] != 4 || r.ByTopic["dlq"] != 2 || r.IDSources["id"] != 3 || r.IDSources["key"] != 1 || r.IDSources["position"] != 1 {
		t.Fatalf("by topic %v, sources %v", r.ByTopic, r.IDSources)
	}
}

package validate

import (
	"testing"
)

func TestConfigSchema(t *testing.T) {
	s := configSchema(t)
	for _, tc := range []struct {
		name string
		doc  string
		want []string // error parts; none: valid
	}{
		{name: "reference keys", doc: "kafka:\n  brokers: [a:9092]\n  group_id: g\nmetrics:\n  listen: :9464\nmodel:\n  sessions: 2\n  thresholds: {en-de: 0.6}\n"},
		{name: "TLS and SASL keys", doc: "kafka:\n  tls: {enable: true, ca_file: /x}\n  sasl: {mechanism: PLAIN, password_file: /p}\n"},
		{name: "rules and output cluster", doc: "rules:\n  copy: {min_similarity: 0.8}\noutput_kafka:\n  brokers: [b:9092]\n"},
		{name: "unknown rules key", doc: "rules:\n  anything: 1\n", want: []string{"unknown key rules.anything"}},
		{name: "unknown section", doc: "kafak:\n  brokers: [a:9092]\n", want: []string{`unknown section "kafak"`}},
		{name: "unknown key", doc: "kafka:\n  group: g\n", want: []string{"unknown key kafka.group"}},
		{name: "unknown nested key", doc: "kafka:\n  tls: {enabled: true}\n", want: []string{"unknown key kafka.tls.enabled"}},
		{name: "string for a list", doc: "kafka:\n  brokers: a:9092\n", want: []string{"kafka.brokers: want a list"}},
		{name: "list for a string", doc: "kafka:\n  group_id: [g]\n", want: []string{"kafka.group_id: want a string"}},
		{name: "scalar thresholds", doc: "model:\n  thresholds: 0.5\n", want: []string{"model.thresholds: want a map"}},
		{name: "section not a map", doc: "log: debug\n", want: []string{"section log: want a map"}},
		{name: "duplicate key", doc: "log:\n  level: info\n  level: debug\n", want: []string{"already set"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Check([]byte(tc.doc))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tc.want...)
		})
	}
}

func TestConfigEnvKey(t *testing.T) {
	s := configSchema(t)
	for env, want := range map[string]string{
		"QEGATE_KAFKA_BROKERS":          "kafka.brokers",
		"QEGATE_KAFKA_GROUP_ID":         "kafka.group_id",
		"QEGATE_MODEL_INTRA_OP_THREADS": "model.intra_op_threads",
		"QEGATE_METRICS_LISTEN":         "metrics.listen",
		"QEGATE_KAFKA_SASL_USERNAME":    "kafka.sasl.username",
		"QEGATE_KAFKA_GROUPID":          "",
		"KAFKA_BROKERS":                 "",
	} {
		got, ok := s.EnvKey(env)
		if got != want || ok != (want != "") {
			t.Errorf("EnvKey(%s) = %q, %v; want %q", env, got, ok, want)
		}
	}
}

package app

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestShippedConfigMatchesDefaults(t *testing.T) {
	fromFile, err := Load(filepath.Join("..", "..", "configs", "qegate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fromDefaults, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromFile, fromDefaults) {
		t.Fatalf("configs/qegate.yaml and built-in defaults differ:\nfile:     %+v\ndefaults: %+v", fromFile, fromDefaults)
	}
	b, _ := os.ReadFile(filepath.Join("..", "..", "configs", "qegate.yaml"))
	for key := range Keys() {
		leaf := key[strings.LastIndexByte(key, '.')+1:]
		if !strings.Contains(string(b), leaf+":") {
			t.Errorf("key %s is not documented in configs/qegate.yaml", key)
		}
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		wantErr string
		check   func(*testing.T, *Config)
	}{
		{name: "unknown key", yaml: "kafka:\n  brokerz: [a:1]\n", wantErr: "unknown key(s): kafka.brokerz"},
		{name: "unknown section", yaml: "kafak:\n  brokers: [a:1]\n", wantErr: "unknown key"},
		{name: "bad duration", yaml: "pipeline:\n  batch_wait: soon\n", wantErr: "batch_wait"},
		{name: "bad template", yaml: "routes:\n  publish: \"pub.{language}\"\n", wantErr: "unknown placeholder"},
		{name: "bad level", yaml: "log:\n  level: loud\n", wantErr: "log.level"},
		{
			name: "env overrides file",
			yaml: "kafka:\n  brokers: [file:9092]\n",
			env:  map[string]string{"QEGATE_KAFKA_BROKERS": "a:1,b:2", "QEGATE_PIPELINE_BATCH_WAIT": "25ms", "QEGATE_ROUTES_REVIEW_MARGIN": "0.1"},
			check: func(t *testing.T, c *Config) {
				if strings.Join(c.Kafka.Brokers, ",") != "a:1,b:2" || c.Pipeline.BatchWait != 25*time.Millisecond || c.Routes.ReviewMargin != 0.1 {
					t.Fatalf("env not applied: %+v %+v", c.Kafka.Brokers, c.Pipeline)
				}
			},
		},
		{
			name: "thresholds map",
			yaml: "model:\n  thresholds: {en-de: 0.7, default: 0.4}\n",
			check: func(t *testing.T, c *Config) {
				if c.Model.ThresholdOverrides["en-de"] != 0.7 || c.Model.ThresholdOverrides["default"] != 0.4 {
					t.Fatalf("thresholds = %v", c.Model.ThresholdOverrides)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Load(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// TestLoadSecrets: the SASL password reaches the config from the
// environment or a file, never from a printed config.
func TestLoadSecrets(t *testing.T) {
	const pw = "s3cret-Pa55word"
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		yaml string
		env  map[string]string
	}{
		"env":  {"kafka:\n  tls: {enable: true}\n  sasl: {mechanism: SCRAM-SHA-512, username: qegate}\n", map[string]string{"QEGATE_KAFKA_SASL_PASSWORD": pw}},
		"file": {"kafka:\n  tls: {enable: true}\n  sasl: {mechanism: SCRAM-SHA-512, username: qegate, password_file: " + pwFile + "}\n", nil},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Kafka.Conn.SASL.Password.Reveal(); got != pw {
				t.Fatalf("password %q, want %q", got, pw)
			}
			for _, s := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
				if strings.Contains(s, pw) {
					t.Fatalf("a printed config holds the password: %s", s)
				}
			}
		})
	}
}

package kafkaconn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qegate/qegate/internal/kafkatest/pki"
)

const testPassword = "hunter2-Sup3rSecret"

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string // substring; "" means valid
	}{
		{"zero is plaintext", Config{}, ""},
		{"tls only", Config{TLS: TLSConfig{Enable: true}}, ""},
		{"tls with ca", Config{TLS: TLSConfig{Enable: true, CAFile: "/ca.pem"}}, ""},
		{"ca without enable", Config{TLS: TLSConfig{CAFile: "/ca.pem"}}, "kafka.tls.ca_file is set but kafka.tls.enable is false"},
		{"server name without enable", Config{TLS: TLSConfig{ServerName: "x"}}, "kafka.tls.server_name is set"},
		{"insecure without enable", Config{TLS: TLSConfig{InsecureSkipVerify: true}}, "kafka.tls.insecure_skip_verify is set"},
		{"cert without key", Config{TLS: TLSConfig{Enable: true, CertFile: "/c.pem"}}, "set both for mTLS"},
		{"key without cert", Config{TLS: TLSConfig{Enable: true, KeyFile: "/k.pem"}}, "set both for mTLS"},
		{"mtls", Config{TLS: TLSConfig{Enable: true, CertFile: "/c.pem", KeyFile: "/k.pem"}}, ""},
		{"scram 512", Config{SASL: SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "u", Password: "p"}}, ""},
		{"scram lower case", Config{SASL: SASLConfig{Mechanism: "scram-sha-256", Username: "u", Password: "p"}}, ""},
		{"plain with file", Config{SASL: SASLConfig{Mechanism: "PLAIN", Username: "u", PasswordFile: "/p"}}, ""},
		{"unknown mechanism", Config{SASL: SASLConfig{Mechanism: "GSSAPI", Username: "u", Password: "p"}}, `kafka.sasl.mechanism: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got "GSSAPI"`},
		{"no username", Config{SASL: SASLConfig{Mechanism: "PLAIN", Password: "p"}}, "kafka.sasl.username: required"},
		{"no password", Config{SASL: SASLConfig{Mechanism: "PLAIN", Username: "u"}}, "QEGATE_KAFKA_SASL_PASSWORD"},
		{"both passwords", Config{SASL: SASLConfig{Mechanism: "PLAIN", Username: "u", Password: "p", PasswordFile: "/p"}}, "are both set"},
		{"user without mechanism", Config{SASL: SASLConfig{Username: "u"}}, "kafka.sasl.mechanism is empty"},
		{"output section", Config{Section: "output_kafka", SASL: SASLConfig{Mechanism: "PLAIN", Username: "u"}}, "QEGATE_OUTPUT_KAFKA_SASL_PASSWORD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.err != "" && err == nil:
				t.Fatalf("Validate() = nil, want error containing %q", tc.err)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("Validate() = %q, want it to contain %q", err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestResolvePasswordFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, file, want, err string
	}{
		{"trailing newline dropped", write("nl", testPassword+"\n"), testPassword, ""},
		{"crlf dropped", write("crlf", testPassword+"\r\n"), testPassword, ""},
		{"inner spaces kept", write("sp", " a b \n"), " a b ", ""},
		{"empty file", write("empty", "\n"), "", "is empty"},
		{"missing file", filepath.Join(dir, "nope"), "", "kafka.sasl.password_file: open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{SASL: SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "alice", PasswordFile: tc.file}}
			r, err := c.Resolve()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Resolve() error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.SASL.Password.Reveal(); got != tc.want {
				t.Fatalf("password = %q, want %q", got, tc.want)
			}
			if r.SASL.PasswordFile != tc.file {
				t.Errorf("PasswordFile changed to %q", r.SASL.PasswordFile)
			}
		})
	}
}

// TestSecretsNeverPrint prints a config holding a password in every way a
// log line, an error or a config dump could, and greps for the password.
func TestSecretsNeverPrint(t *testing.T) {
	cfg := Config{
		TLS:  TLSConfig{Enable: true, CAFile: "/etc/ca.pem"},
		SASL: SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "alice", Password: Secret(testPassword)},
	}
	type wrapper struct {
		Kafka Config
		SASL  SASLConfig
		Pw    Secret
		Ptr   *Secret
	}
	pw := Secret(testPassword)
	w := wrapper{Kafka: cfg, SASL: cfg.SASL, Pw: pw, Ptr: &pw}

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		outs = append(outs, fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, cfg.SASL), fmt.Sprintf(verb, pw), fmt.Sprintf(verb, w), fmt.Sprintf(verb, &w))
	}
	outs = append(outs, cfg.String(), fmt.Sprint(cfg), fmt.Sprintln(pw), fmt.Errorf("config: %v", cfg).Error())
	for _, v := range []any{cfg, cfg.SASL, pw, w} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		outs = append(outs, string(b))
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("kafka", "conn", cfg, "sasl", cfg.SASL, "pw", pw, "wrapped", w)
		l.Info("kafka", slog.Any("conn", cfg), slog.Any("pw", &pw))
	}
	outs = append(outs, logs.String())

	for _, o := range outs {
		if strings.Contains(o, testPassword) || strings.Contains(o, fmt.Sprintf("%x", testPassword)) {
			t.Fatalf("password printed: %s", o)
		}
	}
	// The redaction is visible, so an operator knows a password is set.
	if !strings.Contains(logs.String(), "[redacted]") || !strings.Contains(cfg.String(), "[redacted]") {
		t.Errorf("no [redacted] marker in:\n%s\n%s", logs.String(), cfg.String())
	}
	if got := pw.Reveal(); got != testPassword {
		t.Errorf("Reveal() = %q", got)
	}
	if got := fmt.Sprint(Secret("")); got != "" {
		t.Errorf("empty secret prints %q, want empty", got)
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "plaintext, no sasl"},
		{Config{TLS: TLSConfig{Enable: true}}, "tls (system CAs), no sasl"},
		{Config{TLS: TLSConfig{Enable: true, CAFile: "/ca", CertFile: "/c", KeyFile: "/k", ServerName: "b", InsecureSkipVerify: true}},
			"tls (ca /ca, client cert /c, server name b, VERIFICATION OFF), no sasl"},
		{Config{SASL: SASLConfig{Mechanism: "plain", Username: "u", Password: "p"}}, "plaintext, sasl PLAIN user u password [redacted]"},
		{Config{SASL: SASLConfig{Mechanism: "SCRAM-SHA-256", Username: "u", PasswordFile: "/run/pw"}}, "plaintext, sasl SCRAM-SHA-256 user u password from /run/pw"},
	} {
		if got := tc.cfg.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestBuilders(t *testing.T) {
	certs, err := pki.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		cfg       Config
		err       string
		tls, sasl bool
		mech      string
	}{
		{name: "plaintext", cfg: Config{}},
		{name: "tls system roots", cfg: Config{TLS: TLSConfig{Enable: true}}, tls: true},
		{name: "mtls", cfg: Config{TLS: TLSConfig{Enable: true, CAFile: certs.CAFile, CertFile: certs.Client.CertFile, KeyFile: certs.Client.KeyFile}}, tls: true},
		{name: "scram 512", cfg: Config{SASL: SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "alice", Password: "pw"}}, sasl: true, mech: "SCRAM-SHA-512"},
		{name: "scram 256", cfg: Config{SASL: SASLConfig{Mechanism: "scram-sha-256", Username: "alice", Password: "pw"}}, sasl: true, mech: "SCRAM-SHA-256"},
		{name: "plain", cfg: Config{TLS: TLSConfig{Enable: true}, SASL: SASLConfig{Mechanism: "PLAIN", Username: "alice", Password: "pw"}}, tls: true, sasl: true, mech: "PLAIN"},
		{name: "missing ca", cfg: Config{TLS: TLSConfig{Enable: true, CAFile: "/nonexistent/ca.pem"}}, err: "kafka.tls.ca_file: open /nonexistent/ca.pem"},
		{name: "ca not pem", cfg: Config{TLS: TLSConfig{Enable: true, CAFile: notPEM}}, err: "kafka.tls.ca_file: no PEM certificate in"},
		{name: "key does not match", cfg: Config{TLS: TLSConfig{Enable: true, CertFile: certs.Client.CertFile, KeyFile: certs.OtherClient.KeyFile}}, err: "kafka.tls.cert_file / kafka.tls.key_file"},
		{name: "expired client cert", cfg: Config{TLS: TLSConfig{Enable: true, CertFile: certs.ExpiredClient.CertFile, KeyFile: certs.ExpiredClient.KeyFile}}, err: "client certificate " + certs.ExpiredClient.CertFile + " expired on"},
		{name: "invalid", cfg: Config{SASL: SASLConfig{Mechanism: "NOPE"}}, err: "kafka.sasl.mechanism"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, derr := tc.cfg.Dialer(0)
			tr, terr := tc.cfg.Transport()
			if tc.err != "" {
				for _, err := range []error{derr, terr} {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("error = %v, want %q", err, tc.err)
					}
				}
				return
			}
			if derr != nil || terr != nil {
				t.Fatalf("Dialer: %v, Transport: %v", derr, terr)
			}
			// TLS is done by the dial functions (so that handshake errors are
			// typed), never by kafka-go's own TLS fields.
			if d.TLS != nil || tr.TLS != nil || d.DialFunc == nil || tr.Dial == nil {
				t.Errorf("dialer TLS %v DialFunc set %v, transport TLS %v Dial set %v", d.TLS, d.DialFunc != nil, tr.TLS, tr.Dial != nil)
			}
			if d.Timeout != defaultDialTimeout {
				t.Errorf("dialer timeout %s, want %s", d.Timeout, defaultDialTimeout)
			}
			tcfg, err := tc.cfg.TLSConfig()
			if err != nil {
				t.Fatal(err)
			}
			if (tcfg != nil) != tc.tls {
				t.Errorf("TLS config %v, want TLS %v", tcfg, tc.tls)
			}
			if (d.SASLMechanism != nil) != tc.sasl || (tr.SASL != nil) != tc.sasl {
				t.Fatalf("SASL dialer %v transport %v, want %v", d.SASLMechanism, tr.SASL, tc.sasl)
			}
			if tc.sasl && (d.SASLMechanism.Name() != tc.mech || tr.SASL.Name() != tc.mech) {
				t.Errorf("mechanism %s / %s, want %s", d.SASLMechanism.Name(), tr.SASL.Name(), tc.mech)
			}
		})
	}
}

func TestForOutput(t *testing.T) {
	in := Config{SASL: SASLConfig{Mechanism: "PLAIN", Username: "in", Password: "p"}}
	for _, tc := range []struct {
		name        string
		out         Output
		wantBrokers string
		wantUser    string
		err         string
	}{
		{"empty is the input cluster", Output{}, "a:1", "in", ""},
		{"own cluster", Output{Brokers: []string{"b:2"}, SASL: SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "out", Password: "q"}}, "b:2", "out", ""},
		{"own cluster plaintext", Output{Brokers: []string{"b:2"}}, "b:2", "", ""},
		{"settings without brokers", Output{TLS: TLSConfig{Enable: true}}, "", "", "output_kafka.brokers is empty"},
		{"invalid output", Output{Brokers: []string{"b:2"}, SASL: SASLConfig{Mechanism: "PLAIN"}}, "", "", "output_kafka.sasl.username: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, c, err := ForOutput([]string{"a:1"}, in, tc.out)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(b, ",") != tc.wantBrokers || c.SASL.Username != tc.wantUser {
				t.Fatalf("got brokers %v user %q, want %s %q", b, c.SASL.Username, tc.wantBrokers, tc.wantUser)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // substrings, one per warning
	}{
		{"zero", Config{}, nil},
		{"verified tls with scram", Config{TLS: TLSConfig{Enable: true}, SASL: SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "u", Password: "p"}}, nil},
		{"insecure", Config{TLS: TLSConfig{Enable: true, InsecureSkipVerify: true}}, []string{"kafka.tls.insecure_skip_verify is true"}},
		{"plain in clear", Config{SASL: SASLConfig{Mechanism: "plain", Username: "u", Password: "p"}}, []string{"password crosses the network in clear text"}},
		{"scram in clear", Config{Section: "output_kafka", SASL: SASLConfig{Mechanism: "SCRAM-SHA-256", Username: "u", Password: "p"}}, []string{"output_kafka.sasl without output_kafka.tls.enable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.cfg.Warnings()
			if len(got) != len(tc.want) {
				t.Fatalf("Warnings() = %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) || strings.Contains(got[i], "p\"") {
					t.Errorf("warning %q, want it to contain %q", got[i], w)
				}
			}
		})
	}
}

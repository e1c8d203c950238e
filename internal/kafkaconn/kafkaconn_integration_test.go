//go:build integration

package kafkaconn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/kafkaconn"
	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/kafkatest"
)

// logSink collects everything the clients and the test log, so that the
// test can grep it for the password at the end.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) Printf(format string, args ...any) {
	_, _ = fmt.Fprintf(l, format+"\n", args...)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// roundTrip produces n messages with a Writer on tr, reads them back with a
// partition Reader and with a group Reader on d, and joins a
// ConsumerGroup on d and commits through it: every kafka-go client qegate
// uses, over one listener.
func roundTrip(t *testing.T, addr, topic string, d *kafka.Dialer, tr *kafka.Transport, logs *logSink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const n = 20
	w := &kafka.Writer{
		Addr: kafka.TCP(addr), Topic: topic, Transport: tr,
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond,
		Logger: logs, ErrorLogger: logs,
	}
	var msgs []kafka.Message
	for i := range n {
		msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprintf("k%02d", i)), Value: []byte(fmt.Sprintf("v%02d", i))})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("write over %s: %v", addr, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close writer: %v", err)
	}

	read := func(cfg kafka.ReaderConfig) []string {
		cfg.Brokers, cfg.Topic, cfg.Dialer = []string{addr}, topic, d
		cfg.MaxWait, cfg.Logger, cfg.ErrorLogger = 100*time.Millisecond, logs, logs
		r := kafka.NewReader(cfg)
		defer r.Close()
		var got []string
		for len(got) < n {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("read message %d of %d over %s: %v", len(got)+1, n, addr, err)
			}
			got = append(got, string(m.Key)+"="+string(m.Value))
		}
		slices.Sort(got)
		return got
	}
	var want []string
	for _, m := range msgs {
		want = append(want, string(m.Key)+"="+string(m.Value))
	}
	if got := read(kafka.ReaderConfig{Partition: 0}); !slices.Equal(got, want) {
		t.Fatalf("partition reader got %v, want %v", got, want)
	}
	group := "g-" + topic
	if got := read(kafka.ReaderConfig{GroupID: group, StartOffset: kafka.FirstOffset}); !slices.Equal(got, want) {
		t.Fatalf("group reader got %v, want %v", got, want)
	}

	// The ConsumerGroup/Generation API the pipeline's source uses.
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: group + "-cg", Brokers: []string{addr}, Topics: []string{topic}, Dialer: d,
		Logger: logs, ErrorLogger: logs, HeartbeatInterval: time.Second, SessionTimeout: 6 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	gen, err := cg.Next(ctx)
	if err != nil {
		t.Fatalf("consumer group join over %s: %v", addr, err)
	}
	if as := gen.Assignments[topic]; len(as) != 1 || as[0].ID != 0 {
		t.Fatalf("assignments %v, want partition 0 of %s", gen.Assignments, topic)
	}
	if err := gen.CommitOffsets(map[string]map[int]int64{topic: {0: n}}); err != nil {
		t.Fatalf("commit over %s: %v", addr, err)
	}
}

func TestSecureListeners(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Secure: true, DisableAutoCreateTopics: true})
	t.Logf("secure broker start took %s", b.StartupTime())
	user, password := b.User()
	logs := &logSink{}
	logger := slog.New(slog.NewTextHandler(logs, nil))

	sasl := b.Listener(kafkatest.ListenerSASLSSL)
	mtls := b.Listener(kafkatest.ListenerMTLS)
	withMech := func(m string) kafkaconn.Config {
		c := sasl.Conn
		c.SASL.Mechanism = m
		return c
	}
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile := sasl.Conn
	fromFile.SASL.Password, fromFile.SASL.PasswordFile = "", pwFile

	for _, tc := range []struct {
		name string
		addr string
		conn kafkaconn.Config
	}{
		{"sasl_ssl scram-sha-512", sasl.Addr, sasl.Conn},
		{"sasl_ssl scram-sha-256", sasl.Addr, withMech(kafkaconn.MechanismSCRAMSHA256)},
		{"sasl_ssl plain", sasl.Addr, withMech(kafkaconn.MechanismPlain)},
		{"sasl_ssl scram-sha-512 password_file", sasl.Addr, fromFile},
		{"mtls", mtls.Addr, mtls.Conn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := strings.NewReplacer(" ", "-", "_", "-").Replace(tc.name)
			b.CreateTopic(t, kafkatest.Topic{Name: topic})
			logger.Info("connecting", "addr", tc.addr, "kafka", tc.conn)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := tc.conn.Probe(ctx, []string{tc.addr}); err != nil {
				t.Fatalf("Probe: %v", err)
			}
			d, err := tc.conn.Dialer(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := tc.conn.Transport()
			if err != nil {
				t.Fatal(err)
			}
			defer tr.CloseIdleConnections()
			roundTrip(t, tc.addr, topic, d, tr, logs)
			// kafkaread (demo, audit, e2e tests) over the same listener.
			msgs, err := kafkaread.TopicConn(ctx, []string{tc.addr}, tc.conn, topic)
			if err != nil || len(msgs) != 20 {
				t.Fatalf("kafkaread.TopicConn: %d messages, %v", len(msgs), err)
			}
		})
	}

	// Each bad setting gives its one-line explanation, from the start-up
	// check (Probe, i.e. Client.Transport) and from a Dialer alike, within
	// the context's bound.
	certs := b.Certs()
	wrongPw := sasl.Conn
	wrongPw.SASL.Password = "not-" + kafkaconn.Secret(password)
	wrongPwPlain := withMech(kafkaconn.MechanismPlain)
	wrongPwPlain.SASL.Password = wrongPw.SASL.Password
	unknownUser := sasl.Conn
	unknownUser.SASL.Username = "mallory"
	tlsOnly := kafkaconn.Config{TLS: sasl.Conn.TLS}
	otherCA := sasl.Conn
	otherCA.TLS.CAFile = certs.OtherCAFile
	otherClient := mtls.Conn
	otherClient.TLS.CertFile, otherClient.TLS.KeyFile = certs.OtherClient.CertFile, certs.OtherClient.KeyFile
	plain := kafkaconn.Config{}
	saslNoVerify := sasl.Conn
	saslNoVerify.TLS.InsecureSkipVerify = true
	plainSASL := kafkaconn.Config{SASL: sasl.Conn.SASL}
	for _, tc := range []struct {
		name string
		addr string
		conn kafkaconn.Config
		want string
	}{
		{"wrong password", sasl.Addr, wrongPw, "kafka: authentication failed for user " + user + " (SASL SCRAM-SHA-512): check kafka.sasl.username and the password"},
		{"wrong password plain", sasl.Addr, wrongPwPlain, "kafka: authentication failed for user " + user + " (SASL PLAIN)"},
		{"unknown user", sasl.Addr, unknownUser, "kafka: authentication failed for user mallory (SASL SCRAM-SHA-512)"},
		{"plaintext on sasl_ssl", sasl.Addr, plain, "a plaintext client on a TLS listener? (set kafka.tls.enable)"},
		{"plaintext sasl on sasl_ssl", sasl.Addr, plainSASL, "a plaintext client on a TLS listener? (set kafka.tls.enable)"},
		{"plaintext on mtls", mtls.Addr, plain, "a plaintext client on a TLS listener? (set kafka.tls.enable)"},
		{"tls on plaintext", b.Addr(), tlsOnly, "closed the connection during the TLS handshake: a TLS client on a plaintext listener?"},
		{"unknown ca", sasl.Addr, otherCA, "failed: certificate signed by unknown authority (kafka.tls.ca_file " + certs.OtherCAFile},
		{"expired", b.Listener(kafkatest.ListenerExpired).Addr, tlsOnly, "failed: the broker's certificate has expired or is not yet valid"},
		{"wrong host", b.Listener(kafkatest.ListenerWrongHost).Addr, tlsOnly, "failed: certificate is valid for kafka.other.example, not 127.0.0.1 (set kafka.tls.server_name"},
		{"mtls without client cert", mtls.Addr, tlsOnly, "requires a client certificate (mTLS): set kafka.tls.cert_file and kafka.tls.key_file"},
		{"mtls with cert of other ca", mtls.Addr, otherClient, "rejected the client certificate " + certs.OtherClient.CertFile + ` (TLS alert "bad certificate"): is it signed by a CA the broker trusts`},
		{"sasl_ssl without sasl", sasl.Addr, tlsOnly, "closed the connection after the TLS handshake: does the listener require SASL"},
		{"sasl on a tls listener without sasl", b.Listener(kafkatest.ListenerExpired).Addr, saslNoVerify, "is not a SASL listener (it refused the SASL SCRAM-SHA-512 handshake): use the broker's SASL port, or unset kafka.sasl.mechanism"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger.Info("connecting", "addr", tc.addr, "kafka", tc.conn)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			check := func(how string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: connected with a bad setting", how)
				}
				logger.Error("connect failed", "how", how, "err", err)
				t.Logf("%s: %v", how, err)
				var ee *kafkaconn.ExplainedError
				if !errors.As(err, &ee) {
					t.Fatalf("%s: error not explained: %v", how, err)
				}
				if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("%s: error\n  %v\nwant one line containing\n  %s\n(cause: %v)", how, err, tc.want, ee.Err)
				}
			}
			check("probe", tc.conn.Probe(ctx, []string{tc.addr}))
			d, err := tc.conn.Dialer(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.LookupPartitions(ctx, "tcp", tc.addr, "sasl_ssl-scram-sha-512")
			check("dialer", tc.conn.Explain(err))
			_, err = kafkaread.TopicConn(ctx, []string{tc.addr}, tc.conn, "sasl_ssl-scram-sha-512")
			check("kafkaread", err)
		})
	}

	// Nothing above printed the password: not the client logs, not the
	// slog lines holding configs and errors.
	out := logs.String()
	if strings.Contains(out, password) {
		t.Fatalf("password found in the logs of the run")
	}
	if !strings.Contains(out, "[redacted]") || !strings.Contains(out, "authentication failed") {
		t.Fatalf("log capture is missing the configs or errors it should hold:\n%s", out)
	}
}

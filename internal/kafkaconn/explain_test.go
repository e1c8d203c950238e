package kafkaconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/kafkatest/pki"
)

// TestExplainErrorValues covers the errors that only a Kafka broker
// produces (SASL error codes), wrapped the way kafka-go wraps them; the
// real-broker versions are in the integration tests.
func TestExplainErrorValues(t *testing.T) {
	scram := Config{TLS: TLSConfig{Enable: true}, SASL: SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "alice", Password: Secret(testPassword)}}
	plainText := Config{}
	for _, tc := range []struct {
		name string
		cfg  Config
		err  error
		want string // exact message; "" means unchanged
	}{
		{"nil", scram, nil, ""},
		{"auth failed via dialer", scram, fmt.Errorf("could not successfully authenticate to 127.0.0.1:9093 with SASL: %w", kafka.SASLAuthenticationFailed),
			"kafka: authentication failed for user alice (SASL SCRAM-SHA-512): check kafka.sasl.username and the password (kafka.sasl.password, kafka.sasl.password_file or QEGATE_KAFKA_SASL_PASSWORD)"},
		{"auth failed bare", Config{Section: "output_kafka", SASL: SASLConfig{Mechanism: "plain", Username: "bob", Password: "x"}}, kafka.SASLAuthenticationFailed,
			"kafka: authentication failed for user bob (SASL PLAIN): check output_kafka.sasl.username and the password (output_kafka.sasl.password, output_kafka.sasl.password_file or QEGATE_OUTPUT_KAFKA_SASL_PASSWORD)"},
		{"mechanism not enabled", scram, fmt.Errorf("SASL handshake failed: %w", kafka.UnsupportedSASLMechanism),
			"kafka: the broker does not enable SASL mechanism SCRAM-SHA-512 on this listener (kafka.sasl.mechanism)"},
		{"illegal sasl state", scram, kafka.IllegalSASLState,
			"kafka: the broker listener is not a SASL listener (it refused the SASL SCRAM-SHA-512 handshake): use the broker's SASL port, or unset kafka.sasl.mechanism"},
		{"plaintext eof", plainText, fmt.Errorf("failed to read: %w", io.EOF),
			"kafka: broker closed the connection during the handshake: a plaintext client on a TLS listener? (set kafka.tls.enable) or on a SASL listener? (set kafka.sasl.mechanism)"},
		{"plaintext sasl reset", Config{SASL: scram.SASL}, &net.OpError{Op: "read", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9093}, Err: os.NewSyscallError("read", syscall.ECONNRESET)},
			"kafka: broker 127.0.0.1:9093 closed the connection during the handshake: a plaintext client on a TLS listener? (set kafka.tls.enable)"},
		{"tls eof in handshake", scram, &HandshakeError{Addr: "127.0.0.1:9092", Err: io.EOF},
			"kafka: broker 127.0.0.1:9092 closed the connection during the TLS handshake: a TLS client on a plaintext listener? (check the port, or set kafka.tls.enable false)"},
		{"tls eof after handshake without sasl", Config{TLS: TLSConfig{Enable: true}}, io.ErrUnexpectedEOF,
			"kafka: broker closed the connection after the TLS handshake: does the listener require SASL, or a client certificate? (set kafka.sasl.mechanism, or kafka.tls.cert_file and kafka.tls.key_file)"},
		{"tls and sasl eof is not guessed at", scram, io.EOF, ""},
		{"refused", plainText, &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
			"kafka: nothing listens at 127.0.0.1:1 (connection refused): check kafka.brokers"},
		{"unrelated", scram, kafka.UnknownTopicOrPartition, ""},
		{"deadline", scram, context.DeadlineExceeded, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.cfg.Explain(tc.err)
			if tc.want == "" {
				if got != tc.err {
					t.Fatalf("Explain(%v) = %v, want it unchanged", tc.err, got)
				}
				return
			}
			if got == nil || got.Error() != tc.want {
				t.Fatalf("Explain(%v) =\n  %v\nwant\n  %s", tc.err, got, tc.want)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("explained error does not wrap %v", tc.err)
			}
			if again := tc.cfg.Explain(got); again != got {
				t.Errorf("Explain is not idempotent: %v", again)
			}
			if strings.Contains(got.Error(), testPassword) {
				t.Errorf("password in %q", got)
			}
		})
	}
}

// tlsServer accepts connections on 127.0.0.1 and runs a TLS handshake with
// cert on each (requiring a client certificate signed by clientCA when it
// is set), then reads until the client goes away; plain=true instead reads
// a little and closes, as a broker does with bytes it cannot parse.
func tlsServer(t *testing.T, cert pki.Pair, clientCA string, plain bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	var cfg *tls.Config
	if !plain {
		pair, err := tls.LoadX509KeyPair(cert.CertFile, cert.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		if clientCA != "" {
			pem, err := os.ReadFile(clientCA)
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if plain {
					_, _ = c.Read(make([]byte, 16))
					return
				}
				tc := tls.Server(c, cfg)
				if err := tc.Handshake(); err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, tc)
			}(c)
		}
	}()
	return l.Addr().String()
}

// TestExplainTLS runs Probe (Transport, TLS, metadata) against local TLS
// servers with good and bad certificates and checks the one-line errors.
// A real Kafka broker is in the integration tests; these need none.
func TestExplainTLS(t *testing.T) {
	certs, err := pki.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	good := tlsServer(t, certs.Server, "", false)
	expired := tlsServer(t, certs.ExpiredServer, "", false)
	wrongHost := tlsServer(t, certs.WrongHostServer, "", false)
	mtls := tlsServer(t, certs.Server, certs.CAFile, false)
	plain := tlsServer(t, pki.Pair{}, "", true)
	trust := TLSConfig{Enable: true, CAFile: certs.CAFile}

	for _, tc := range []struct {
		name string
		cfg  Config
		addr string
		want string // substring of the one-line error
	}{
		{"unknown ca (system roots)", Config{TLS: TLSConfig{Enable: true}}, good,
			"kafka: TLS handshake with " + good + " failed: certificate signed by unknown authority (set kafka.tls.ca_file to the CA that signed the broker's certificate)"},
		{"unknown ca (other ca file)", Config{TLS: TLSConfig{Enable: true, CAFile: certs.OtherCAFile}}, good,
			"certificate signed by unknown authority (kafka.tls.ca_file " + certs.OtherCAFile + " does not hold the CA"},
		{"expired", Config{TLS: trust}, expired,
			"kafka: TLS handshake with " + expired + " failed: the broker's certificate has expired or is not yet valid: valid from"},
		{"wrong host", Config{TLS: trust}, wrongHost,
			"kafka: TLS handshake with " + wrongHost + " failed: certificate is valid for " + pki.WrongHost + ", not 127.0.0.1 (set kafka.tls.server_name"},
		{"server name mismatch", Config{TLS: TLSConfig{Enable: true, CAFile: certs.CAFile, ServerName: "broker.example"}}, good,
			"certificate is valid for localhost, 127.0.0.1, ::1, not broker.example (set kafka.tls.server_name"},
		{"tls client on plaintext port", Config{TLS: trust}, plain,
			"kafka: broker " + plain + " closed the connection during the TLS handshake: a TLS client on a plaintext listener?"},
		{"no client cert for mtls", Config{TLS: trust}, mtls,
			"requires a client certificate (mTLS): set kafka.tls.cert_file and kafka.tls.key_file"},
		{"client cert from other ca", Config{TLS: TLSConfig{Enable: true, CAFile: certs.CAFile, CertFile: certs.OtherClient.CertFile, KeyFile: certs.OtherClient.KeyFile}}, mtls,
			"rejected the client certificate " + certs.OtherClient.CertFile + ` (TLS alert "certificate required"): is it signed by a CA the broker trusts, and not expired?`},
		{"plaintext client on tls port", Config{}, good,
			"closed the connection during the handshake: a plaintext client on a TLS listener? (set kafka.tls.enable)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			err := tc.cfg.Probe(ctx, []string{tc.addr})
			if err == nil {
				t.Fatal("Probe succeeded against a server that cannot be a Kafka broker")
			}
			var ee *ExplainedError
			if !errors.As(err, &ee) {
				t.Fatalf("Probe error not explained: %v (%T)", err, errors.Unwrap(err))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Probe error\n  %v\nwant it to contain\n  %s\n(cause: %v)", err, tc.want, ee.Err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}

	// The dial function alone: a good certificate completes the handshake.
	d, err := Config{TLS: trust}.Dialer(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.DialFunc(context.Background(), "tcp", good)
	if err != nil {
		t.Fatalf("handshake with a trusted certificate: %v", err)
	}
	if st := c.(*tls.Conn).ConnectionState(); !st.HandshakeComplete || len(st.VerifiedChains) == 0 {
		t.Errorf("handshake state %+v", st)
	}
	_ = c.Close()
}

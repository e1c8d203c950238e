package kafkaconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// defaultDialTimeout bounds a TCP connect plus TLS handshake when the
// caller gives no timeout.
const defaultDialTimeout = 10 * time.Second

// HandshakeError is a TLS handshake that failed; the dial functions built
// here return it so that Explain can tell a handshake failure (wrong CA,
// expired certificate, TLS client on a plaintext port) from a failure later
// in the exchange.
type HandshakeError struct {
	// Addr is the broker address dialed.
	Addr string
	// Err is what crypto/tls returned.
	Err error
}

// Error implements error.
func (e *HandshakeError) Error() string { return "tls handshake with " + e.Addr + ": " + e.Err.Error() }

// Unwrap returns the crypto/tls error.
func (e *HandshakeError) Unwrap() error { return e.Err }

// TLSConfig returns the *tls.Config for c (nil when TLS is off). It reads
// the CA, certificate and key files, and refuses a client certificate that
// has already expired: the broker would refuse it with a vaguer alert.
func (c Config) TLSConfig() (*tls.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	t := c.TLS
	if !t.Enable {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, documented as debugging only
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.key("tls.ca_file"), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate in %s", c.key("tls.ca_file"), t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s / %s: %w", c.key("tls.cert_file"), c.key("tls.key_file"), err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.key("tls.cert_file"), err)
		}
		now := time.Now()
		if now.After(leaf.NotAfter) {
			return nil, fmt.Errorf("%s: client certificate %s expired on %s", c.key("tls.cert_file"), t.CertFile, leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		if now.Before(leaf.NotBefore) {
			return nil, fmt.Errorf("%s: client certificate %s is not valid before %s", c.key("tls.cert_file"), t.CertFile, leaf.NotBefore.UTC().Format(time.RFC3339))
		}
		pair.Leaf = leaf
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// Mechanism returns the SASL mechanism for c (nil when SASL is off),
// reading password_file if that is where the password is.
func (c Config) Mechanism() (sasl.Mechanism, error) {
	r, err := c.Resolve()
	if err != nil {
		return nil, err
	}
	s := r.SASL
	switch s.mechanism() {
	case "":
		return nil, nil
	case MechanismPlain:
		return plain.Mechanism{Username: s.Username, Password: s.Password.Reveal()}, nil
	case MechanismSCRAMSHA256, MechanismSCRAMSHA512:
		algo := scram.SHA512
		if s.mechanism() == MechanismSCRAMSHA256 {
			algo = scram.SHA256
		}
		m, err := scram.Mechanism(algo, s.Username, s.Password.Reveal())
		if err != nil {
			// The SCRAM client fails only on names or passwords that
			// SASLprep rejects; its error never holds the password.
			return nil, fmt.Errorf("%s: %s: %w", c.key("sasl"), s.mechanism(), err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("%s: unknown mechanism %q", c.key("sasl.mechanism"), s.Mechanism)
}

// dialFunc returns a dial function that connects over TCP and, with TLS,
// completes the handshake before returning, wrapping its failure in a
// *HandshakeError. kafka-go would otherwise do the handshake itself
// (Transport even lazily, inside the first request), which leaves a plain
// io.EOF that cannot be told apart from a broker closing a plaintext
// connection. addr is never rewritten (no resolver is set), so the server
// name derived from it is the configured broker host.
func dialFunc(tcfg *tls.Config, timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if tcfg == nil {
			return conn, nil
		}
		cfg := tcfg
		if cfg.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			cfg = tcfg.Clone()
			cfg.ServerName = host
		}
		hctx := ctx
		if _, ok := ctx.Deadline(); !ok && timeout > 0 {
			var cancel context.CancelFunc
			hctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(hctx); err != nil {
			_ = conn.Close()
			return nil, &HandshakeError{Addr: addr, Err: err}
		}
		return tc, nil
	}
}

// Dialer returns a *kafka.Dialer for kafka.ConsumerGroupConfig.Dialer,
// kafka.ReaderConfig.Dialer and kafka.DialContext-style Conn use. timeout
// bounds connect + TLS handshake + SASL; 0 means 10s.
func (c Config) Dialer(timeout time.Duration) (*kafka.Dialer, error) {
	if timeout <= 0 {
		timeout = defaultDialTimeout
	}
	tcfg, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	mech, err := c.Mechanism()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{
		Timeout:       timeout,
		DualStack:     true,
		DialFunc:      dialFunc(tcfg, timeout),
		SASLMechanism: mech,
	}, nil
}

// Transport returns a *kafka.Transport for kafka.Writer.Transport and
// kafka.Client.Transport. Callers may set its timeouts (DialTimeout,
// IdleTimeout, MetadataTTL) before first use; DialTimeout 0 means
// kafka-go's 5s. Close it with CloseIdleConnections when done.
func (c Config) Transport() (*kafka.Transport, error) {
	tcfg, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	mech, err := c.Mechanism()
	if err != nil {
		return nil, err
	}
	// The handshake timeout comes from the ctx kafka-go passes to Dial (its
	// DialTimeout deadline); defaultDialTimeout only backs it up.
	return &kafka.Transport{Dial: dialFunc(tcfg, defaultDialTimeout), SASL: mech}, nil
}

// Probe connects to brokers the way the consumer and the writers will
// (Transport: TLS, SASL, then a metadata request) and returns the Explain'd
// error when that fails. It is the start-up check: a wrong password or CA
// then stops qegate with one line instead of a consumer group retrying
// forever in the background. ctx bounds it.
func (c Config) Probe(ctx context.Context, brokers []string) error {
	if len(brokers) == 0 {
		return fmt.Errorf("%s: no brokers", c.key("brokers"))
	}
	tr, err := c.Transport()
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	if dl, ok := ctx.Deadline(); ok {
		tr.DialTimeout = time.Until(dl)
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}
	if _, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}}); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return c.Explain(fmt.Errorf("no answer from %v: %w", brokers, err))
		}
		return c.Explain(err)
	}
	return nil
}

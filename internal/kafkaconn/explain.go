package kafkaconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

// ExplainedError is a connection failure put into one line that says what
// to fix. It wraps the original error, so errors.Is and errors.As still
// see kafka-go's and crypto's errors.
type ExplainedError struct {
	// Msg is the one-line explanation, starting with "kafka: ".
	Msg string
	// Err is the original error.
	Err error
}

// Error returns Msg only: the cause is already in it, in words.
func (e *ExplainedError) Error() string { return e.Msg }

// Unwrap returns the original error.
func (e *ExplainedError) Unwrap() error { return e.Err }

// Explain turns the error of a failed connection to Kafka into one line
// that names the cause and the key to change, using what c says this
// client tried (TLS or not, which SASL mechanism and user). Errors it does
// not recognise come back unchanged, and nil stays nil. It is meant for
// start-up errors (the topic check, Probe, the first fetch or write): an EOF
// in the middle of a run is a broker going away, not a listener mismatch.
func (c Config) Explain(err error) error {
	if err == nil {
		return nil
	}
	var already *ExplainedError
	if errors.As(err, &already) {
		return err
	}
	if msg := c.explain(err); msg != "" {
		return &ExplainedError{Msg: msg, Err: err}
	}
	return err
}

func (c Config) explain(err error) string {
	mech, user := c.SASL.mechanism(), c.SASL.Username
	var hs *HandshakeError
	inHandshake := errors.As(err, &hs)
	// where goes after "TLS handshake", brk after "broker".
	where, brk := "", ""
	addr := remoteAddr(err)
	if inHandshake {
		addr = hs.Addr
	}
	if addr != "" {
		where, brk = " with "+addr, " "+addr
	}

	// SASL outcomes come first: they are Kafka error codes, unambiguous.
	switch {
	case errors.Is(err, kafka.SASLAuthenticationFailed):
		return fmt.Sprintf("kafka: authentication failed for user %s (SASL %s): check %s and the password (%s, %s or %s)",
			user, mech, c.key("sasl.username"), c.key("sasl.password"), c.key("sasl.password_file"), c.envPassword())
	case errors.Is(err, kafka.UnsupportedSASLMechanism):
		return fmt.Sprintf("kafka: the broker does not enable SASL mechanism %s on this listener (%s)", mech, c.key("sasl.mechanism"))
	case errors.Is(err, kafka.IllegalSASLState):
		return fmt.Sprintf("kafka: the broker listener%s is not a SASL listener (it refused the SASL %s handshake): use the broker's SASL port, or unset %s", brk, mech, c.key("sasl.mechanism"))
	}

	// Certificate verification on our side.
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var hn x509.HostnameError
	switch {
	case errors.As(err, &ua):
		if c.TLS.CAFile != "" {
			return fmt.Sprintf("kafka: TLS handshake%s failed: certificate signed by unknown authority (%s %s does not hold the CA that signed the broker's certificate)", where, c.key("tls.ca_file"), c.TLS.CAFile)
		}
		return fmt.Sprintf("kafka: TLS handshake%s failed: certificate signed by unknown authority (set %s to the CA that signed the broker's certificate)", where, c.key("tls.ca_file"))
	case errors.As(err, &ci):
		switch ci.Reason {
		case x509.Expired:
			when := ""
			if ci.Cert != nil {
				when = fmt.Sprintf(": valid from %s until %s", ci.Cert.NotBefore.UTC().Format(time.RFC3339), ci.Cert.NotAfter.UTC().Format(time.RFC3339))
			}
			return fmt.Sprintf("kafka: TLS handshake%s failed: the broker's certificate has expired or is not yet valid%s (renew it on the broker)", where, when)
		default:
			return fmt.Sprintf("kafka: TLS handshake%s failed: the broker's certificate is not valid: %v", where, ci)
		}
	case errors.As(err, &hn):
		valid := certNames(hn.Certificate)
		return fmt.Sprintf("kafka: TLS handshake%s failed: certificate is valid for %s, not %s (set %s, or use a broker address the certificate names)",
			where, valid, hn.Host, c.key("tls.server_name"))
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return fmt.Sprintf("kafka: broker%s answered the TLS handshake with something that is not TLS: a TLS client on a plaintext listener? (check the port, or set %s false)", brk, c.key("tls.enable"))
	}

	// The broker refused us with a TLS alert: almost always our client
	// certificate (mTLS). crypto/tls reports remote alerts as
	// "remote error: tls: <alert>" in a *net.OpError; the alert type is
	// unexported, so the text is all there is.
	if alert, ok := remoteAlert(err); ok {
		switch alert {
		case "certificate required", "handshake failure", "bad certificate", "unknown certificate authority",
			"certificate unknown", "certificate expired", "unsupported certificate", "certificate revoked", "access denied":
			if c.TLS.CertFile == "" {
				// Java brokers answer a missing certificate with "bad
				// certificate", Go servers with "certificate required".
				return fmt.Sprintf("kafka: the broker%s requires a client certificate (mTLS): set %s and %s (TLS alert %q)", brk, c.key("tls.cert_file"), c.key("tls.key_file"), alert)
			}
			// crypto/tls sends no certificate at all when ours is not issued
			// by a CA the broker lists as acceptable, so "certificate
			// required" with a certificate configured means the same.
			return fmt.Sprintf("kafka: the broker%s rejected the client certificate %s (TLS alert %q): is it signed by a CA the broker trusts, and not expired? (%s)", brk, c.TLS.CertFile, alert, c.key("tls.cert_file"))
		}
		return fmt.Sprintf("kafka: the broker%s ended the TLS session with alert %q", brk, alert)
	}

	if closedConn(err) {
		switch {
		case inHandshake:
			return fmt.Sprintf("kafka: broker%s closed the connection during the TLS handshake: a TLS client on a plaintext listener? (check the port, or set %s false)", brk, c.key("tls.enable"))
		case !c.TLS.Enable && !c.SASL.Enabled():
			return fmt.Sprintf("kafka: broker%s closed the connection during the handshake: a plaintext client on a TLS listener? (set %s) or on a SASL listener? (set %s)", brk, c.key("tls.enable"), c.key("sasl.mechanism"))
		case !c.TLS.Enable:
			return fmt.Sprintf("kafka: broker%s closed the connection during the handshake: a plaintext client on a TLS listener? (set %s)", brk, c.key("tls.enable"))
		case !c.SASL.Enabled():
			return fmt.Sprintf("kafka: broker%s closed the connection after the TLS handshake: does the listener require SASL, or a client certificate? (set %s, or %s and %s)", brk, c.key("sasl.mechanism"), c.key("tls.cert_file"), c.key("tls.key_file"))
		}
		return ""
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Sprintf("kafka: nothing listens%s (connection refused): check %s", strings.Replace(brk, " ", " at ", 1), c.key("brokers"))
	}
	return ""
}

// closedConn reports whether err is the peer closing or resetting the
// connection, the way a broker rejects a client that speaks the wrong
// protocol on its port.
func closedConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
}

// remoteAlert extracts the alert of a "remote error: tls: <alert>" error.
func remoteAlert(err error) (string, bool) {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil {
		return strings.TrimPrefix(oe.Err.Error(), "tls: "), true
	}
	const marker = "remote error: tls: "
	if s := err.Error(); strings.Contains(s, marker) {
		a := s[strings.Index(s, marker)+len(marker):]
		if i := strings.IndexAny(a, ";\n"); i >= 0 {
			a = a[:i]
		}
		return strings.TrimSpace(a), true
	}
	return "", false
}

// remoteAddr returns the remote address of the first *net.OpError in err's
// chain that has one.
func remoteAddr(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Addr != nil {
		return oe.Addr.String()
	}
	return ""
}

// certNames lists what a certificate is valid for (SANs, else the CN).
func certNames(cert *x509.Certificate) string {
	if cert == nil {
		return "other names"
	}
	var names []string
	names = append(names, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && cert.Subject.CommonName != "" {
		names = append(names, cert.Subject.CommonName)
	}
	if len(names) == 0 {
		return "no names"
	}
	return strings.Join(names, ", ")
}

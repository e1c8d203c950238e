package kafkatest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/qegate/qegate/internal/kafkaconn"
	"github.com/qegate/qegate/internal/kafkatest/pki"
)

// Listener is one listener of a broker started with Options.Secure, with
// the client settings that connect to it.
type Listener struct {
	// Name is one of the Listener* constants.
	Name string
	// Addr is 127.0.0.1:port.
	Addr string
	// Conn connects to it: for SASL_SSL, TLS trusting the test CA and
	// SCRAM-SHA-512 as the first user (sorted by name); for MTLS, TLS with
	// the client certificate; for EXPIRED and WRONGHOST, TLS trusting the
	// test CA (and so failing verification); for PLAINTEXT, the zero
	// Config.
	Conn kafkaconn.Config
}

// Listener returns the named listener. It fails the test when the broker
// has no such listener (Secure unset, or an unknown name).
func (b *Broker) Listener(name string) Listener {
	b.t.Helper()
	if name == ListenerPlaintext {
		return Listener{Name: name, Addr: b.Addr()}
	}
	port, ok := b.node.securePorts[name]
	if !ok {
		b.t.Fatalf("kafkatest: broker has no listener %q (start it with Options.Secure)", name)
	}
	l := Listener{Name: name, Addr: "127.0.0.1:" + strconv.Itoa(port)}
	c := b.node.certs
	l.Conn.TLS = kafkaconn.TLSConfig{Enable: true, CAFile: c.CAFile}
	switch name {
	case ListenerSASLSSL:
		user, pw := b.User()
		l.Conn.SASL = kafkaconn.SASLConfig{Mechanism: kafkaconn.MechanismSCRAMSHA512, Username: user, Password: kafkaconn.Secret(pw)}
	case ListenerMTLS:
		l.Conn.TLS.CertFile, l.Conn.TLS.KeyFile = c.Client.CertFile, c.Client.KeyFile
	}
	return l
}

// Certs returns the certificates of a broker started with Options.Secure
// (nil otherwise).
func (b *Broker) Certs() *pki.Set { return b.node.certs }

// User returns the first SASL user (sorted by name) and its password; both
// are empty without Options.Secure.
func (b *Broker) User() (name, password string) {
	var first string
	for u := range b.node.users {
		if first == "" || u < first {
			first = u
		}
	}
	return first, b.node.users[first]
}

// YAML renders l as the keys of a qegate config section (brokers, tls,
// sasl), indented two spaces to go under "kafka:" or "output_kafka:" in a
// test's config file. The password goes into a file in t.TempDir(),
// referenced by sasl.password_file, so that the config file itself holds
// no secret (and a test can grep qegate's logs for the password).
func (l Listener) YAML(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "  brokers: [%q]\n", l.Addr)
	tc := l.Conn.TLS
	if tc.Enable {
		fmt.Fprintf(&b, "  tls:\n    enable: true\n    ca_file: %q\n", tc.CAFile)
		if tc.CertFile != "" {
			fmt.Fprintf(&b, "    cert_file: %q\n    key_file: %q\n", tc.CertFile, tc.KeyFile)
		}
		if tc.ServerName != "" {
			fmt.Fprintf(&b, "    server_name: %q\n", tc.ServerName)
		}
	}
	if sc := l.Conn.SASL; sc.Enabled() {
		pwFile := sc.PasswordFile
		if sc.Password != "" {
			pwFile = filepath.Join(t.TempDir(), "kafka-password")
			if err := os.WriteFile(pwFile, []byte(sc.Password.Reveal()+"\n"), 0o600); err != nil {
				t.Fatalf("kafkatest: write password file: %v", err)
			}
		}
		fmt.Fprintf(&b, "  sasl:\n    mechanism: %s\n    username: %q\n    password_file: %q\n", sc.Mechanism, sc.Username, pwFile)
	}
	return b.String()
}

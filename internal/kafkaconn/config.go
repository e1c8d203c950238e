// Package kafkaconn turns qegate's kafka.tls and kafka.sasl settings into
// the kafka-go pieces every client needs: a *kafka.Dialer (ConsumerGroup,
// Reader, Conn) and a *kafka.Transport (Writer, Client), both doing TLS
// (optionally mutual) and SASL PLAIN / SCRAM-SHA-256 / SCRAM-SHA-512. It
// also keeps the password out of every printed form of the config and turns
// the raw errors of a failed connection (x509, tls alerts, EOF, SASL error
// codes) into one line that says what to fix (Explain).
//
// The zero Config is a plaintext, unauthenticated connection, which is what
// qegate did before this package existed.
package kafkaconn

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Mechanism names accepted in sasl.mechanism (case-insensitive).
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
)

// Config is how qegate connects to one Kafka cluster. The zero value is
// plaintext without authentication.
type Config struct {
	// TLS configures encryption and (with a client certificate) mTLS.
	TLS TLSConfig `mapstructure:"tls"`
	// SASL configures authentication. Zero: none.
	SASL SASLConfig `mapstructure:"sasl"`
	// Section is the config section these settings came from, used to
	// name keys in error messages ("kafka.tls.ca_file"). Empty means
	// "kafka"; set it to "output_kafka" for the output cluster. It is not
	// read from the file.
	Section string `mapstructure:"-"`
}

// TLSConfig is the kafka.tls section. The zero value is no TLS.
type TLSConfig struct {
	// Enable turns TLS on. Without it every other TLS key must be empty.
	Enable bool `mapstructure:"enable"`
	// CAFile is a PEM bundle of the CAs that may sign the brokers'
	// certificates. Empty: the system roots (right for public managed
	// Kafka such as Confluent Cloud, MSK, Aiven with a public CA).
	CAFile string `mapstructure:"ca_file"`
	// CertFile and KeyFile are the PEM client certificate (chain) and key
	// for mTLS. Both or neither. Empty: no client certificate.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// ServerName is the name the brokers' certificates must be valid for.
	// Empty: the host of each broker address, as a browser would check.
	ServerName string `mapstructure:"server_name"`
	// InsecureSkipVerify turns off certificate verification. The zero
	// value, false, is the only safe one; true is for debugging only and
	// is logged as such by the caller.
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify"`
}

// SASLConfig is the kafka.sasl section. The zero value is no SASL.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. Empty: no SASL.
	// PLAIN sends the password as is: use it only with TLS.
	Mechanism string `mapstructure:"mechanism"`
	// Username is required with a mechanism.
	Username string `mapstructure:"username"`
	// Password is the password itself. Prefer the environment variable
	// QEGATE_KAFKA_SASL_PASSWORD (viper maps it onto this key) or
	// PasswordFile to writing it into the config file.
	Password Secret `mapstructure:"password"`
	// PasswordFile is a file holding the password (one trailing newline is
	// ignored), read once at start-up: the form container secrets and
	// systemd credentials take. Set Password or PasswordFile, not both.
	PasswordFile string `mapstructure:"password_file"`
}

func (c Config) section() string {
	if c.Section == "" {
		return "kafka"
	}
	return c.Section
}

// key names a config key of this section, e.g. "kafka.tls.ca_file".
func (c Config) key(k string) string { return c.section() + "." + k }

// mechanism returns the canonical (upper-case) mechanism name.
func (s SASLConfig) mechanism() string { return strings.ToUpper(strings.TrimSpace(s.Mechanism)) }

// Enabled reports whether SASL is configured.
func (s SASLConfig) Enabled() bool { return s.mechanism() != "" }

// Validate checks the settings without touching the file system: a
// mechanism qegate knows, a username and exactly one password source with
// a mechanism, certificate and key together, and no TLS key without
// tls.enable (a CA file that is silently ignored would be worse than an
// error).
func (c Config) Validate() error {
	t := c.TLS
	if !t.Enable {
		for k, v := range map[string]string{"ca_file": t.CAFile, "cert_file": t.CertFile, "key_file": t.KeyFile, "server_name": t.ServerName} {
			if v != "" {
				return fmt.Errorf("%s is set but %s is false", c.key("tls."+k), c.key("tls.enable"))
			}
		}
		if t.InsecureSkipVerify {
			return fmt.Errorf("%s is set but %s is false", c.key("tls.insecure_skip_verify"), c.key("tls.enable"))
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return fmt.Errorf("%s and %s: set both for mTLS, or neither", c.key("tls.cert_file"), c.key("tls.key_file"))
	}
	s := c.SASL
	switch m := s.mechanism(); m {
	case "":
		if s.Username != "" || s.Password != "" || s.PasswordFile != "" {
			return fmt.Errorf("%s is empty but a username or password is set (want %s, %s or %s)",
				c.key("sasl.mechanism"), MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512)
		}
		return nil
	case MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512:
	default:
		return fmt.Errorf("%s: want %s, %s or %s, got %q",
			c.key("sasl.mechanism"), MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512, s.Mechanism)
	}
	if s.Username == "" {
		return fmt.Errorf("%s: required with %s %s", c.key("sasl.username"), c.key("sasl.mechanism"), s.mechanism())
	}
	switch {
	case s.Password != "" && s.PasswordFile != "":
		return fmt.Errorf("%s and %s are both set: keep one", c.key("sasl.password"), c.key("sasl.password_file"))
	case s.Password == "" && s.PasswordFile == "":
		return fmt.Errorf("%s: required with %s %s (or %s, or the environment variable %s)",
			c.key("sasl.password"), c.key("sasl.mechanism"), s.mechanism(), c.key("sasl.password_file"), c.envPassword())
	}
	return nil
}

// envPassword names the environment variable viper maps onto sasl.password.
func (c Config) envPassword() string {
	return "QEGATE_" + strings.ToUpper(strings.ReplaceAll(c.key("sasl.password"), ".", "_"))
}

// Resolve validates c and reads sasl.password_file into sasl.password, so
// that the file is read once, at start-up, and a missing or empty file is a
// start-up error. The builders call it themselves; calling it first only
// moves the file read earlier. PasswordFile is kept, for messages.
func (c Config) Resolve() (Config, error) {
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	if c.SASL.Enabled() && c.SASL.Password == "" && c.SASL.PasswordFile != "" {
		b, err := os.ReadFile(c.SASL.PasswordFile)
		if err != nil {
			// The path is not secret; the error never holds file contents.
			return Config{}, fmt.Errorf("%s: %w", c.key("sasl.password_file"), err)
		}
		p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if p == "" {
			return Config{}, fmt.Errorf("%s: %s is empty", c.key("sasl.password_file"), c.SASL.PasswordFile)
		}
		c.SASL.Password = Secret(p)
	}
	return c, nil
}

// String describes the connection without secrets, e.g.
// "tls (ca /etc/kafka/ca.pem, client cert /etc/qegate/client.pem), sasl SCRAM-SHA-512 user qegate password [redacted]".
func (c Config) String() string {
	var parts []string
	if c.TLS.Enable {
		var d []string
		if c.TLS.CAFile != "" {
			d = append(d, "ca "+c.TLS.CAFile)
		} else {
			d = append(d, "system CAs")
		}
		if c.TLS.CertFile != "" {
			d = append(d, "client cert "+c.TLS.CertFile)
		}
		if c.TLS.ServerName != "" {
			d = append(d, "server name "+c.TLS.ServerName)
		}
		if c.TLS.InsecureSkipVerify {
			d = append(d, "VERIFICATION OFF")
		}
		parts = append(parts, "tls ("+strings.Join(d, ", ")+")")
	} else {
		parts = append(parts, "plaintext")
	}
	if c.SASL.Enabled() {
		p := "sasl " + c.SASL.mechanism() + " user " + c.SASL.Username
		switch {
		case c.SASL.PasswordFile != "":
			p += " password from " + c.SASL.PasswordFile
		case c.SASL.Password != "":
			p += " password " + redacted
		}
		parts = append(parts, p)
	} else {
		parts = append(parts, "no sasl")
	}
	return strings.Join(parts, ", ")
}

// GoString makes %#v print the redacted description too.
func (c Config) GoString() string { return "kafkaconn.Config{" + c.String() + "}" }

// Format makes every fmt verb, %+v included, print String: the default
// struct printing would reach into SASLConfig, and although Secret redacts
// itself, one place that prints configs is simpler to trust.
func (c Config) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", c.String())
		return
	}
	_, _ = f.Write([]byte(c.String()))
}

// LogValue renders the config as a slog group without secrets.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Bool("tls", c.TLS.Enable)}
	if c.TLS.Enable {
		attrs = append(attrs,
			slog.String("ca_file", c.TLS.CAFile),
			slog.String("cert_file", c.TLS.CertFile),
			slog.String("server_name", c.TLS.ServerName),
			slog.Bool("insecure_skip_verify", c.TLS.InsecureSkipVerify))
	}
	if c.SASL.Enabled() {
		attrs = append(attrs,
			slog.String("sasl", c.SASL.mechanism()),
			slog.String("username", c.SASL.Username),
			slog.String("password", c.SASL.Password.String()),
			slog.String("password_file", c.SASL.PasswordFile))
	} else {
		attrs = append(attrs, slog.String("sasl", "none"))
	}
	return slog.GroupValue(attrs...)
}

// Output is the output_kafka section: the cluster the sinks write to, when
// it is not the input cluster. The zero value means "the input cluster,
// with the input's TLS and SASL settings".
type Output struct {
	// Brokers are the output cluster's bootstrap addresses. Empty: the
	// input's kafka.brokers, and then TLS and SASL must stay empty too.
	Brokers []string `mapstructure:"brokers"`
	// TLS and SASL are the output cluster's settings, as in kafka.tls and
	// kafka.sasl; they are not inherited from the input.
	TLS  TLSConfig  `mapstructure:"tls"`
	SASL SASLConfig `mapstructure:"sasl"`
}

// ForOutput returns the brokers and connection config the sinks use: the
// input's when out.Brokers is empty, else out's own (validated, Section
// "output_kafka").
func ForOutput(inBrokers []string, in Config, out Output) ([]string, Config, error) {
	oc := Config{TLS: out.TLS, SASL: out.SASL, Section: "output_kafka"}
	if len(out.Brokers) == 0 {
		if oc.TLS != (TLSConfig{}) || oc.SASL != (SASLConfig{}) {
			return nil, Config{}, errors.New("output_kafka.tls or output_kafka.sasl is set but output_kafka.brokers is empty (empty brokers mean: the input cluster, with kafka.tls and kafka.sasl)")
		}
		return inBrokers, in, nil
	}
	if err := oc.Validate(); err != nil {
		return nil, Config{}, err
	}
	return out.Brokers, oc, nil
}

// Defaults returns the viper defaults of the tls and sasl keys under
// section (e.g. "kafka", "output_kafka"), every key with its zero value.
// Registering them matters beyond documentation: viper's AutomaticEnv only
// maps QEGATE_KAFKA_SASL_PASSWORD onto kafka.sasl.password when that key is
// known, and qegate rejects file keys it has no default for.
func Defaults(section string) map[string]any {
	m := map[string]any{}
	for k, v := range map[string]any{
		"tls.enable": false, "tls.ca_file": "", "tls.cert_file": "", "tls.key_file": "",
		"tls.server_name": "", "tls.insecure_skip_verify": false,
		"sasl.mechanism": "", "sasl.username": "", "sasl.password": "", "sasl.password_file": "",
	} {
		m[section+"."+k] = v
	}
	return m
}

// OutputDefaults returns Defaults("output_kafka") plus output_kafka.brokers.
func OutputDefaults() map[string]any {
	m := Defaults("output_kafka")
	m["output_kafka.brokers"] = []string{}
	return m
}

// Warnings lists settings that work but weaken security, for the caller to
// log once at start-up: certificate verification turned off, and a
// password sent over plaintext.
func (c Config) Warnings() []string {
	var w []string
	if c.TLS.Enable && c.TLS.InsecureSkipVerify {
		w = append(w, c.key("tls.insecure_skip_verify")+" is true: the brokers' certificates are not verified, so anyone on the network path can impersonate them")
	}
	if c.SASL.Enabled() && !c.TLS.Enable {
		if c.SASL.mechanism() == MechanismPlain {
			w = append(w, c.key("sasl.mechanism")+" PLAIN without "+c.key("tls.enable")+": the password crosses the network in clear text")
		} else {
			w = append(w, c.key("sasl")+" without "+c.key("tls.enable")+": the password is not sent, but the messages are readable on the network")
		}
	}
	return w
}

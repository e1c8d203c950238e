package kafkaconn

import (
	"fmt"
	"log/slog"
)

// redacted is what every printed form of a non-empty Secret shows.
const redacted = "[redacted]"

// Secret is a string that never prints: fmt (every verb, %+v and %#v of a
// struct holding it included), encoding/json, encoding.TextMarshaler users
// (YAML, TOML) and log/slog all see "[redacted]", or "" when it is empty so
// that "no password set" stays visible. Reveal returns the value; it is
// called only where the secret is handed to the SASL mechanism.
type Secret string

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]" (or "" for an empty secret).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString makes %#v redact too.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// Format makes every fmt verb (%s, %v, %q, %x, %d, ...) print the redacted
// form: String alone would leave %x and %d printing the bytes.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.String())
	default:
		_, _ = f.Write([]byte(s.String()))
	}
}

// MarshalJSON keeps JSON config dumps redacted.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf("%q", s.String())), nil }

// MarshalText keeps text-based encoders (YAML, TOML, slog's text values)
// redacted.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue keeps slog attributes redacted.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

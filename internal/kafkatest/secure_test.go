package kafkatest

import (
	"os"
	"strings"
	"testing"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/qegate/qegate/internal/kafkaconn"
)

// TestListenerYAML renders listeners as config YAML and reads it back
// through viper into a kafkaconn.Config: what an e2e test's config file
// would give qegate.
func TestListenerYAML(t *testing.T) {
	for _, l := range []Listener{
		{Name: ListenerPlaintext, Addr: "127.0.0.1:1"},
		{Name: ListenerSASLSSL, Addr: "127.0.0.1:2", Conn: kafkaconn.Config{
			TLS:  kafkaconn.TLSConfig{Enable: true, CAFile: "/tmp/ca.pem"},
			SASL: kafkaconn.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "alice", Password: "s3cret-pw"}}},
		{Name: ListenerMTLS, Addr: "127.0.0.1:3", Conn: kafkaconn.Config{
			TLS: kafkaconn.TLSConfig{Enable: true, CAFile: "/tmp/ca.pem", CertFile: "/tmp/c.pem", KeyFile: "/tmp/k.pem"}}},
	} {
		t.Run(l.Name, func(t *testing.T) {
			y := l.YAML(t)
			if strings.Contains(y, "s3cret-pw") {
				t.Fatalf("password inline in YAML:\n%s", y)
			}
			v := viper.New()
			v.SetConfigType("yaml")
			if err := v.ReadConfig(strings.NewReader("kafka:\n" + y)); err != nil {
				t.Fatalf("%v\n%s", err, y)
			}
			var got struct {
				Kafka struct {
					Brokers []string         `mapstructure:"brokers"`
					Conn    kafkaconn.Config `mapstructure:",squash"`
				} `mapstructure:"kafka"`
			}
			if err := v.UnmarshalExact(&got, viper.DecodeHook(mapstructure.StringToSliceHookFunc(","))); err != nil {
				t.Fatal(err)
			}
			c, err := got.Kafka.Conn.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Kafka.Brokers) != 1 || got.Kafka.Brokers[0] != l.Addr {
				t.Errorf("brokers %v, want [%s]", got.Kafka.Brokers, l.Addr)
			}
			if c.TLS != l.Conn.TLS || c.SASL.Username != l.Conn.SASL.Username || c.SASL.Password != l.Conn.SASL.Password {
				t.Errorf("read back %s, want %s", c, l.Conn)
			}
			if l.Conn.SASL.Enabled() {
				b, err := os.ReadFile(c.SASL.PasswordFile)
				if err != nil || string(b) != "s3cret-pw\n" {
					t.Errorf("password file %q: %q %v", c.SASL.PasswordFile, b, err)
				}
			}
		})
	}
}

package kafkaconn

import (
	"strings"
	"testing"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// section mirrors how cmd/qegate embeds the settings: Config fields
// squashed into the kafka section next to brokers, and Output as
// output_kafka.
type section struct {
	Kafka struct {
		Brokers []string `mapstructure:"brokers"`
		Conn    Config   `mapstructure:",squash"`
	} `mapstructure:"kafka"`
	Output Output `mapstructure:"output_kafka"`
}

// TestViperLoading loads YAML and environment through viper the way
// cmd/qegate does (defaults registered, QEGATE_ prefix, "." -> "_",
// UnmarshalExact with its decode hooks): the documented keys decode, and
// QEGATE_KAFKA_SASL_PASSWORD reaches kafka.sasl.password.
func TestViperLoading(t *testing.T) {
	const yaml = `
kafka:
  brokers: [b1:9096]
  tls:
    enable: true
    ca_file: /etc/ca.pem
  sasl:
    mechanism: SCRAM-SHA-512
    username: qegate
output_kafka:
  brokers: [o1:9093]
  tls: {enable: true, cert_file: /c.pem, key_file: /k.pem}
`
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantPw  string
		wantOut string
	}{
		{"password from env", map[string]string{"QEGATE_KAFKA_SASL_PASSWORD": testPassword}, testPassword, "o1:9093"},
		{"output brokers from env", map[string]string{"QEGATE_KAFKA_SASL_PASSWORD": "x", "QEGATE_OUTPUT_KAFKA_BROKERS": "o2:1,o3:2"}, "x", "o2:1,o3:2"},
		{"no password", nil, "", "o1:9093"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			v := viper.New()
			for k, d := range Defaults("kafka") {
				v.SetDefault(k, d)
			}
			for k, d := range OutputDefaults() {
				v.SetDefault(k, d)
			}
			v.SetDefault("kafka.brokers", []string{})
			v.SetEnvPrefix("QEGATE")
			v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
			v.AutomaticEnv()
			v.SetConfigType("yaml")
			if err := v.ReadConfig(strings.NewReader(yaml)); err != nil {
				t.Fatal(err)
			}
			var s section
			hook := mapstructure.ComposeDecodeHookFunc(mapstructure.StringToTimeDurationHookFunc(), mapstructure.StringToSliceHookFunc(","))
			if err := v.UnmarshalExact(&s, viper.DecodeHook(hook)); err != nil {
				t.Fatal(err)
			}
			c := s.Kafka.Conn
			if !c.TLS.Enable || c.TLS.CAFile != "/etc/ca.pem" || c.SASL.mechanism() != MechanismSCRAMSHA512 || c.SASL.Username != "qegate" {
				t.Fatalf("decoded %+v", c)
			}
			if got := c.SASL.Password.Reveal(); got != tc.wantPw {
				t.Fatalf("password %q, want %q", got, tc.wantPw)
			}
			err := c.Validate()
			if (err == nil) != (tc.wantPw != "") {
				t.Fatalf("Validate() = %v with password %q", err, tc.wantPw)
			}
			brokers, oc, err := ForOutput(s.Kafka.Brokers, c, s.Output)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(brokers, ",") != tc.wantOut || !oc.TLS.Enable || oc.TLS.CertFile != "/c.pem" || oc.SASL.Enabled() {
				t.Fatalf("output %v %+v", brokers, oc)
			}
		})
	}
}

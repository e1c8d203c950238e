// Package app wires qegate's packages into runnable gates: one Config made
// of the packages' own config structs with one set of defaults, the model
// loader, the start-up checks and the one wiring path that run, demo,
// filter, bench and the end-to-end tests share. cmd/qegate keeps only
// flags and output.
package app

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/qegate/qegate/internal/kafkaconn"
	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/pipeline/rules"
	"github.com/qegate/qegate/scorer"
	"github.com/qegate/qegate/source"
)

// Config is the whole configuration (configs/qegate.yaml): one section per
// package, each that package's own config struct. Every key can be
// overridden by QEGATE_<SECTION>_<KEY>, e.g. QEGATE_KAFKA_BROKERS.
type Config struct {
	Kafka source.KafkaConfig `mapstructure:"kafka"`
	// OutputKafka is the cluster the sinks write to; zero: the input's.
	OutputKafka kafkaconn.Output       `mapstructure:"output_kafka"`
	Input       pipeline.DecoderConfig `mapstructure:"input"`
	Routes      pipeline.RoutesConfig  `mapstructure:"routes"`
	Rules       rules.Config           `mapstructure:"rules"`
	Model       ModelConfig            `mapstructure:"model"`
	Pipeline    pipeline.Config        `mapstructure:"pipeline"`
	Metrics     MetricsConfig          `mapstructure:"metrics"`
	Log         LogConfig              `mapstructure:"log"`
}

// ModelConfig is the model section: the scorer's config, with threshold
// overrides as a plain map so that YAML and environment can set them.
type ModelConfig struct {
	scorer.Config `mapstructure:",squash"`
	// WatchInterval is how often qegate run checks the model directory
	// for changed files and hot-reloads the model (SIGHUP reloads at
	// once). Zero disables watching; Defaults() has 10s.
	WatchInterval time.Duration `mapstructure:"watch_interval"`
}

// MetricsConfig configures the Prometheus endpoint.
type MetricsConfig struct {
	// Listen is the address of /metrics, /healthz and /readyz. Empty
	// disables them.
	Listen string `mapstructure:"listen"`
	// PProf adds Go's profiling handlers under /debug/pprof/ on Listen.
	PProf bool `mapstructure:"pprof"`
}

// LogConfig configures slog.
type LogConfig struct {
	// Level is debug, info (default), warn or error.
	Level string `mapstructure:"level"`
	// Format is text (default) or json.
	Format string `mapstructure:"format"`
}

// Defaults is the configuration with no file and no environment: each
// package's DefaultConfig (where the reason for each number is written)
// plus the message contract's broker, group and topic names.
// configs/qegate.yaml lists exactly these values (a test holds it to that).
func Defaults() Config {
	kafka := source.DefaultKafkaConfig()
	// A broker on this machine, the project's group and input topic: what
	// the quick start and the demo use.
	kafka.Brokers, kafka.GroupID, kafka.Topics, kafka.StartOffset = []string{"127.0.0.1:9092"}, "qegate", []string{"mt.incoming"}, "earliest"
	return Config{
		Kafka:       kafka,
		OutputKafka: kafkaconn.Output{Brokers: []string{}},
		Input:       pipeline.DefaultDecoderConfig(),
		Routes: pipeline.RoutesConfig{
			Publish: "publish.{tgt_lang}", PostEdit: "postedit.{tgt_lang}", DeadLetter: "qegate.deadletter",
		},
		Rules: rules.DefaultConfig(),
		// WatchInterval: a changed model is served within ten seconds of
		// its files changing, for one stat of three files per tick.
		Model:    ModelConfig{Config: scorer.Config{ThresholdOverrides: map[string]float64{}, CriticalThresholdOverrides: map[string]float64{}}, WatchInterval: 10 * time.Second},
		Pipeline: pipeline.DefaultConfig(),
		Log:      LogConfig{Level: "info", Format: "text"},
	}
}

// withDefaults applies the packages' defaults once, at load, to the keys
// whose zero means "the default" (a file or variable may set them to 0):
// everything built from the Config afterwards reads final values.
func (c *Config) withDefaults() {
	c.Kafka = c.Kafka.WithDefaults()
	c.Input = c.Input.WithDefaults()
	c.Rules = c.Rules.WithDefaults()
	c.Pipeline = c.Pipeline.WithDefaults()
}

// Keys returns the dotted key of every setting with its default value, as
// the file and the environment name them (kafka.brokers, ...).
func Keys() map[string]any {
	out := map[string]any{}
	flatten("", reflect.ValueOf(Defaults()), out)
	return out
}

// flatten walks a config struct by its mapstructure tags; structs are
// sections, squashed structs merge into their parent, anything else is a
// leaf (maps included: their keys are data, not settings).
func flatten(prefix string, v reflect.Value, out map[string]any) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if opts == "squash" {
			flatten(prefix, fv, out)
			continue
		}
		if name == "" {
			continue // untagged fields are not settings
		}
		key := prefix + name
		if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Duration(0)) {
			flatten(key+".", fv, out)
			continue
		}
		out[key] = fv.Interface()
	}
}

// Load reads path (empty: defaults only) and the QEGATE_* environment.
// Unknown keys in the file are an error, so a typo cannot silently fall
// back to a default.
func Load(path string) (*Config, error) {
	v := viper.New()
	keys := Keys()
	for k, d := range keys {
		v.SetDefault(k, d)
	}
	v.SetEnvPrefix("QEGATE")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config: read %s: %w", path, err)
		}
		if err := unknownKeys(v, keys); err != nil {
			return nil, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	var c Config
	var err error
	hook := mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)
	if err = v.UnmarshalExact(&c, viper.DecodeHook(hook)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// password_file is read once, here: a missing file fails start-up.
	if c.Kafka.Conn, err = c.Kafka.Conn.Resolve(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

// unknownKeys rejects file keys that are not settings (UnmarshalExact
// misses keys nested under maps such as model.thresholds' siblings).
func unknownKeys(v *viper.Viper, keys map[string]any) error {
	var bad []string
	for _, k := range v.AllKeys() {
		if _, ok := keys[k]; ok {
			continue
		}
		if isMapEntry(k, keys) {
			continue
		}
		bad = append(bad, k)
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("unknown key(s): %s", strings.Join(bad, ", "))
	}
	return nil
}

// isMapEntry reports whether k names an entry of a map-valued setting
// (model.thresholds.en-de).
func isMapEntry(k string, keys map[string]any) bool {
	for i := strings.LastIndexByte(k, '.'); i > 0; i = strings.LastIndexByte(k[:i], '.') {
		if d, ok := keys[k[:i]]; ok {
			return reflect.ValueOf(d).Kind() == reflect.Map
		}
	}
	return false
}

// Validate checks values that have no safe default.
func (c *Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.Routes.Validate(); err != nil {
		return err
	}
	if _, _, err := c.Output(); err != nil {
		return err
	}
	if _, err := rules.New(c.Rules); err != nil {
		return err
	}
	routes := c.Routes
	routes.RuleRejects = c.Rules.Route
	if err := routes.Validate(); err != nil {
		return err
	}
	if err := c.Input.Segments.Validate(); err != nil {
		return err
	}
	if c.Input.MaxBytes < 0 {
		return errors.New("input.max_message_bytes: must be >= 0")
	}
	if c.Input.MaxBytes > c.Kafka.MaxFetchBytes && c.Kafka.MaxFetchBytes > 0 {
		return fmt.Errorf("input.max_message_bytes (%d) exceeds kafka.max_fetch_bytes (%d)", c.Input.MaxBytes, c.Kafka.MaxFetchBytes)
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		return err
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		return fmt.Errorf("log.format: want text or json, got %q", c.Log.Format)
	}
	for name, d := range map[string]time.Duration{
		"pipeline.batch_wait": c.Pipeline.BatchWait, "pipeline.drain_timeout": c.Pipeline.DrainTimeout,
	} {
		if d < 0 {
			return fmt.Errorf("%s: must be >= 0", name)
		}
	}
	return nil
}

// Output returns the brokers and connection of the output cluster: the
// input's unless output_kafka names one, with its password resolved.
func (c *Config) Output() ([]string, kafkaconn.Config, error) {
	brokers, conn, err := kafkaconn.ForOutput(c.Kafka.Brokers, c.Kafka.Conn, c.OutputKafka)
	if err != nil || len(c.OutputKafka.Brokers) == 0 {
		return brokers, conn, err // the input's, resolved by Load
	}
	conn, err = conn.Resolve()
	return brokers, conn, err
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log.level: %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// Logger builds the configured slog logger on stderr.
func (c *Config) Logger() *slog.Logger {
	lvl, _ := parseLevel(c.Log.Level)
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

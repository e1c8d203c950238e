package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/qegate/qegate/pipeline"
)

// Config is the whole file configuration (configs/qegate.yaml). Every key
// can be overridden by QEGATE_<SECTION>_<KEY>, e.g. QEGATE_KAFKA_BROKERS.
type Config struct {
	Kafka    pipeline.KafkaSourceConfig `mapstructure:"kafka"`
	Input    InputConfig                `mapstructure:"input"`
	Routes   pipeline.RoutesConfig      `mapstructure:"routes"`
	Model    ModelConfig                `mapstructure:"model"`
	Pipeline PipelineConfig             `mapstructure:"pipeline"`
	Metrics  MetricsConfig              `mapstructure:"metrics"`
	Log      LogConfig                  `mapstructure:"log"`
}

// InputConfig is the message contract's input side.
type InputConfig struct {
	Fields          pipeline.Fields `mapstructure:"fields"`
	MaxMessageBytes int             `mapstructure:"max_message_bytes"`
	LangPairs       []string        `mapstructure:"lang_pairs"`
}

// ModelConfig selects and sizes the scorer.
type ModelConfig struct {
	Dir            string             `mapstructure:"dir"`
	Output         string             `mapstructure:"output"`
	ORTLibrary     string             `mapstructure:"ort_library"`
	Sessions       int                `mapstructure:"sessions"`
	IntraOpThreads int                `mapstructure:"intra_op_threads"`
	MaxLen         int                `mapstructure:"max_len"`
	Thresholds     map[string]float64 `mapstructure:"thresholds"`
}

// PipelineConfig sizes batching, workers and shutdown.
type PipelineConfig struct {
	BatchSize    int           `mapstructure:"batch_size"`
	BatchWait    time.Duration `mapstructure:"batch_wait"`
	Workers      int           `mapstructure:"workers"`
	QueueSize    int           `mapstructure:"queue_size"`
	DrainTimeout time.Duration `mapstructure:"drain_timeout"`
	RetryBackoff time.Duration `mapstructure:"retry_backoff"`
}

// MetricsConfig configures the Prometheus endpoint.
type MetricsConfig struct {
	Listen string `mapstructure:"listen"`
}

// LogConfig configures slog.
type LogConfig struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// defaults are the zero-config values; every key is listed so that env
// overrides work without a file.
var defaults = map[string]any{
	"kafka.brokers":           []string{"127.0.0.1:9092"},
	"kafka.group_id":          "qegate",
	"kafka.topics":            []string{"mt.incoming"},
	"kafka.start_offset":      "earliest",
	"kafka.commit_interval":   "1s",
	"kafka.revoke_timeout":    "10s",
	"kafka.session_timeout":   "10s",
	"kafka.rebalance_timeout": "30s",
	"kafka.max_fetch_bytes":   16 << 20,
	"kafka.fetch_max_wait":    "250ms",
	"input.fields.id":         "id",
	"input.fields.src":        "src",
	"input.fields.mt":         "mt",
	"input.fields.src_lang":   "src_lang",
	"input.fields.tgt_lang":   "tgt_lang",
	"input.max_message_bytes": 1 << 20,
	"input.lang_pairs":        []string{},
	"routes.publish":          "publish.{tgt_lang}",
	"routes.post_edit":        "postedit.{tgt_lang}",
	"routes.review":           "",
	"routes.review_margin":    0.0,
	"routes.dead_letter":      "qegate.deadletter",
	"model.dir":               "",
	"model.output":            "",
	"model.ort_library":       "",
	"model.sessions":          0,
	"model.intra_op_threads":  0,
	"model.max_len":           0,
	"model.thresholds":        map[string]float64{},
	"pipeline.batch_size":     32,
	"pipeline.batch_wait":     "10ms",
	"pipeline.workers":        0,
	"pipeline.queue_size":     1024,
	"pipeline.drain_timeout":  "20s",
	"pipeline.retry_backoff":  "100ms",
	"metrics.listen":          "",
	"log.level":               "info",
	"log.format":              "text",
}

// LoadConfig reads path (empty: defaults only) and QEGATE_* overrides.
// Unknown keys in the file are an error, so a typo cannot silently fall
// back to a default.
func LoadConfig(path string) (*Config, error) {
	v := viper.New()
	for k, d := range defaults {
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
		if err := unknownKeys(v); err != nil {
			return nil, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	var c Config
	hook := mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)
	if err := v.UnmarshalExact(&c, viper.DecodeHook(hook)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

// unknownKeys rejects file keys that are not in defaults (UnmarshalExact
// misses keys nested under maps such as model.thresholds' siblings).
func unknownKeys(v *viper.Viper) error {
	var bad []string
	for _, k := range v.AllKeys() {
		if _, ok := defaults[k]; ok {
			continue
		}
		if strings.HasPrefix(k, "model.thresholds.") {
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

// Validate checks values that have no safe default.
func (c *Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.Routes.Validate(); err != nil {
		return err
	}
	if c.Input.MaxMessageBytes < 0 {
		return errors.New("input.max_message_bytes: must be >= 0")
	}
	if c.Input.MaxMessageBytes > c.Kafka.MaxFetchBytes && c.Kafka.MaxFetchBytes > 0 {
		return fmt.Errorf("input.max_message_bytes (%d) exceeds kafka.max_fetch_bytes (%d)", c.Input.MaxMessageBytes, c.Kafka.MaxFetchBytes)
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

package validate

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// ConfigSections are the top-level sections of qegate.yaml: those of
// configs/qegate.yaml and the ones other issues add (rules, output_kafka).
var ConfigSections = []string{"kafka", "input", "routes", "model", "pipeline", "metrics", "log", "rules", "output_kafka"}

// ConfigSchema is the set of keys qegate accepts, read from the reference
// configs/qegate.yaml (which lists every key with its default; qegate
// rejects unknown keys, so a deploy file with a stale key would not start).
type ConfigSchema struct {
	leaves   map[string]string // dotted key -> kind of its default
	freeMaps map[string]bool   // keys whose default is {}: any sub-key (model.thresholds)
	sections map[string]bool
	Defaults map[string]any // the reference file itself
}

// LoadConfigSchema reads the reference config.
func LoadConfigSchema(path string) (*ConfigSchema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config schema: %w", err)
	}
	var ref map[string]any
	if err := yaml.Unmarshal(data, &ref); err != nil {
		return nil, fmt.Errorf("config schema: %s: %w", path, err)
	}
	s := &ConfigSchema{leaves: map[string]string{}, freeMaps: map[string]bool{}, sections: map[string]bool{}, Defaults: ref}
	for _, sec := range ConfigSections {
		s.sections[sec] = true
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			key := prefix + k
			if sub, ok := v.(map[string]any); ok {
				if len(sub) == 0 {
					s.freeMaps[key] = true
					continue
				}
				walk(key+".", sub)
				continue
			}
			s.leaves[key] = kindOf(v)
		}
	}
	walk("", ref)
	for k := range ref {
		if !s.sections[k] {
			return nil, fmt.Errorf("config schema: %s: section %q is not in ConfigSections", path, k)
		}
	}
	return s, nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "any"
	case string:
		return "string"
	case bool:
		return "bool"
	case float64, int, int64:
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}

// Check parses a qegate.yaml and reports every key qegate would reject:
// unknown sections and keys, and values of the wrong kind (a list where a
// string belongs). Sections the reference does not have yet (rules,
// output_kafka) are accepted as they are.
func (s *ConfigSchema) Check(doc []byte) (map[string]any, error) {
	var cfg map[string]any
	if err := yaml.UnmarshalStrict(doc, &cfg); err != nil {
		return nil, fmt.Errorf("qegate.yaml: %w", err)
	}
	var problems errs
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, key := m[k], prefix+k
			if s.freeMaps[key] {
				if _, ok := v.(map[string]any); !ok {
					problems.addf("qegate.yaml: %s: want a map, got %s", key, kindOf(v))
				}
				continue
			}
			if want, ok := s.leaves[key]; ok {
				if got := kindOf(v); want != "any" && got != want {
					problems.addf("qegate.yaml: %s: want a %s (as in configs/qegate.yaml), got %s", key, want, got)
				}
				continue
			}
			if sub, ok := v.(map[string]any); ok && s.hasPrefix(key+".") {
				walk(key+".", sub)
				continue
			}
			problems.addf("qegate.yaml: unknown key %s", key)
		}
	}
	for k, v := range cfg {
		if !s.sections[k] {
			problems.addf("qegate.yaml: unknown section %q (want one of %s)", k, strings.Join(ConfigSections, " "))
			delete(cfg, k)
			continue
		}
		if _, ok := v.(map[string]any); !ok {
			problems.addf("qegate.yaml: section %s: want a map, got %s", k, kindOf(v))
			delete(cfg, k)
			continue
		}
		if !s.hasPrefix(k + ".") {
			delete(cfg, k) // a section the reference does not describe yet
		}
	}
	walk("", cfg)
	if err := problems.join(); err != nil {
		return nil, err
	}
	var full map[string]any
	_ = yaml.Unmarshal(doc, &full)
	return full, nil
}

func (s *ConfigSchema) hasPrefix(p string) bool {
	for k := range s.leaves {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	for k := range s.freeMaps {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// EnvKey maps a QEGATE_* environment variable to the config key it
// overrides (QEGATE_KAFKA_GROUP_ID -> kafka.group_id), as viper's
// AutomaticEnv with "." -> "_" does; false when no key matches.
func (s *ConfigSchema) EnvKey(env string) (string, bool) {
	name, ok := strings.CutPrefix(env, "QEGATE_")
	if !ok {
		return "", false
	}
	for k := range s.leaves {
		if strings.ToUpper(strings.ReplaceAll(k, ".", "_")) == name {
			return k, true
		}
	}
	for k := range s.freeMaps {
		if strings.ToUpper(strings.ReplaceAll(k, ".", "_")) == name {
			return k, true
		}
	}
	return "", false
}

// Setting returns the value of a dotted key in cfg, else the reference
// default, else nil.
func (s *ConfigSchema) Setting(cfg map[string]any, key string) any {
	if v := at(cfg, strings.Split(key, ".")...); v != nil {
		return v
	}
	return at(s.Defaults, strings.Split(key, ".")...)
}

// Duration parses a config duration ("20s"); numbers are nanoseconds, as
// viper's decode hook reads them.
func Duration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case string:
		return time.ParseDuration(x)
	case float64:
		return time.Duration(x), nil
	}
	return 0, fmt.Errorf("not a duration: %v", v)
}

// ListenPort returns the port of a listen address (":9464", "0.0.0.0:9464").
func ListenPort(addr string) (int, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return 0, fmt.Errorf("listen address %q: no port", addr)
	}
	p, err := strconv.Atoi(addr[i+1:])
	if err != nil || p <= 0 || p > 65535 {
		return 0, fmt.Errorf("listen address %q: bad port", addr)
	}
	return p, nil
}

// Strings converts a decoded YAML list (or a comma-separated string, as in
// an environment override) to strings.
func Strings(v any) []string {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case []string:
		return x
	case string:
		if x == "" {
			return nil
		}
		return strings.Split(x, ",")
	}
	return nil
}

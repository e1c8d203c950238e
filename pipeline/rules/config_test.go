package rules

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

// TestDocYAML decodes the `rules:` YAML of the package doc the way qegate
// reads its config (viper, UnmarshalExact: an unknown key is an error) and
// checks that it is exactly the zero Config's defaults, so the documented
// keys and defaults cannot drift from the code.
func TestDocYAML(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var yaml []string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		body, ok := strings.CutPrefix(line, "//\t")
		if !ok {
			if in {
				break
			}
			continue
		}
		if body == "rules:" {
			in = true
		}
		if in {
			yaml = append(yaml, body)
		}
	}
	if len(yaml) < 10 {
		t.Fatalf("no rules: YAML block found in doc.go (%d lines)", len(yaml))
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(strings.NewReader(strings.Join(yaml, "\n"))); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rules Config `mapstructure:"rules"`
	}
	if err := v.UnmarshalExact(&doc); err != nil {
		t.Fatalf("doc YAML does not decode into Config: %v", err)
	}
	if err := doc.Rules.fill(); err != nil {
		t.Fatal(err)
	}
	var zero Config
	if err := zero.fill(); err != nil {
		t.Fatal(err)
	}
	doc.Rules.LengthRatio.Bounds, zero.LengthRatio.Bounds = nil, nil // {} vs nil
	if !reflect.DeepEqual(doc.Rules, zero) {
		t.Fatalf("documented defaults differ from the zero Config's:\ndoc:  %+v\ncode: %+v", doc.Rules, zero)
	}

	// every field of Config must be documented
	documented := map[string]bool{}
	for _, k := range v.AllKeys() {
		documented[k] = true
	}
	for _, k := range fieldKeys(reflect.TypeOf(Config{}), "rules") {
		if !documented[k] && !documented[k+".en-de"] && k != "rules.length_ratio.bounds" {
			t.Errorf("config key %s is not in the doc YAML", k)
		}
	}

	// overrides decode, the "*" bounds key included
	v2 := viper.New()
	v2.SetConfigType("yaml")
	if err := v2.ReadConfig(strings.NewReader("rules:\n  copy:\n    min_similarity: 0.8\n  length_ratio:\n    bounds:\n      en-de: [0.5, 2]\n      \"*\": [0.4, 2.5]\n")); err != nil {
		t.Fatal(err)
	}
	if err := v2.UnmarshalExact(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Rules.Copy.MinSimilarity != 0.8 || len(doc.Rules.LengthRatio.Bounds["en-de"]) != 2 || doc.Rules.LengthRatio.Bounds["*"][1] != 2.5 {
		t.Fatalf("overrides not decoded: %+v", doc.Rules)
	}
	if _, err := New(doc.Rules); err != nil {
		t.Fatal(err)
	}
	v3 := viper.New()
	v3.SetConfigType("yaml")
	if err := v3.ReadConfig(strings.NewReader("rules:\n  copy:\n    min_similarty: 0.8\n")); err != nil {
		t.Fatal(err)
	}
	if err := v3.UnmarshalExact(&doc); err == nil || !strings.Contains(err.Error(), "min_similarty") {
		t.Fatalf("misspelt key: %v, want an error naming it", err)
	}
}

// fieldKeys lists the dotted mapstructure keys of a config struct's leaves.
func fieldKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		k := prefix + "." + f.Tag.Get("mapstructure")
		if f.Type.Kind() == reflect.Struct {
			out = append(out, fieldKeys(f.Type, k)...)
		} else {
			out = append(out, k)
		}
	}
	return out
}

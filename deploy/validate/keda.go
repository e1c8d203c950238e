package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// KEDA holds what the checks need from one KEDA release's source: the CRD
// OpenAPI schemas of ScaledObject and TriggerAuthentication, and the
// parameter names its Kafka scaler reads (from the struct tags of
// pkg/scalers/kafka_scaler.go), so a misspelt trigger key is caught here
// rather than ignored by the operator.
type KEDA struct {
	Version string
	// MetadataParams may appear in a kafka trigger's metadata; AuthParams
	// in a TriggerAuthentication's secretTargetRef parameters.
	MetadataParams map[string]bool
	AuthParams     map[string]bool

	scaledObject *jsonschema.Schema
	triggerAuth  *jsonschema.Schema
}

// KEDASource returns the directory of github.com/kedacore/keda/v2@version
// in the Go module cache, downloading the module the first time.
func KEDASource(ctx context.Context, version string) (string, error) {
	tmp, err := os.MkdirTemp("", "qegate-keda-")
	if err != nil {
		return "", fmt.Errorf("keda source: %w", err)
	}
	defer os.RemoveAll(tmp)
	// Outside any module, so the query never touches go.mod files.
	out, err := run(ctx, tmp, append(envWithout("GOFLAGS"), "GO111MODULE=on"), "go", "mod", "download", "-json", "github.com/kedacore/keda/v2@"+version)
	if err != nil {
		return "", fmt.Errorf("keda source: %w", err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("keda source: go mod download output: %w", err)
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("keda source: %s@%s: %s", "github.com/kedacore/keda/v2", version, m.Error)
	}
	return m.Dir, nil
}

// LoadKEDA reads the CRD schemas and Kafka scaler parameters from a KEDA
// source tree (KEDASource).
func LoadKEDA(dir, version string) (*KEDA, error) {
	k := &KEDA{Version: version}
	var err error
	crds := filepath.Join(dir, "config", "crd", "bases")
	if k.scaledObject, err = crdSchema(filepath.Join(crds, "keda.sh_scaledobjects.yaml"), "v1alpha1"); err != nil {
		return nil, err
	}
	if k.triggerAuth, err = crdSchema(filepath.Join(crds, "keda.sh_triggerauthentications.yaml"), "v1alpha1"); err != nil {
		return nil, err
	}
	k.MetadataParams, k.AuthParams, err = kafkaScalerParams(filepath.Join(dir, "pkg", "scalers", "kafka_scaler.go"))
	if err != nil {
		return nil, err
	}
	return k, nil
}

// ValidateScaledObject checks a decoded keda.sh/v1alpha1 ScaledObject
// against the CRD schema (unknown fields rejected) and its kafka triggers'
// metadata keys against the scaler's parameters.
func (k *KEDA) ValidateScaledObject(obj any) error {
	if err := k.scaledObject.Validate(obj); err != nil {
		return fmt.Errorf("ScaledObject: CRD schema (keda %s): %w", k.Version, err)
	}
	var problems errs
	for i, tr := range listAt(obj, "spec", "triggers") {
		if str(tr, "type") != "kafka" {
			continue
		}
		md, _ := at(tr, "metadata").(map[string]any)
		for key := range md {
			if !k.MetadataParams[key] {
				problems.addf("ScaledObject: triggers[%d].metadata.%s: not a parameter of KEDA %s's kafka scaler", i, key, k.Version)
			}
		}
	}
	return problems.join()
}

// ValidateTriggerAuthentication checks a decoded TriggerAuthentication
// against the CRD schema and its parameters against the Kafka scaler's.
func (k *KEDA) ValidateTriggerAuthentication(obj any) error {
	if err := k.triggerAuth.Validate(obj); err != nil {
		return fmt.Errorf("TriggerAuthentication: CRD schema (keda %s): %w", k.Version, err)
	}
	var problems errs
	for i, ref := range listAt(obj, "spec", "secretTargetRef") {
		if p := str(ref, "parameter"); !k.AuthParams[p] {
			problems.addf("TriggerAuthentication: secretTargetRef[%d].parameter %q: not an auth parameter of KEDA %s's kafka scaler", i, p, k.Version)
		}
	}
	return problems.join()
}

// crdSchema compiles the openAPIV3Schema of one version of a CRD file.
// Structural schemas leave additionalProperties open (the API server prunes
// unknown fields, or rejects them under strict field validation, which
// kubectl uses by default); to reject them here the same way, every object
// schema with properties and no additionalProperties or
// x-kubernetes-preserve-unknown-fields gets additionalProperties: false.
// OpenAPI's nullable becomes a "null" type.
func crdSchema(path, version string) (*jsonschema.Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("crd schema: %w", err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		return nil, fmt.Errorf("crd schema: %s: %w", path, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name != version {
			continue
		}
		schema := v.Schema.OpenAPIV3Schema
		if schema == nil {
			break
		}
		closeSchema(schema)
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft4) // OpenAPI 3.0 schema objects are draft-4 shaped
		url := "file://" + filepath.ToSlash(path)
		if err := c.AddResource(url, schema); err != nil {
			return nil, fmt.Errorf("crd schema: %s: %w", path, err)
		}
		sch, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("crd schema: %s: %w", path, err)
		}
		return sch, nil
	}
	return nil, fmt.Errorf("crd schema: %s: no version %s with a schema", path, version)
}

func closeSchema(s map[string]any) {
	if s["nullable"] == true {
		if t, ok := s["type"].(string); ok {
			s["type"] = []any{t, "null"}
		}
	}
	_, hasProps := s["properties"]
	_, hasAdditional := s["additionalProperties"]
	if hasProps && !hasAdditional && s["x-kubernetes-preserve-unknown-fields"] != true {
		s["additionalProperties"] = false
	}
	for _, key := range []string{"properties", "patternProperties"} {
		if props, ok := s[key].(map[string]any); ok {
			for _, p := range props {
				if m, ok := p.(map[string]any); ok {
					closeSchema(m)
				}
			}
		}
	}
	for _, key := range []string{"items", "additionalProperties", "not"} {
		if m, ok := s[key].(map[string]any); ok {
			closeSchema(m)
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		if l, ok := s[key].([]any); ok {
			for _, e := range l {
				if m, ok := e.(map[string]any); ok {
					closeSchema(m)
				}
			}
		}
	}
}

// kafkaScalerParams parses the keda:"name=...,order=..." struct tags of
// kafkaMetadata: order triggerMetadata means the key may be set in the
// trigger's metadata, authParams in a TriggerAuthentication.
func kafkaScalerParams(path string) (metadata, auth map[string]bool, err error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka scaler: %w", err)
	}
	metadata, auth = map[string]bool{}, map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "kafkaMetadata" {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return false
		}
		for _, field := range st.Fields.List {
			if field.Tag == nil {
				continue
			}
			raw, err := strconv.Unquote(field.Tag.Value)
			if err != nil {
				continue
			}
			var name string
			var orders []string
			for _, part := range strings.Split(reflect.StructTag(raw).Get("keda"), ",") {
				k, v, _ := strings.Cut(part, "=")
				switch k {
				case "name":
					name = v
				case "order":
					orders = strings.Split(v, ";")
				}
			}
			for _, o := range orders {
				switch {
				case o == "triggerMetadata":
					metadata[name] = true
				case o == "authParams":
					auth[name] = true
				}
			}
		}
		return false
	})
	if len(metadata) == 0 || !metadata["lagThreshold"] || !metadata["bootstrapServers"] {
		return nil, nil, fmt.Errorf("kafka scaler: %s: no kafkaMetadata with lagThreshold and bootstrapServers tags (KEDA layout changed?)", path)
	}
	return metadata, auth, nil
}

// jsonValue converts one YAML document to a JSON value as the schema
// validator wants it (numbers as json.Number), refusing duplicate keys.
func jsonValue(doc []byte) (map[string]any, error) {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("yaml to json: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("json: not an object")
	}
	return m, nil
}

// at walks nested maps; nil when a step is missing.
func at(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := at(v, path...).(string)
	return s
}

func listAt(v any, path ...string) []any {
	l, _ := at(v, path...).([]any)
	return l
}

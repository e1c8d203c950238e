package validate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Rendered holds one `helm template` output decoded into the upstream
// Kubernetes types. KEDA objects stay generic JSON values, checked against
// KEDA's CRD schema instead.
type Rendered struct {
	Deployments     []*appsv1.Deployment
	ConfigMaps      []*corev1.ConfigMap
	Secrets         []*corev1.Secret
	Services        []*corev1.Service
	ServiceAccounts []*corev1.ServiceAccount
	PDBs            []*policyv1.PodDisruptionBudget
	Jobs            []*batchv1.Job
	// ScaledObjects and TriggerAuths are keda.sh/v1alpha1 objects as
	// decoded JSON (map[string]any, numbers as json.Number).
	ScaledObjects []map[string]any
	TriggerAuths  []map[string]any
	// Kinds lists every document as kind/name, in order.
	Kinds []string
}

// DecodeManifests splits a multi-document YAML stream and strictly decodes
// each document into its upstream type: an unknown or misspelt field, a
// duplicate key or a wrong type is an error, as it would be for
// `kubectl apply --validate=strict`. Kinds the chart does not make are
// errors too.
func DecodeManifests(data []byte) (*Rendered, error) {
	r := &Rendered{}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var problems errs
	for i := 0; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("manifests: document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		if err := r.add(doc); err != nil {
			problems.addf("manifests: document %d: %w", i, err)
		}
	}
	if err := problems.join(); err != nil {
		return nil, err
	}
	return r, nil
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") || t == "---" {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// strict decodes doc into v, refusing unknown fields and duplicate keys.
func strict(doc []byte, v any) error {
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		return fmt.Errorf("strict decode: %w", err)
	}
	return nil
}

// decodeInto strictly decodes doc as a T and appends it to list.
func decodeInto[T any](doc []byte, list *[]*T) error {
	var o T
	err := strict(doc, &o)
	*list = append(*list, &o)
	return err
}

func (r *Rendered) add(doc []byte) error {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	id := meta.Kind + "/" + meta.Metadata.Name
	if err := checkObjectMeta(meta.Metadata.Name, meta.Metadata.Labels); err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	var err error
	switch meta.APIVersion + " " + meta.Kind {
	case "apps/v1 Deployment":
		err = decodeInto(doc, &r.Deployments)
	case "v1 ConfigMap":
		err = decodeInto(doc, &r.ConfigMaps)
	case "v1 Secret":
		err = decodeInto(doc, &r.Secrets)
	case "v1 Service":
		err = decodeInto(doc, &r.Services)
	case "v1 ServiceAccount":
		err = decodeInto(doc, &r.ServiceAccounts)
	case "policy/v1 PodDisruptionBudget":
		err = decodeInto(doc, &r.PDBs)
	case "batch/v1 Job":
		err = decodeInto(doc, &r.Jobs)
	case "keda.sh/v1alpha1 ScaledObject", "keda.sh/v1alpha1 TriggerAuthentication":
		var o map[string]any
		o, err = jsonValue(doc)
		if meta.Kind == "ScaledObject" {
			r.ScaledObjects = append(r.ScaledObjects, o)
		} else {
			r.TriggerAuths = append(r.TriggerAuths, o)
		}
	default:
		return fmt.Errorf("%s: unexpected %s %s", id, meta.APIVersion, meta.Kind)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	r.Kinds = append(r.Kinds, id)
	return nil
}

// checkObjectMeta applies the API server's name and label rules.
func checkObjectMeta(name string, labels map[string]string) error {
	var problems errs
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		problems.addf("metadata.name %q: %s", name, strings.Join(msgs, "; "))
	}
	for k, v := range labels {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			problems.addf("label key %q: %s", k, strings.Join(msgs, "; "))
		}
		if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
			problems.addf("label %s value %q: %s", k, v, strings.Join(msgs, "; "))
		}
	}
	return problems.join()
}

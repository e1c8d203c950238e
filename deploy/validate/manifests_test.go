package validate

import (
	"strings"
	"testing"
)

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not found", old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestDecodeManifests(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want []string
	}{
		{name: "comments and empty documents", doc: "# only a comment\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n"},
		{name: "unexpected kind", doc: "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", want: []string{"unexpected v1 Pod"}},
		{name: "old API version", doc: "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: a}\n", want: []string{"unexpected policy/v1beta1"}},
		{name: "wrong type", doc: "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: metrics}]}\n", want: []string{"Service/a"}},
		{name: "bad label value", doc: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {x: \"a b\"}}\n", want: []string{"label x value"}},
		{name: "not YAML", doc: "apiVersion: v1\nkind: [\n", want: []string{"document 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeManifests([]byte(tc.doc))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tc.want...)
		})
	}
}

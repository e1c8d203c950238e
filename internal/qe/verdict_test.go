package qe

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestVerdictAddTo(t *testing.T) {
	v := Verdict{Score: json.Number("0.700000"), Label: "acceptable", Model: "m", ModelVersion: "1", Route: "accepted"}
	const q = `{"score":0.700000,"label":"acceptable","model":"m","model_version":"1","route":"accepted"}`
	cases := []struct{ name, in, want, err string }{
		{"appended, bytes kept", `{"b":1, "a":2.50}`, `{"b":1, "a":2.50,"qe":` + q + `}`, ""},
		{"empty object", "{ }\n", `{"qe":` + q + `}`, ""},
		{"qe as a value only", `{"mt":"qe"}`, `{"mt":"qe","qe":` + q + `}`, ""},
		{"existing qe replaced", `{"qe":{"reason":"old"},"a":1}`, `{"a":1,"qe":` + q + `}`, ""},
		{"escaped qe replaced", `{"q\u0065":1}`, `{"qe":` + q + `}`, ""},
		{"replaced, other members not HTML-escaped", `{"id":{"&":["<a>"]},"qe":0}`, `{"id":{"&":["<a>"]},"qe":` + q + `}`, ""},
		{"not an object", `[1]`, "", "not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.AddTo([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("AddTo(%s) = %s, %v; want error %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("AddTo(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestRouteNames(t *testing.T) {
	want := []string{"accepted", "rejected", "critical", "review", "dead_letter"}
	for r := Route(0); r < NumRoutes; r++ {
		if r.String() != want[r] {
			t.Errorf("Route(%d) = %q, want %q", r, r.String(), want[r])
		}
	}
}

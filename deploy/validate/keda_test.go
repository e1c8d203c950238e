package validate

import (
	"testing"
)

func TestKEDAKafkaScalerParams(t *testing.T) {
	k := keda(t)
	for _, p := range []string{"bootstrapServers", "consumerGroup", "topic", "lagThreshold", "activationLagThreshold", "offsetResetPolicy", "sasl", "tls"} {
		if !k.MetadataParams[p] {
			t.Errorf("KEDA %s kafka scaler: no trigger metadata %s", k.Version, p)
		}
	}
	for _, p := range []string{"username", "password", "ca", "cert", "key"} {
		if !k.AuthParams[p] {
			t.Errorf("KEDA %s kafka scaler: no auth parameter %s", k.Version, p)
		}
		if k.MetadataParams[p] && p != "sasl" && p != "tls" {
			t.Errorf("KEDA %s kafka scaler: secret %s readable from trigger metadata (it belongs in a TriggerAuthentication)", k.Version, p)
		}
	}
}

func TestKEDASchema(t *testing.T) {
	k := keda(t)
	valid := `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: q}
spec:
  scaleTargetRef: {name: q}
  triggers:
    - type: kafka
      metadata: {bootstrapServers: "k:9092", consumerGroup: g, lagThreshold: "10"}
`
	for _, tc := range []struct {
		name, old, new string
		want           []string
	}{
		{name: "valid"},
		{name: "missing scaleTargetRef", old: "  scaleTargetRef: {name: q}\n", new: "", want: []string{"scaleTargetRef"}},
		{name: "missing triggers", old: "  triggers:", new: "  trigger:", want: []string{"trigger"}},
		{name: "numeric metadata value", old: `lagThreshold: "10"`, new: `lagThreshold: 10`, want: []string{"lagThreshold"}},
		{name: "replica count as string", old: "  triggers:", new: "  maxReplicaCount: \"3\"\n  triggers:", want: []string{"maxReplicaCount"}},
		{name: "unknown scaleTargetRef field", old: "scaleTargetRef: {name: q}", new: "scaleTargetRef: {name: q, namespace: x}", want: []string{"namespace"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := valid
			if tc.old != "" {
				doc = replaceOnce(t, doc, tc.old, tc.new)
			}
			obj, err := jsonValue([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			err = k.ValidateScaledObject(obj)
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

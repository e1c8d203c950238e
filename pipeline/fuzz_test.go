package pipeline

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/qegate/qegate/internal/qe"
)

// FuzzRoute checks output construction for any decodable input and any
// score: the output is the input object plus exactly one "qe" member (every
// other member unchanged), the route agrees with the score, the topic is
// expanded and safe, and the headers carry the verdict and the source.
//
//	go test -run=^$ -fuzz=FuzzRoute -fuzztime=10s ./pipeline
func FuzzRoute(f *testing.F) {
	for _, s := range []string{
		`{"id":"a1","src":"Hello","mt":"Hallo","src_lang":"en","tgt_lang":"de"}`,
		`{"id":7,"src":"a","mt":"b","src_lang":"pt_BR","tgt_lang":"EN","extra":{"x":[1,2,{}]}}`,
		`{"qe":{"score":1},"src":"a","mt":"b","src_lang":"en","tgt_lang":"de"}`,
		` {"src":"a","mt":"b","src_lang":"en","tgt_lang":"zh-Hant"}  ` + "\n",
		`{"src":"a","mt":"b","src_lang":"en","tgt_lang":"de","src":"dup"}`,
	} {
		f.Add([]byte(s), float32(0.7), float32(0.5), 0.05)
	}
	f.Add([]byte(`{"src":"a","mt":"b","src_lang":"en","tgt_lang":"de"}`), float32(0.49), float32(0.5), 0.0)
	dec := NewDecoder(DecoderConfig{MaxBytes: 1 << 16})
	f.Fuzz(func(t *testing.T, v []byte, score, threshold float32, margin float64) {
		if math.IsNaN(margin) || margin < 0 || math.IsInf(margin, 0) {
			margin = 0
		}
		cfg := RoutesConfig{Publish: "pub.{tgt_lang}", PostEdit: "pe.{lp}", Review: "rv.{src_lang}", ReviewMargin: margin, DeadLetter: "dlq"}
		r := NewRouter(cfg, qe.ModelID{Name: "m", Version: "1", Output: "da51"})
		it := &Item{Value: v, Key: []byte("k"), Origin: Origin{"in", 2, 9},
			Headers: []qe.Header{{Key: "trace", Value: []byte("t")}, {Key: "qe-score", Value: []byte("stale")}}}
		dec.Decode(it)
		if it.Err != nil {
			return // FuzzDecode covers dead letters
		}
		res := qe.Result{Score: score, Threshold: threshold, Acceptable: score >= threshold}
		route, rec, err := r.Scored(it, res)
		finite := !math.IsNaN(float64(score)) && !math.IsInf(float64(score), 0) && !math.IsNaN(float64(threshold)) && !math.IsInf(float64(threshold), 0)
		if (err == nil) != finite {
			t.Fatalf("score %v threshold %v: err %v", score, threshold, err)
		}
		if err != nil {
			return
		}
		if route != r.Decide(res) || route == qe.RouteDeadLetter {
			t.Fatalf("route %v, Decide says %v", route, r.Decide(res))
		}
		var in, out map[string]any
		if err := json.Unmarshal(v, &in); err != nil {
			t.Fatalf("decoded input does not unmarshal: %v", err)
		}
		if err := json.Unmarshal(rec.Value, &out); err != nil {
			t.Fatalf("output is not a JSON object: %v: %q", err, rec.Value)
		}
		member, ok := out["qe"].(map[string]any)
		if !ok || member["route"] != route.String() || member["model"] != "m" {
			t.Fatalf("qe member %v, route %v", out["qe"], route)
		}
		delete(out, "qe")
		delete(in, "qe")
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("members changed:\nin  %v\nout %v", in, out)
		}
		if rec.Topic == "" || strings.ContainsAny(rec.Topic, "{}/ \x00") {
			t.Fatalf("unsafe topic %q", rec.Topic)
		}
		if string(rec.Key) != "k" || string(rec.Header(qe.HeaderSource)) != "in:2:9" || string(rec.Header("trace")) != "t" {
			t.Fatalf("key or headers lost: %q %v", rec.Key, rec.Headers)
		}
		n := 0
		for _, h := range rec.Headers {
			if h.Key == qe.HeaderScore {
				n++
			}
		}
		if n != 1 || string(rec.Header(qe.HeaderScore)) == "stale" {
			t.Fatalf("want exactly one fresh qe-score header: %v", rec.Headers)
		}
	})
}

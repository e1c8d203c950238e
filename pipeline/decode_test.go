package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/qegate/qegate/internal/qe"
)

func TestDecode(t *testing.T) {
	dec := NewDecoder(DecoderConfig{MaxBytes: 200})
	tests := []struct {
		name    string
		value   string
		wantErr string // substring; "" means valid
		wantLP  string
	}{
		{"valid", `{"id":"a1","src":"Hello","mt":"Hallo","src_lang":"en","tgt_lang":"de","extra":[1,2]}`, "", "en-de"},
		{"numeric id", `{"id":42,"src":"x","mt":"y","src_lang":"EN","tgt_lang":"pt_BR"}`, "", "en-pt-br"},
		{"not json", `hello`, "not a JSON object", ""},
		{"json array", `[1,2]`, "not a JSON object", ""},
		{"json null", `null`, "not a JSON object", ""},
		{"empty", ``, "empty message", ""},
		{"invalid utf8", "{\"src\":\"\xff\xfe\",\"mt\":\"y\",\"src_lang\":\"en\",\"tgt_lang\":\"de\"}", "invalid UTF-8", ""},
		{"missing src", `{"mt":"y","src_lang":"en","tgt_lang":"de"}`, `missing field "src"`, ""},
		{"empty mt", `{"src":"x","mt":"  ","src_lang":"en","tgt_lang":"de"}`, `empty field "mt"`, ""},
		{"wrong type", `{"src":17,"mt":"y","src_lang":"en","tgt_lang":"de"}`, `field "src": want a string, got a number`, ""},
		{"object src", `{"src":{"a":1},"mt":"y","src_lang":"en","tgt_lang":"de"}`, "got an object", ""},
		{"bad lang", `{"src":"x","mt":"y","src_lang":"english!!","tgt_lang":"de"}`, "invalid language code", ""},
		{"topic injection", `{"src":"x","mt":"y","src_lang":"en","tgt_lang":"../../etc"}`, "invalid language code", ""},
		{"too large", `{"src":"` + strings.Repeat("a", 300) + `","mt":"y","src_lang":"en","tgt_lang":"de"}`, "message too large", ""},
		{"lone surrogate", `{"src":"a\ud800b","mt":"y","src_lang":"en","tgt_lang":"de"}`, "invalid UTF-16 escape", ""},
		{"emoji pair ok", `{"src":"a\ud83d\ude00b","mt":"y","src_lang":"en","tgt_lang":"de"}`, "", "en-de"},
		{"truncated json", `{"src":"x","mt":`, "not a JSON object", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := &Item{Value: []byte(tc.value)}
			dec.Decode(it)
			if tc.wantErr == "" {
				if it.Err != nil {
					t.Fatalf("unexpected error: %v", it.Err)
				}
				if got := it.Pair.LangPair(); got != tc.wantLP {
					t.Fatalf("lang pair %q, want %q", got, tc.wantLP)
				}
				return
			}
			if it.Err == nil || !strings.Contains(it.Err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", it.Err, tc.wantErr)
			}
		})
	}
}

// TestDecodeMTScore covers the optional glass-box field: a number becomes
// Pair.MTScore, absence or null leaves it nil, anything else dead-letters.
func TestDecodeMTScore(t *testing.T) {
	const head = `{"src":"x","mt":"y","src_lang":"en","tgt_lang":"de"`
	num := func(f float64) *float64 { return &f }
	tests := []struct {
		name    string
		fields  Fields
		value   string
		want    *float64
		wantErr string
	}{
		{"absent", Fields{}, head + `}`, nil, ""},
		{"null", Fields{}, head + `,"mt_score":null}`, nil, ""},
		{"negative log-prob", Fields{}, head + `,"mt_score":-0.2985081970691681}`, num(-0.2985081970691681), ""},
		{"integer", Fields{}, head + `,"mt_score":0}`, num(0), ""},
		{"exponent", Fields{}, head + `,"mt_score":-1.5e-3}`, num(-1.5e-3), ""},
		{"custom name", Fields{MTScore: "logprob"}, head + `,"logprob":-2.5,"mt_score":"ignored"}`, num(-2.5), ""},
		{"custom name absent", Fields{MTScore: "logprob"}, head + `,"mt_score":-1}`, nil, ""},
		{"string", Fields{}, head + `,"mt_score":"-0.3"}`, nil, `field "mt_score": want a number, got a string`},
		{"boolean", Fields{}, head + `,"mt_score":true}`, nil, `field "mt_score": want a number, got a boolean`},
		{"array", Fields{}, head + `,"mt_score":[-0.3]}`, nil, `field "mt_score": want a number, got an array`},
		{"object", Fields{}, head + `,"mt_score":{"v":1}}`, nil, `field "mt_score": want a number, got an object`},
		{"out of range", Fields{}, head + `,"mt_score":1e999}`, nil, `field "mt_score": number out of range`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := &Item{Value: []byte(tc.value)}
			NewDecoder(DecoderConfig{Fields: tc.fields}).Decode(it)
			if tc.wantErr != "" {
				var ie *InputError
				if !errors.As(it.Err, &ie) || !strings.Contains(ie.Error(), tc.wantErr) {
					t.Fatalf("error %v, want an *InputError containing %q", it.Err, tc.wantErr)
				}
				return
			}
			if it.Err != nil {
				t.Fatalf("unexpected error: %v", it.Err)
			}
			switch got := it.Pair.MTScore; {
			case tc.want == nil && got != nil:
				t.Fatalf("MTScore %v, want nil", *got)
			case tc.want != nil && (got == nil || *got != *tc.want):
				t.Fatalf("MTScore %v, want %v", got, *tc.want)
			}
		})
	}
}

func TestDecodeCustomFieldsAndAllowList(t *testing.T) {
	dec := NewDecoder(DecoderConfig{
		Fields:    Fields{Src: "source", MT: "target", SrcLang: "sl", TgtLang: "tl", ID: "uid"},
		LangPairs: []string{"en-de"},
	})
	it := &Item{Value: []byte(`{"uid":"u1","source":"a","target":"b","sl":"en","tl":"de"}`)}
	dec.Decode(it)
	if it.Err != nil || it.ID != "u1" || it.Pair.Src != "a" || it.Pair.MT != "b" {
		t.Fatalf("custom fields: %+v err=%v", it.Pair, it.Err)
	}
	it = &Item{Value: []byte(`{"source":"a","target":"b","sl":"en","tl":"fr"}`)}
	dec.Decode(it)
	if it.Err == nil || !strings.Contains(it.Err.Error(), "unsupported language pair") {
		t.Fatalf("allow-list: err = %v", it.Err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"id":"a1","src":"Hello","mt":"Hallo","src_lang":"en","tgt_lang":"de"}`,
		`{"src":1}`, `[]`, `null`, "\xff", `{"src":"a\ud800"}`, `{"qe":{"score":1},"src":"a","mt":"b","src_lang":"en","tgt_lang":"de"}`,
	} {
		f.Add([]byte(s))
	}
	dec := NewDecoder(DecoderConfig{MaxBytes: 1 << 16})
	r := NewRouter(RoutesConfig{Publish: "pub.{tgt_lang}", PostEdit: "pe.{lp}", DeadLetter: "dlq"}, qe.ModelID{Name: "m", Version: "1"})
	f.Fuzz(func(t *testing.T, v []byte) {
		it := &Item{Value: v}
		dec.Decode(it)
		if it.Err != nil {
			rec := r.DeadLetter(it, it.Err.Error())
			if string(rec.Value) != string(v) || rec.Header(qe.HeaderError) == nil {
				t.Fatalf("dead letter must keep the value and carry a reason")
			}
			return
		}
		_, rec, err := r.Scored(it, fakeResult(0.7))
		if err != nil {
			t.Fatalf("scored: %v", err)
		}
		if !validJSONObject(rec.Value) {
			t.Fatalf("output is not a JSON object: %q", rec.Value)
		}
		if strings.ContainsAny(rec.Topic, "{}/ ") {
			t.Fatalf("unsafe topic %q", rec.Topic)
		}
	})
}

func TestDecodeRejectsNUL(t *testing.T) {
	dec := NewDecoder(DecoderConfig{})
	it := &Item{Value: []byte(`{"src":"a\u0000b","mt":"x","src_lang":"en","tgt_lang":"de"}`)}
	dec.Decode(it)
	if it.Err == nil || !strings.Contains(it.Err.Error(), "NUL") {
		t.Fatalf("NUL in src: err = %v, want a NUL input error", it.Err)
	}
	it = &Item{Value: []byte(`{"src":"a\tb\u001f\nc","mt":"x","src_lang":"en","tgt_lang":"de"}`)}
	dec.Decode(it)
	if it.Err != nil {
		t.Fatalf("other control characters are valid text: %v", it.Err)
	}
}

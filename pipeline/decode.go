package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/qegate/qegate/internal/qe"
)

// Fields names the JSON fields of an input message. Zero values mean the
// defaults of the message contract: id, src, mt, src_lang, tgt_lang,
// mt_score.
type Fields struct {
	ID      string `mapstructure:"id"`
	Src     string `mapstructure:"src"`
	MT      string `mapstructure:"mt"`
	SrcLang string `mapstructure:"src_lang"`
	TgtLang string `mapstructure:"tgt_lang"`
	// MTScore names the optional glass-box field: the MT system's own score
	// of the translation (e.g. its sentence log-probability). Absent or
	// null: the pair has no MT score; any other non-number dead-letters.
	MTScore string `mapstructure:"mt_score"`
}

// WithDefaults fills empty names with the contract's (DefaultDecoderConfig).
func (f Fields) WithDefaults() Fields {
	d := DefaultDecoderConfig().Fields
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	return Fields{
		ID: def(f.ID, d.ID), Src: def(f.Src, d.Src), MT: def(f.MT, d.MT),
		SrcLang: def(f.SrcLang, d.SrcLang), TgtLang: def(f.TgtLang, d.TgtLang),
		MTScore: def(f.MTScore, d.MTScore),
	}
}

// DecoderConfig configures input validation: the input section of the
// configuration.
type DecoderConfig struct {
	// Fields names the JSON fields; zero values use the contract's names.
	Fields Fields `mapstructure:"fields"`
	// MaxBytes rejects larger values before parsing. Zero means 1 MiB.
	MaxBytes int `mapstructure:"max_message_bytes"`
	// MaxKeyBytes rejects messages with a larger Kafka key: the output
	// keeps the key, and an output topic's max.message.bytes counts it.
	// Zero means 64 KiB.
	MaxKeyBytes int `mapstructure:"max_key_bytes"`
	// MaxHeaderBytes rejects messages whose headers (names and values
	// together) are larger, for the same reason. Zero means 64 KiB.
	MaxHeaderBytes int `mapstructure:"max_header_bytes"`
	// LangPairs, when non-empty, is the allow-list of "src-tgt" pairs;
	// others are dead-lettered. Empty accepts any well-formed code.
	LangPairs []string `mapstructure:"lang_pairs"`
	// Segments bounds how long inputs are scored in sentence pieces
	// (input.max_segments, input.over_max_segments); the engine applies it.
	Segments SegmentConfig `mapstructure:",squash"`
}

// WithDefaults returns c with every zero value replaced by
// DefaultDecoderConfig's. app.Load applies it once; NewDecoder reads zero
// fields the same way.
func (c DecoderConfig) WithDefaults() DecoderConfig {
	d := DefaultDecoderConfig()
	c.Fields = c.Fields.WithDefaults()
	c.MaxBytes = positive(c.MaxBytes, d.MaxBytes)
	c.MaxKeyBytes = positive(c.MaxKeyBytes, d.MaxKeyBytes)
	c.MaxHeaderBytes = positive(c.MaxHeaderBytes, d.MaxHeaderBytes)
	if c.LangPairs == nil {
		c.LangPairs = d.LangPairs
	}
	c.Segments = c.Segments.WithDefaults()
	return c
}

// Decoder validates and decodes input values into translation pairs.
type Decoder struct {
	f              Fields
	maxBytes       int
	maxKeyBytes    int
	maxHeaderBytes int
	allowed        map[string]bool
}

// langCode accepts ISO 639 codes with optional script/region subtags
// (en, pt-BR, zh_Hant); anything else would also be unsafe in a topic name.
var langCode = regexp.MustCompile(`^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8}){0,2}$`)

// NewDecoder returns a decoder for cfg.
func NewDecoder(cfg DecoderConfig) *Decoder {
	cfg = cfg.WithDefaults()
	d := &Decoder{f: cfg.Fields, maxBytes: cfg.MaxBytes, maxKeyBytes: cfg.MaxKeyBytes, maxHeaderBytes: cfg.MaxHeaderBytes}
	if len(cfg.LangPairs) > 0 {
		d.allowed = map[string]bool{}
		for _, lp := range cfg.LangPairs {
			d.allowed[strings.ToLower(lp)] = true
		}
	}
	return d
}

// Decode fills it.Pair and it.ID from it.Value, or sets it.Err to
// an *InputError saying why the value is unusable. It never panics.
func (d *Decoder) Decode(it *Item) {
	it.Err = d.decode(it)
}

func (d *Decoder) decode(it *Item) error {
	v := it.Value
	if len(it.Key) > d.maxKeyBytes {
		return &InputError{fmt.Sprintf("key too large: %d bytes > limit %d", len(it.Key), d.maxKeyBytes)}
	}
	hb := 0
	for _, h := range it.Headers {
		hb += len(h.Key) + len(h.Value)
	}
	if hb > d.maxHeaderBytes {
		return &InputError{fmt.Sprintf("headers too large: %d bytes in %d headers > limit %d", hb, len(it.Headers), d.maxHeaderBytes)}
	}
	if len(v) > d.maxBytes {
		return &InputError{fmt.Sprintf("message too large: %d bytes > limit %d", len(v), d.maxBytes)}
	}
	if len(bytes.TrimSpace(v)) == 0 {
		return &InputError{"empty message"}
	}
	if !utf8.Valid(v) {
		return &InputError{"invalid UTF-8 in message"}
	}
	if t := bytes.TrimSpace(v); t[0] != '{' && json.Valid(t) {
		return &InputError{"not a JSON object: got " + jsonKind(t)}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err != nil {
		return &InputError{"not a JSON object: " + shortErr(err)}
	}
	if obj == nil {
		return &InputError{"not a JSON object: null"}
	}
	it.langPair = d.countedLangPair(obj)
	src, err := stringField(obj, d.f.Src)
	if err != nil {
		return err
	}
	mt, err := stringField(obj, d.f.MT)
	if err != nil {
		return err
	}
	sl, err := langField(obj, d.f.SrcLang)
	if err != nil {
		return err
	}
	tl, err := langField(obj, d.f.TgtLang)
	if err != nil {
		return err
	}
	lp := sl + "-" + tl
	if d.allowed != nil && !d.allowed[lp] {
		return &InputError{fmt.Sprintf("unsupported language pair %q", lp)}
	}
	score, err := numberField(obj, d.f.MTScore)
	if err != nil {
		return err
	}
	if raw, ok := obj[d.f.ID]; ok {
		it.ID = idText(raw)
	}
	it.Pair.Src, it.Pair.MT, it.Pair.SrcLang, it.Pair.TgtLang = src, mt, sl, tl
	it.Pair.MTScore = score
	return nil
}

// numberField decodes an optional number: nil when the field is absent or
// null (no glass-box input), an *InputError for any other non-number.
// countedLangPair is the language pair the outputs are counted under: the
// two language fields as the sender wrote them (normalised as langField
// does, but not validated, so a dead letter's pair is known too); "" when
// either is not a non-empty string or the pair is implausibly long.
func (d *Decoder) countedLangPair(obj map[string]json.RawMessage) string {
	var s, t string
	if json.Unmarshal(obj[d.f.SrcLang], &s) != nil || json.Unmarshal(obj[d.f.TgtLang], &t) != nil || s == "" || t == "" {
		return ""
	}
	lp := normLang(s + "-" + t)
	if len(lp) > 40 || !utf8.ValidString(lp) {
		return ""
	}
	return lp
}

func numberField(obj map[string]json.RawMessage, name string) (*float64, error) {
	raw, ok := obj[name]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		kind := jsonKind(raw)
		switch t := bytes.TrimSpace(raw); {
		case len(t) > 0 && t[0] == '"':
			kind = "a string" // jsonKind lumps strings with numbers: a string never fails stringField
		case kind == "a number":
			// Valid JSON number syntax that float64 cannot hold (1e999).
			return nil, &InputError{fmt.Sprintf("field %q: number out of range", name)}
		}
		return nil, &InputError{fmt.Sprintf("field %q: want a number, got %s", name, kind)}
	}
	return &f, nil
}

func stringField(obj map[string]json.RawMessage, name string) (string, error) {
	raw, ok := obj[name]
	if !ok {
		return "", &InputError{fmt.Sprintf("missing field %q", name)}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", &InputError{fmt.Sprintf("field %q: want a string, got %s", name, jsonKind(raw))}
	}
	// The scorer's own check, run here so that one unscorable pair is
	// dead-lettered before it can fail its whole batch (which would then be
	// re-scored pair by pair, a slowdown poison input could force).
	switch err := qe.CheckText(s); {
	case errors.Is(err, qe.ErrEmptyText):
		return "", &InputError{fmt.Sprintf("empty field %q", name)}
	case errors.Is(err, qe.ErrNULByte):
		return "", &InputError{fmt.Sprintf("field %q: contains a NUL character", name)}
	case err != nil:
		return "", &InputError{fmt.Sprintf("field %q: %v", name, err)}
	}
	if strings.ContainsRune(s, utf8.RuneError) && strings.Contains(string(raw), `\u`) {
		// JSON escapes can smuggle lone surrogates, which decode to U+FFFD;
		// the text is then not what the producer meant to send.
		if bytes.Contains(raw, []byte(`\ud`)) || bytes.Contains(raw, []byte(`\uD`)) {
			return "", &InputError{fmt.Sprintf("field %q: invalid UTF-16 escape", name)}
		}
	}
	return s, nil
}

func langField(obj map[string]json.RawMessage, name string) (string, error) {
	s, err := stringField(obj, name)
	if err != nil {
		return "", err
	}
	if !langCode.MatchString(s) {
		return "", &InputError{fmt.Sprintf("field %q: invalid language code %q", name, truncate(s, 32))}
	}
	return normLang(s), nil
}

// normLang is the one normalisation of language codes: lower case, "_"
// as "-" (pt_BR and pt-br name one language).
func normLang(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "-")) }

func idText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

func jsonKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

func shortErr(err error) string { return truncate(err.Error(), 120) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the reason itself stays valid UTF-8.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

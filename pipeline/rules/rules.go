package rules

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Rule names: a small fixed set, usable as a Prometheus label value and as
// the machine-readable part of qe.reason.
const (
	RuleEmpty        = "empty"
	RuleCopy         = "copy"
	RuleScript       = "script"
	RuleLanguage     = "language"
	RuleRepetition   = "repetition"
	RuleLengthRatio  = "length_ratio"
	RulePlaceholders = "placeholders"
	RuleNumbers      = "numbers"
)

// order is the order Check runs the rules in: cheapest and most specific
// first, so that a pair that breaks several rules gets the most telling
// reason (a loop also breaks the length ratio, a truncation also drops
// numbers; "repetition" and "length_ratio" say more than "numbers").
var order = []string{RuleEmpty, RuleCopy, RuleScript, RuleLanguage, RuleRepetition, RuleLengthRatio, RulePlaceholders, RuleNumbers}

// Config configures the prefilters. The zero value is the measured default
// (docs/EVAL.md, "Rule prefilters"): every rule on, with the parameters
// documented on each field. It embeds in the qegate config as `rules:`.
type Config struct {
	// Disabled turns every rule off (the model then sees every pair).
	Disabled bool `mapstructure:"disabled"`
	// Route is the topic template for pairs a rule rejects ({src_lang},
	// {tgt_lang}, {lp}). Empty (the default) sends them to routes.post_edit.
	// The checker does not use it; the router does.
	Route string `mapstructure:"route"`

	Empty       EmptyConfig       `mapstructure:"empty"`
	Copy        CopyConfig        `mapstructure:"copy"`
	Script      ScriptConfig      `mapstructure:"script"`
	Language    LanguageConfig    `mapstructure:"language"`
	Repetition  RepetitionConfig  `mapstructure:"repetition"`
	LengthRatio LengthRatioConfig `mapstructure:"length_ratio"`
	Placeholder PlaceholderConfig `mapstructure:"placeholders"`
	Numbers     NumbersConfig     `mapstructure:"numbers"`
}

// EmptyConfig: MT that is empty or only white space, control or format
// characters (zero-width spaces, BOM) is rejected.
type EmptyConfig struct {
	// Disabled turns the rule off.
	Disabled bool `mapstructure:"disabled"`
}

// CopyConfig: MT identical or nearly identical to the source (an
// untranslated copy) is rejected. Both sides are compared after lower-casing
// and keeping only letters and digits.
type CopyConfig struct {
	// Disabled turns the rule off.
	Disabled bool `mapstructure:"disabled"`
	// MinSimilarity is 1 - (edit distance / longer length) at or above which
	// the MT counts as a copy. Zero means 0.9.
	MinSimilarity float64 `mapstructure:"min_similarity"`
	// MinLetters is how many letters the normalized source needs before the
	// rule applies, so that names, numbers and codes, which are legitimately
	// left as they are, pass. Zero means 20.
	MinLetters int `mapstructure:"min_letters"`
}

// ScriptConfig: MT whose letters are mostly not in a script that tgt_lang
// is written in is rejected (a Cyrillic "translation" into German). An
// unknown tgt_lang passes.
type ScriptConfig struct {
	// Disabled turns the rule off.
	Disabled bool `mapstructure:"disabled"`
	// MinShare is the share of the MT's letters that must be in one of
	// tgt_lang's scripts (CJK characters weighed as in lengths). Zero
	// means 0.3.
	MinShare float64 `mapstructure:"min_share"`
	// MinLetters is how many letters the MT needs before the rule applies.
	// Zero means 3.
	MinLetters int `mapstructure:"min_letters"`
}

// LanguageConfig: Latin-script MT whose function words ("the", "und",
// "și"...) are mostly those of the source language or of English rather
// than tgt_lang's is rejected (English MT for German, Estonian left in
// place for et-en). Only tgt_lang en, de, fr, es, it, pt, nl, ro,
// et, sv, pl and cs are checked; others pass.
type LanguageConfig struct {
	// Disabled turns the rule off.
	Disabled bool `mapstructure:"disabled"`
	// MinHits is how many function words of the other language (the
	// source's or English) the MT needs before the rule applies: names
	// and titles have few. Zero means 4.
	MinHits int `mapstructure:"min_hits"`
	// MinRatio is how many times more function words the best other
	// language must have than tgt_lang. Zero means 2.
	MinRatio float64 `mapstructure:"min_ratio"`
}

// RepetitionConfig: MT with an n-gram repeated back to back (a decoder
// loop) that the source does not have is rejected.
type RepetitionConfig struct {
	// Disabled turns the rule off.
	Disabled bool `mapstructure:"disabled"`
	// MaxN is the longest n-gram (in tokens) looked for. Zero means 4.
	MaxN int `mapstructure:"max_n"`
	// MinRepeats is how many back-to-back copies of an n-gram make a loop.
	// Zero means 4 for single tokens and 3 for longer n-grams; a value
	// applies to all n (single tokens then need one more).
	MinRepeats int `mapstructure:"min_repeats"`
}

// LengthRatioConfig: MT whose length, relative to the source's, is outside
// the bounds for the language pair is rejected (truncations, run-ons).
// Lengths count non-space characters, with CJK characters weighted as
// WideWeight Latin ones, so one fallback fits unknown pairs too.
type LengthRatioConfig struct {
	// Disabled turns the rule off.
	Disabled bool `mapstructure:"disabled"`
	// Quantile picks the bounds from the shipped table (fitted on MLQE-PE
	// train, DA >= 51 pairs): the Quantile and 1-Quantile quantiles of the
	// ratio, widened by Slack. One of the table's levels: 0.001, 0.005,
	// 0.01, 0.025. Zero means 0.001.
	Quantile float64 `mapstructure:"quantile"`
	// Slack widens the bounds: [lo/Slack, hi*Slack]. Zero means 1.1.
	Slack float64 `mapstructure:"slack"`
	// MinSrcChars is the source length (weighted characters) below which
	// the rule does not apply: short segments have noisy ratios. Zero
	// means 20.
	MinSrcChars int `mapstructure:"min_src_chars"`
	// Bounds overrides the table per language pair ("en-de": [0.6, 1.9]);
	// the key "*" overrides the fallback for pairs not in the table.
	Bounds map[string][]float64 `mapstructure:"bounds"`
}

// PlaceholderConfig: placeholders ({0}, {name}, {{x}}, ${x}, %s, %1$s,
// %.2f), inline tags (<b>, </b>, <br/>), URLs and e-mail addresses in the
// source must appear in the MT as often as in the source.
type PlaceholderConfig struct {
	// Disabled turns the rule off.
	Disabled bool `mapstructure:"disabled"`
}

// NumbersConfig: every number in the source must appear in the MT.
// Digit grouping and decimal separators are ignored (1,000.5 = 1.000,5),
// non-ASCII digits (Arabic-Indic, Devanagari, ...) count as their values,
// and a number in the source whose separated parts all appear in the MT
// passes, so the rule errs on the side of letting pairs through.
type NumbersConfig struct {
	// Disabled turns the rule off.
	Disabled bool `mapstructure:"disabled"`
	// MinDigits is the fewest digits a source number needs to be checked:
	// small numbers are often spelled out ("3 children" -> "drei Kinder").
	// Zero means 2.
	MinDigits int `mapstructure:"min_digits"`
}

// Verdict is the outcome of Check.
type Verdict struct {
	// Rule is the rule that rejected the pair, one of Rules(); "" when
	// every rule passed.
	Rule string
	// Reason says why in words, for qe.reason and the qe-reason header,
	// e.g. `numbers changed: "1832" missing in MT`.
	Reason string
}

// Passed reports whether no rule rejected the pair.
func (v Verdict) Passed() bool { return v.Rule == "" }

type check func(c *Checker, src, mt, lp, tgt string) (string, bool)

// Checker runs the enabled rules. It is safe for concurrent use.
type Checker struct {
	cfg    Config
	names  []string
	checks []check
	bounds map[string][2]float64
	fallbk [2]float64
}

// New validates cfg, fills in defaults and loads the length bounds.
func New(cfg Config) (*Checker, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	c := &Checker{cfg: cfg}
	if !cfg.Disabled {
		for _, name := range order {
			if cfg.disabled(name) {
				continue
			}
			c.names = append(c.names, name)
			c.checks = append(c.checks, checks[name])
		}
	}
	if !cfg.Disabled && !cfg.LengthRatio.Disabled {
		b, fb, err := loadBounds(cfg.LengthRatio)
		if err != nil {
			return nil, err
		}
		c.bounds, c.fallbk = b, fb
	}
	return c, nil
}

var checks = map[string]check{
	RuleEmpty:        (*Checker).checkEmpty,
	RuleCopy:         (*Checker).checkCopy,
	RuleScript:       (*Checker).checkScript,
	RuleLanguage:     (*Checker).checkLanguage,
	RuleRepetition:   (*Checker).checkRepetition,
	RuleLengthRatio:  (*Checker).checkLength,
	RulePlaceholders: (*Checker).checkPlaceholders,
	RuleNumbers:      (*Checker).checkNumbers,
}

// AllRules lists every rule name in the order Check runs them, enabled or
// not (for pre-creating metric label values).
func AllRules() []string { return append([]string(nil), order...) }

// Rules lists the enabled rules in the order Check runs them.
func (c *Checker) Rules() []string { return append([]string(nil), c.names...) }

// Check runs the enabled rules on one pair and returns the first rejection,
// or a zero Verdict when the pair passes. Languages are ISO 639 codes with
// optional subtags, in any case, with "-" or "_".
func (c *Checker) Check(src, mt, srcLang, tgtLang string) Verdict {
	if len(c.checks) == 0 {
		return Verdict{}
	}
	lp, tgt := langPair(srcLang, tgtLang)
	for i, f := range c.checks {
		if reason, bad := f(c, src, mt, lp, tgt); bad {
			return Verdict{Rule: c.names[i], Reason: reason}
		}
	}
	return Verdict{}
}

// CheckRule runs one enabled rule (one of Rules()) on a pair as if it were
// the only one, and returns its rejection or a zero Verdict; a rule that is
// unknown or disabled passes. It is for measuring what each rule catches on
// its own (internal/evaluate/ruleeval); the runtime uses Check.
func (c *Checker) CheckRule(rule, src, mt, srcLang, tgtLang string) Verdict {
	if !slices.Contains(c.names, rule) {
		return Verdict{}
	}
	f := checks[rule]
	lp, tgt := langPair(srcLang, tgtLang)
	if reason, bad := f(c, src, mt, lp, tgt); bad {
		return Verdict{Rule: rule, Reason: reason}
	}
	return Verdict{}
}

// Language is the primary subtag of a language code, lower-cased with "_"
// read as "-" ("pt_BR" -> "pt"): the form the rules key languages and
// language pairs by ("en-de" in length_ratio.bounds).
func Language(code string) string { return primary(normTag(code)) }

// langPair returns "src-tgt" of the primary subtags and the normalized
// target tag (lower case, "-"), cheaply in the usual already-normal case.
func langPair(srcLang, tgtLang string) (lp, tgt string) {
	tgt = normTag(tgtLang)
	return primary(normTag(srcLang)) + "-" + primary(tgt), tgt
}

// normTag lower-cases and turns "_" into "-"; a code that is not valid
// UTF-8 (the decoder dead-letters those, but Check takes any string) is
// repaired so that reasons stay valid UTF-8.
func normTag(s string) string {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b == '_' || (b >= 'A' && b <= 'Z') || b >= 0x80 {
			return strings.ReplaceAll(strings.ToLower(strings.ToValidUTF8(s, "\ufffd")), "_", "-")
		}
	}
	return s
}

func primary(tag string) string {
	if i := strings.IndexByte(tag, '-'); i >= 0 {
		return tag[:i]
	}
	return tag
}

func (cfg *Config) disabled(rule string) bool {
	d := cfg.disabledFlag(rule)
	return d == nil || *d
}

// Disable turns one rule off (a name of AllRules(); others are ignored),
// as its `disabled: true` key does: for evaluations that run a rule alone.
func (cfg *Config) Disable(rule string) {
	if d := cfg.disabledFlag(rule); d != nil {
		*d = true
	}
}

// disabledFlag is the rule's `disabled` key, nil for an unknown rule.
func (cfg *Config) disabledFlag(rule string) *bool {
	switch rule {
	case RuleEmpty:
		return &cfg.Empty.Disabled
	case RuleCopy:
		return &cfg.Copy.Disabled
	case RuleScript:
		return &cfg.Script.Disabled
	case RuleLanguage:
		return &cfg.Language.Disabled
	case RuleRepetition:
		return &cfg.Repetition.Disabled
	case RuleLengthRatio:
		return &cfg.LengthRatio.Disabled
	case RulePlaceholders:
		return &cfg.Placeholder.Disabled
	case RuleNumbers:
		return &cfg.Numbers.Disabled
	}
	return nil
}

// WithDefaults returns c with every zero parameter replaced by
// DefaultConfig's (MinRepeats keeps 0, which means per n-gram length).
// app.Load applies it once; New reads zero parameters the same way.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defi := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Copy.MinSimilarity, d.Copy.MinSimilarity)
	defi(&c.Copy.MinLetters, d.Copy.MinLetters)
	def(&c.Script.MinShare, d.Script.MinShare)
	defi(&c.Script.MinLetters, d.Script.MinLetters)
	defi(&c.Language.MinHits, d.Language.MinHits)
	def(&c.Language.MinRatio, d.Language.MinRatio)
	defi(&c.Repetition.MaxN, d.Repetition.MaxN)
	def(&c.LengthRatio.Quantile, d.LengthRatio.Quantile)
	def(&c.LengthRatio.Slack, d.LengthRatio.Slack)
	defi(&c.LengthRatio.MinSrcChars, d.LengthRatio.MinSrcChars)
	defi(&c.Numbers.MinDigits, d.Numbers.MinDigits)
	if c.LengthRatio.Bounds == nil {
		c.LengthRatio.Bounds = d.LengthRatio.Bounds
	}
	return c
}

// fill replaces zero values by the defaults and rejects nonsense.
func (cfg *Config) fill() error {
	*cfg = cfg.WithDefaults()
	bad := func(key string, v any, want string) error {
		return fmt.Errorf("rules.%s: %v: %s", key, v, want)
	}
	switch {
	case !(cfg.Copy.MinSimilarity > 0 && cfg.Copy.MinSimilarity <= 1):
		return bad("copy.min_similarity", cfg.Copy.MinSimilarity, "want a value in (0, 1]")
	case cfg.Copy.MinLetters < 0:
		return bad("copy.min_letters", cfg.Copy.MinLetters, "want >= 0")
	case !(cfg.Script.MinShare > 0 && cfg.Script.MinShare <= 1):
		return bad("script.min_share", cfg.Script.MinShare, "want a value in (0, 1]")
	case cfg.Script.MinLetters < 0:
		return bad("script.min_letters", cfg.Script.MinLetters, "want >= 0")
	case cfg.Language.MinHits < 0:
		return bad("language.min_hits", cfg.Language.MinHits, "want >= 0")
	case !(cfg.Language.MinRatio >= 1) || math.IsInf(cfg.Language.MinRatio, 0):
		return bad("language.min_ratio", cfg.Language.MinRatio, "want a finite value >= 1")
	case cfg.Repetition.MaxN < 1 || cfg.Repetition.MaxN > 16:
		return bad("repetition.max_n", cfg.Repetition.MaxN, "want 1..16")
	case cfg.Repetition.MinRepeats < 0 || cfg.Repetition.MinRepeats == 1:
		return bad("repetition.min_repeats", cfg.Repetition.MinRepeats, "want >= 2")
	case !(cfg.LengthRatio.Slack >= 1) || math.IsInf(cfg.LengthRatio.Slack, 0):
		return bad("length_ratio.slack", cfg.LengthRatio.Slack, "want a finite value >= 1")
	case cfg.LengthRatio.MinSrcChars < 0:
		return bad("length_ratio.min_src_chars", cfg.LengthRatio.MinSrcChars, "want >= 0")
	case cfg.Numbers.MinDigits < 0:
		return bad("numbers.min_digits", cfg.Numbers.MinDigits, "want >= 0")
	}
	if !slices.Contains(Levels, cfg.LengthRatio.Quantile) {
		var lv []string
		for _, q := range Levels {
			lv = append(lv, LevelKey(q))
		}
		return bad("length_ratio.quantile", cfg.LengthRatio.Quantile, "want one of "+strings.Join(lv, ", "))
	}
	for lp, b := range cfg.LengthRatio.Bounds {
		if len(b) != 2 || !(b[0] >= 0) || !(b[1] > b[0]) || math.IsInf(b[1], 0) {
			return bad("length_ratio.bounds."+lp, b, "want [lo, hi] with 0 <= lo < hi, finite")
		}
	}
	return nil
}

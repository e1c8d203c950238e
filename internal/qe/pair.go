package qe

// Pair is one translation to score: the source text, the machine translation
// and their language codes (e.g. "en" and "de").
type Pair struct {
	Src     string // source text
	MT      string // machine translation of Src
	SrcLang string // source language code, e.g. "en"
	TgtLang string // target language code, e.g. "de"
	// MTScore is the MT system's own score of MT when the message carries
	// one (glass-box input: its sentence log-probability, as MLQE-PE's
	// model_scores column). Nil means no score: the model scores the pair
	// from its text alone, exactly as without the field.
	MTScore *float64
}

// LangPair returns the language-pair key used for per-pair thresholds and
// topic templates: SrcLang + "-" + TgtLang, e.g. "en-de". Codes are used as
// given; decoding has already lower-cased them.
func (p Pair) LangPair() string { return p.SrcLang + "-" + p.TgtLang }

package pipeline

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline/rules"
)

// RoutesConfig names the destinations. Topic names are templates:
// {src_lang}, {tgt_lang} and {lp} are replaced from the message.
type RoutesConfig struct {
	// Publish receives acceptable pairs (qe.RouteAccepted). Required.
	Publish string `mapstructure:"publish"`
	// PostEdit receives rejected pairs (qe.RouteRejected). Required.
	PostEdit string `mapstructure:"post_edit"`
	// Critical, when set, receives pairs the model flags as critical
	// errors (qe.RouteCritical): critical probability >= the pair's
	// critical threshold in model.json. Empty: they go to PostEdit
	// (qe.RouteRejected) with the reason. Either way a flagged pair is
	// rejected and never published, whatever its decision score, and the
	// review band does not apply to it. Unused with a model that has no
	// critical output.
	Critical string `mapstructure:"critical"`
	// Review, when set, receives pairs whose score is within ReviewMargin
	// of the threshold, whichever side. Empty disables the review band.
	Review string `mapstructure:"review"`
	// ReviewMargin is the half-width of the review band in score units.
	// Zero disables the band even when Review is set.
	ReviewMargin float64 `mapstructure:"review_margin"`
	// DeadLetter receives invalid input with a qe-error header. Required;
	// it cannot use templates, since invalid input may have no languages.
	DeadLetter string `mapstructure:"dead_letter"`
	// RuleRejects receives pairs a prefilter rule rejected. Empty: PostEdit.
	// It is the rules.route setting, set by whoever wires the rules.
	RuleRejects string `mapstructure:"-"`
}

// Validate checks the templates.
func (c RoutesConfig) Validate() error {
	for name, t := range map[string]string{"publish": c.Publish, "post_edit": c.PostEdit, "dead_letter": c.DeadLetter} {
		if t == "" {
			return fmt.Errorf("routes.%s: required", name)
		}
	}
	for name, t := range map[string]string{"publish": c.Publish, "post_edit": c.PostEdit, "critical": c.Critical, "review": c.Review, "(rules.route)": c.RuleRejects} {
		if err := checkTemplate(t); err != nil {
			return fmt.Errorf("routes.%s: %w", name, err)
		}
	}
	if strings.ContainsAny(c.DeadLetter, "{}") {
		return fmt.Errorf("routes.dead_letter: %q: templates are not allowed here", c.DeadLetter)
	}
	if c.ReviewMargin < 0 || math.IsNaN(c.ReviewMargin) {
		return fmt.Errorf("routes.review_margin: must be >= 0, got %v", c.ReviewMargin)
	}
	return nil
}

func checkTemplate(t string) error {
	rest := t
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("%q: unclosed {", t)
		}
		switch rest[i+1 : i+j] {
		case "src_lang", "tgt_lang", "lp":
		default:
			return fmt.Errorf("%q: unknown placeholder {%s} (want src_lang, tgt_lang or lp)", t, rest[i+1:i+j])
		}
		rest = rest[i+j+1:]
	}
	if strings.ContainsRune(rest, '}') {
		return fmt.Errorf("%q: unmatched }", t)
	}
	return nil
}

// Expand fills a topic template for a language pair.
func Expand(template, srcLang, tgtLang string) string {
	if !strings.ContainsRune(template, '{') {
		return template
	}
	r := strings.NewReplacer("{src_lang}", srcLang, "{tgt_lang}", tgtLang, "{lp}", srcLang+"-"+tgtLang)
	return r.Replace(template)
}

// Router turns scored or invalid items into output records.
type Router struct {
	cfg   RoutesConfig
	model qe.ModelID // named in outputs whose result does not name its model
}

// NewRouter returns a router; cfg must have passed Validate. model is
// named in the outputs of results that do not name their own.
func NewRouter(cfg RoutesConfig, model qe.ModelID) *Router {
	return &Router{cfg: cfg, model: model}
}

// Topics lists every destination the router can produce for the given
// language pairs, so start-up can check that they exist.
func (r *Router) Topics(langPairs []string) []string {
	seen := map[string]bool{r.cfg.DeadLetter: true}
	out := []string{r.cfg.DeadLetter}
	for _, lp := range langPairs {
		s, t, ok := strings.Cut(lp, "-")
		if !ok {
			continue
		}
		for _, tpl := range []string{r.cfg.Publish, r.cfg.PostEdit, r.cfg.Critical, r.cfg.Review, r.cfg.RuleRejects} {
			if tpl == "" || (tpl == r.cfg.Review && r.cfg.ReviewMargin == 0) {
				continue
			}
			if name := Expand(tpl, s, t); !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out
}

// Templated reports whether any route depends on the language pair.
func (r *Router) Templated() bool {
	return strings.ContainsRune(r.cfg.Publish+r.cfg.PostEdit+r.cfg.Critical+r.cfg.Review+r.cfg.RuleRejects, '{')
}

// Decide picks the route for a scored item. A critical error comes first:
// a pair the model flags goes to the critical route (routes.critical, else
// the post-edit route), whatever its score; then the review band, then the
// decision.
func (r *Router) Decide(res qe.Result) qe.Route {
	if res.Critical != nil && res.Critical.Flagged {
		if r.cfg.Critical != "" {
			return qe.RouteCritical
		}
		return qe.RouteRejected
	}
	if r.cfg.Review != "" && r.cfg.ReviewMargin > 0 &&
		math.Abs(float64(res.Score)-float64(res.Threshold)) < r.cfg.ReviewMargin {
		return qe.RouteReview
	}
	if res.Acceptable {
		return qe.RouteAccepted
	}
	return qe.RouteRejected
}

// Scored builds the output record for a scored item: the input object with
// a "qe" member added, the input key and headers, and the qe-* headers.
// It fails, and the caller dead-letters the item with the error as its
// reason, when the score or threshold is not a finite number (a broken
// model's NaN or Inf has no JSON form) or the verdict cannot be encoded.
func (r *Router) Scored(it *Item, res qe.Result) (qe.Route, qe.Record, error) {
	if err := checkFinite(res); err != nil {
		return qe.RouteDeadLetter, qe.Record{}, err
	}
	route := r.Decide(res)
	model := res.Model
	if model.Name == "" {
		model = r.model
	}
	flagged := res.Critical != nil && res.Critical.Flagged
	label := "rejected"
	if res.Acceptable && !flagged {
		label = "acceptable"
	}
	tpl := r.cfg.Publish
	switch route {
	case qe.RouteRejected:
		tpl = r.cfg.PostEdit
	case qe.RouteCritical:
		tpl = r.cfg.Critical
	case qe.RouteReview:
		tpl = r.cfg.Review
	}
	score := strconv.FormatFloat(float64(res.Score), 'f', 6, 32)
	verdict := qe.Verdict{
		Score: json.Number(score), Label: label,
		Threshold: json.Number(strconv.FormatFloat(float64(res.Threshold), 'f', 6, 32)),
		Model:     model.Name, ModelVersion: model.Version, Output: model.Output,
		Route: route.String(), Glassbox: res.Glassbox,
	}
	if res.Segments > 0 {
		worst := res.WorstSegment
		verdict.Segments, verdict.WorstSegment = res.Segments, &worst
	}
	verdict.Truncated = res.Truncated
	var prob string
	if c := res.Critical; c != nil {
		prob = strconv.FormatFloat(float64(c.Prob), 'f', 6, 32)
		th := strconv.FormatFloat(float64(c.Threshold), 'f', 6, 32)
		verdict.Critical, verdict.CriticalThreshold = json.Number(prob), json.Number(th)
		if flagged {
			// No ">=": encoding/json would write it as \u003e in the value.
			verdict.Reason = "critical error: probability " + prob + " at or above threshold " + th
		}
	}
	value, err := verdict.AddTo(it.Value)
	if err != nil {
		return qe.RouteDeadLetter, qe.Record{}, err
	}
	rec := r.record(it, tpl, route, value, verdict)
	rec.Scored = true
	rec.Segments, rec.WorstSegment = res.Segments, res.WorstSegment
	rec.Score, _ = strconv.ParseFloat(score, 64) // the score as written, so counts match the output
	rec.Headers = append(cloneHeaders(it.Headers, 6),
		qe.Header{Key: qe.HeaderScore, Value: []byte(score)},
		qe.Header{Key: qe.HeaderLabel, Value: []byte(label)},
		qe.Header{Key: qe.HeaderModel, Value: []byte(model.Tag())},
		qe.Header{Key: qe.HeaderSource, Value: []byte(it.Origin.String())},
	)
	if prob != "" {
		p, _ := strconv.ParseFloat(prob, 64) // as written, like Score
		rec.Critical = &p
		rec.Headers = append(rec.Headers, qe.Header{Key: qe.HeaderCritical, Value: []byte(prob)})
		if flagged {
			rec.Headers = append(rec.Headers, qe.Header{Key: qe.HeaderReason, Value: []byte(verdict.Reason)})
		}
	}
	return route, rec, nil
}

// record is the part of every routed record that comes from its input:
// verdict is what value's qe member holds, and gets the input's source.
func (r *Router) record(it *Item, tpl string, route qe.Route, value []byte, verdict qe.Verdict) qe.Record {
	verdict.Source = it.Origin.String()
	return qe.Record{
		Topic:    Expand(tpl, it.Pair.SrcLang, it.Pair.TgtLang),
		Key:      it.Key,
		Value:    value,
		Seq:      it.Seq,
		Route:    route,
		LangPair: it.langPair,
		Verdict:  verdict,
		Input:    it.Value,
	}
}

// checkFinite rejects results that cannot be written as JSON numbers.
func checkFinite(res qe.Result) error {
	type field struct {
		name string
		v    float32
	}
	fields := []field{{"score", res.Score}, {"threshold", res.Threshold}}
	if c := res.Critical; c != nil {
		// A NaN probability is never >= its threshold: unchecked, a broken
		// model would publish what it should flag.
		fields = append(fields, field{"critical probability", c.Prob}, field{"critical threshold", c.Threshold})
	}
	for _, f := range fields {
		if v := float64(f.v); math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("model returned a non-finite %s (%v)", f.name, v)
		}
	}
	return nil
}

// Piece says which sentence piece of a long input a verdict is about; the
// zero Piece is a pair checked whole.
type Piece struct {
	// Segments is how many pieces the input was cut into (0: whole).
	Segments int
	// Index is the piece's, from 0.
	Index int
	// Truncated is true when pieces past input.max_segments were left out.
	Truncated bool
}

// RuleRejected builds the output record of a pair a prefilter rule
// rejected (at, the piece of a long input it rejected): routed as rejected
// (to RuleRejects, else PostEdit), with the rule and its reason in the qe
// member and the qe-rule and qe-reason headers, and no score: the model
// never saw it. It fails, and the caller dead-letters the item, when the
// verdict cannot be encoded.
func (r *Router) RuleRejected(it *Item, v rules.Verdict, at Piece) (qe.Record, error) {
	tpl := r.cfg.RuleRejects
	if tpl == "" {
		tpl = r.cfg.PostEdit
	}
	verdict := qe.Verdict{
		Label: "rejected", Model: r.model.Name, ModelVersion: r.model.Version, Output: r.model.Output,
		Route: qe.RouteRejected.String(), Rule: v.Rule, Reason: v.Reason, Truncated: at.Truncated,
	}
	if at.Segments > 0 {
		index := at.Index
		verdict.Segments, verdict.WorstSegment = at.Segments, &index
	}
	value, err := verdict.AddTo(it.Value)
	if err != nil {
		return qe.Record{}, err
	}
	rec := r.record(it, tpl, qe.RouteRejected, value, verdict)
	rec.Segments, rec.WorstSegment = at.Segments, at.Index
	rec.Headers = append(cloneHeaders(it.Headers, 5),
		qe.Header{Key: qe.HeaderLabel, Value: []byte("rejected")},
		qe.Header{Key: qe.HeaderRule, Value: []byte(v.Rule)},
		qe.Header{Key: qe.HeaderReason, Value: []byte(v.Reason)},
		qe.Header{Key: qe.HeaderModel, Value: []byte(r.model.Tag())},
		qe.Header{Key: qe.HeaderSource, Value: []byte(it.Origin.String())},
	)
	return rec, nil
}

// DeadLetter builds the dead-letter record for an item: the original value
// and key untouched, plus qe-error and qe-source headers.
func (r *Router) DeadLetter(it *Item, reason string) qe.Record {
	rec := qe.Record{
		Topic: r.cfg.DeadLetter, Key: it.Key, Value: it.Value, Seq: it.Seq,
		Route: qe.RouteDeadLetter, LangPair: it.langPair, Input: it.Value,
		Verdict: qe.Verdict{Route: qe.RouteDeadLetter.String(), Reason: reason, Source: it.Origin.String()},
	}
	rec.Headers = append(cloneHeaders(it.Headers, 2),
		qe.Header{Key: qe.HeaderError, Value: []byte(reason)},
		qe.Header{Key: qe.HeaderSource, Value: []byte(it.Origin.String())},
	)
	return rec
}

// cloneHeaders drops any qe-* headers from an earlier pass, so a message
// gated twice does not carry two contradicting verdicts.
func cloneHeaders(in []qe.Header, extra int) []qe.Header {
	out := make([]qe.Header, 0, len(in)+extra)
	for _, h := range in {
		if !strings.HasPrefix(h.Key, "qe-") {
			out = append(out, h)
		}
	}
	return out
}

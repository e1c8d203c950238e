package pipeline

import "github.com/qegate/qegate/pipeline/rules"

// Prefilter rejects pairs before the model: checks far cheaper than it
// (empty or copied MT, wrong script, lost numbers and placeholders, ...).
// *rules.Checker implements it. Check is called from several workers at
// once and must be safe for concurrent use; a pair it rejects skips the
// scorer and goes to the post-edit route (or RoutesConfig.RuleRejects)
// with the rule and reason.
type Prefilter interface {
	Check(src, mt, srcLang, tgtLang string) rules.Verdict
}

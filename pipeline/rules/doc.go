// Package rules holds qegate's rule prefilters: cheap checks that run
// before the QE model and reject what no model is needed for — empty MT,
// an untranslated copy, the wrong script or language, decoder loops,
// truncations, lost numbers, placeholders, tags, URLs and e-mail
// addresses. A pair a rule rejects skips the model and goes to
// post-editing (or rules.route) with the rule's name and reason.
//
// The package is a leaf: it takes plain strings and imports nothing of
// qegate, so the pipeline, `qegate filter` and `qegate eval` can share
// it. A Checker is immutable and safe for concurrent use; Check costs
// about 8 µs per pair (docs/EVAL.md, "Rule prefilters").
//
//	c, err := rules.New(cfg.Rules)         // once, at start-up
//	v := c.Check(src, mt, srcLang, tgtLang) // per pair, after decoding
//	if !v.Passed() { /* route v.Rule / v.Reason, skip the model */ }
//
// The zero Config is the measured default. Every key, as the `rules:`
// section of configs/qegate.yaml, with its default:
//
//	rules:
//	  disabled: false          # true: no rule runs, the model sees every pair
//	  route: ""                # topic template for rejects; "" = routes.post_edit
//	  empty:
//	    disabled: false        # MT empty or only white space / invisible characters
//	  copy:
//	    disabled: false        # MT (nearly) identical to the source
//	    min_similarity: 0.9    # 1 - edit distance / length, letters and digits lower-cased
//	    min_letters: 20        # shorter sources (names, numbers, codes) are exempt
//	  script:
//	    disabled: false        # MT mostly not in a script of tgt_lang
//	    min_share: 0.3         # share of letters in tgt_lang's scripts (CJK weighted 3)
//	    min_letters: 3         # MT with fewer letters is exempt
//	  language:
//	    disabled: false        # Latin-script MT in the source language or English
//	    min_hits: 4            # function words of the other language needed
//	    min_ratio: 2           # ... and this many times tgt_lang's
//	  repetition:
//	    disabled: false        # an n-gram repeated back to back, more than in the source
//	    max_n: 4               # longest n-gram, in tokens
//	    min_repeats: 0         # 0: 3 copies for n >= 2, 4 for single tokens
//	  length_ratio:
//	    disabled: false        # MT/source length outside the pair's bounds
//	    quantile: 0.001        # bounds level in length_bounds.json: 0.001, 0.005, 0.01, 0.025
//	    slack: 1.1             # bounds widened to [lo/slack, hi*slack]
//	    min_src_chars: 20      # shorter sources are exempt
//	    bounds: {}             # overrides, e.g. {en-de: [0.6, 1.9], "*": [0.5, 2.0]}
//	  placeholders:
//	    disabled: false        # {0} {name} {{x}} ${x} %s %1$s <b> </b> <br/> URLs e-mails
//	  numbers:
//	    disabled: false        # source numbers missing or changed in the MT
//	    min_digits: 2          # shorter numbers (often spelled out) are not checked
//
// The length bounds are fitted on MLQE-PE train by `go generate
// ./pipeline/rules` (internal/evaluate/ruleeval/genbounds) into the
// embedded length_bounds.json; tests and the binary do not need the data.
// What each rule catches on MLQE-PE and on synthetic failures is measured
// by internal/evaluate/ruleeval, outside the runtime.
package rules

// Package rules holds qegate's rule prefilters: cheap checks that run
// before the QE model and reject what no model is needed for (empty MT,
// an untranslated copy, the wrong script, decoder loops, truncations,
// lost numbers, placeholders, tags, URLs and e-mail addresses). A pair a
// rule rejects skips the model and goes to post-editing with the rule's
// reason.
//
// The package is a leaf: it takes plain strings and imports nothing of
// qegate, so the pipeline, `qegate filter` and `qegate eval` can share it.
package rules

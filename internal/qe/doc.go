// Package qe holds the types that cross qegate's packages: the translation
// pair a source produces and a scorer labels, the result the scorer
// returns, the routed record (with its route, language pair, score and the
// qe member's verdict, typed) a sink writes, the errors a sink reports per
// record, a filter input's position, and the one text check every entry
// point (message decoding, the scorer, evaluation readers) applies.
//
// It is a leaf: no cgo and no imports beyond the standard library, so the
// pipeline, sources and sinks build and test with CGO_ENABLED=0.
package qe

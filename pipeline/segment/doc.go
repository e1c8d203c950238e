// Package segment cuts long translation pairs into sentence pieces the QE
// model can see whole: [Split] finds sentence boundaries in one side's text
// (language-aware, deterministic, no model), and [Align] pairs the
// sentences of the source with those of the MT by length, merging
// neighbours where the counts differ, never dropping text. [Segment] does
// both for a pair, bounded by a piece limit.
package segment

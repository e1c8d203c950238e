// Package evaluate measures a QE model on labelled data and calibrates its
// thresholds: it reads MLQE-PE TSV and JSONL files ([ReadPath], the one
// reader of labelled data in the tree; [FindData] locates MLQE-PE), scores the rows
// in length-sorted batches with any [Scorer] ([ScoreRows]), computes Pearson,
// Spearman, F1, macro-F1, precision, recall and MCC per language pair and their
// macro average ([Evaluate], [Report]), chooses per-pair thresholds for a goal
// ([ParseGoal], [Curve], [Choose]) and writes them into model.json
// ([WriteThresholds]), and draws plots ([Plot]).
//
// The metrics match scipy.stats and scikit-learn (see testdata/gen_fixture.py);
// docs/EVAL.md documents the commands and the JSON report.
package evaluate

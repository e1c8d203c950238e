// Package ruleeval measures the rule prefilters of pipeline/rules on
// labelled data: what each rule rejects on MLQE-PE alone and in the chain
// ([Measure]), on a synthetic set of MT failures built from good pairs
// ([Adversarial]), and the length-ratio bounds the rules embed
// ([FitBounds], written by `go generate ./pipeline/rules` through
// genbounds). It is tooling: the runtime imports pipeline/rules, never
// this package. The tables of docs/EVAL.md ("Rule prefilters") come from
// its tests (TestMLQE, TestMLQESweep) and benchmarks.
package ruleeval

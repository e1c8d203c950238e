// Package scorer turns (source, machine translation) pairs into quality
// estimates with a compressed ONNX classifier.
//
// A model directory (see docs/ARCHITECTURE.md) holds model.onnx,
// tokenizer.json and model.json. [LoadManifest] reads and validates
// model.json; [New] loads the tokenizer, initializes ONNX Runtime once per
// process and opens a pool of run slots (over one shared ORT session by
// default); [Scorer.Score] encodes pairs in the
// XLM-R pair format, runs the model and applies the manifest's transforms and
// thresholds. [Scorer.Encode] and [Scorer.Infer] expose the two halves so that
// tokenization and inference can be timed separately.
//
// A Scorer is safe for concurrent use. Inputs never cause a panic: empty or
// whitespace-only text, invalid UTF-8 and NUL bytes are reported as a
// [*qe.TextError] naming the offending pair
// (the check is [qe.CheckText], the one every entry point runs).
package scorer

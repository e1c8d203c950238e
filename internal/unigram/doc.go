// Package unigram tokenizes text as a HuggingFace tokenizers Unigram model
// (the SentencePiece kind XLM-R and multilingual-e5 use) does, in pure Go,
// from the same tokenizer.json.
//
// Why it exists: the Rust library builds its vocabulary trie as one hash
// map per node, which for the 250,002 pieces of the full XLM-R vocabulary
// costs about 270 MB of resident memory, more than the model and ONNX
// Runtime together. The trie here is three flat arrays in breadth-first
// order (about 9 bytes a node, ~14 MB for that vocabulary).
//
// Only the configuration the recipe ships is supported: Replace (regex or
// string) and NFC/NFD/NFKC/NFKD normalizers, possibly in a Sequence; a
// Metaspace pre-tokenizer that prepends always and does not split; a Unigram
// model without byte fallback; added tokens matched on the raw text. Parse
// reports anything else as ErrUnsupported, so that the caller can use the
// Rust library instead. Encode mirrors tokenizers 0.20's
// encode(text, add_special_tokens=false) as called through
// github.com/daulet/tokenizers: the text ends at its first NUL byte and
// invalid UTF-8 reads as U+FFFD.
package unigram

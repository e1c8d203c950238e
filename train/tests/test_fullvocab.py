"""full-vocab surgery on a tiny trimmed int8 model built here from a synthetic Q4_0 base (frozen
word embeddings, as the recipe trains), and the multi-script <unk> counter. No data, no download."""
import json
import os

import numpy as np
import onnx
import pytest
import torch

from conftest import PIECES, write_e5bin
from qegate_train import e5bin, fullvocab, scriptsample, tokjson, workdir
from qegate_train.encode import encode_pairs
from qegate_train.export import export_all, ort_scores, ort_session, write_model_json
from qegate_train.model import MULTI, QEModel

# a few hundred extra pieces so the codebook has more than a handful of multipliers
EXTRA = [f"\u2581w{i}" for i in range(400)] + [f"q{i}" for i in range(200)]
BASE_PIECES = PIECES + EXTRA
DROPPED = {"\u4e2d", "\u6587", "\u2581\u4e2d", "\u2581Haus", "<mask>"} | set(EXTRA[::3])
IN_VOCAB = ["the cat sat on the mat", "the dog is red, a cat", "w1 w4 w7"]
RESEGMENTED = ["Haus."]    # no <unk> before, but the full vocabulary has the piece "\u2581Haus"
OUT_OF_VOCAB = ["\u4e2d\u6587 the cat", "w0 w3 dog", "q1 q2"]


@pytest.fixture(autouse=True)
def tmp_workdir(tmp_path, monkeypatch):
    monkeypatch.setattr(workdir, "_root", None)
    monkeypatch.setenv(workdir.ENV, str(tmp_path / "work"))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    p = tmp_path_factory.mktemp("base") / "base.bin"
    write_e5bin(str(p), pieces=BASE_PIECES, seed=3)
    return e5bin.E5Bin(str(p))


def make_trimmed(base, d, frozen=True, seed=0):
    """A recipe-shaped int8 model dir whose vocabulary is BASE_PIECES minus DROPPED and whose
    word embeddings are the base's rows (frozen=True) or random (frozen=False)."""
    os.makedirs(d, exist_ok=True)
    rows = np.array([i for i, p in enumerate(base.pieces) if p not in DROPPED], np.int64)
    pieces, scores = [base.pieces[i] for i in rows], [float(base.scores[i]) for i in rows]
    norm = tokjson.normalizer_from_table(base.norm)
    tokjson.write(os.path.join(d, "tokenizer.json"), tokjson.build_tokenizer_json(pieces, scores,
                                                                                 norm))
    cfg = base.bert_config(vocab_size=len(rows), num_layers=2)
    torch.manual_seed(seed)
    m = QEModel(cfg, n_out=3, dropout=0.0).eval()
    sd = base.bert_state_dict(rows=rows, layers=[0, 1])
    if not frozen:
        sd["embeddings.word_embeddings.weight"] = np.random.default_rng(seed).normal(
            0, 0.5, sd["embeddings.word_embeddings.weight"].shape).astype(np.float32)
    m.bert.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)
    export_all(m, os.path.join(d, "model.onnx"), base.NH, base.H, quantize=True)
    write_model_json(os.path.join(d, "model.json"), "tiny-trimmed", MULTI, max_len=64)
    return rows


@pytest.fixture(scope="module")
def trimmed(base, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("trimmed"))
    return d, make_trimmed(base, d)


def pairs(texts):
    return [(t, t, "en-de") for t in texts]


@pytest.mark.parametrize("fmt,lo_bits", [("codebook", 8), ("codebook", 7), ("gbq", 8)])
def test_full_vocab_is_exact_on_the_trimmed_vocab(base, trimmed, tmp_path, fmt, lo_bits):
    src, rows = trimmed
    out = str(tmp_path / "full")
    info = fullvocab.full_vocab(src, out, fmt=fmt, base=base,
                                pairs=pairs(IN_VOCAB + RESEGMENTED + OUT_OF_VOCAB),
                                extra_reference=pairs(OUT_OF_VOCAB), n_ref=0, rescore_dev=False,
                                lo_bits=lo_bits, log=lambda *_: None)
    V = len(base.pieces)
    # every embedding element: old rows as the old model had them, all rows as int8 codes
    assert info["emb_check"] == {"elements_checked": V * base.H, "mismatches_vs_int8_codes": 0,
                                 "old_rows_mismatches_vs_old_model": 0}
    if fmt == "codebook" and lo_bits == 7:
        assert info["codebook_entries"] > 128    # 8-bit indices: the high-bit path is used
    n_in = len(IN_VOCAB)
    assert info["compare"] == {
        "pairs": n_in + len(RESEGMENTED) + len(OUT_OF_VOCAB),
        "pairs_without_unk_before": n_in + len(RESEGMENTED),
        "pairs_same_segmentation": n_in,              # ids mapped old -> new, piece for piece
        "pairs_with_unk_before": len(OUT_OF_VOCAB), "pairs_with_unk_after": 0,
        "max_abs_score_diff": 0.0, "pairs_bit_identical": n_in}
    # the new tokenizer knows every base piece, the specials stay put
    tj = json.load(open(os.path.join(out, "tokenizer.json"), encoding="utf-8"))
    assert [p for p, _ in tj["model"]["vocab"]] == base.pieces
    mj = json.load(open(os.path.join(out, "model.json")))
    assert mj["special_tokens"] == {"bos": 0, "pad": 1, "eos": 2, "unk": 3}
    assert mj["provenance"]["full_vocab"]["sha256"] == fullvocab.sha256(os.path.join(out,
                                                                                    "model.onnx"))
    assert mj["size_bytes"] == info["model_onnx_bytes"] + info["tokenizer_json_bytes"]
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    old = Tokenizer.from_file(os.path.join(src, "tokenizer.json"))
    for t in OUT_OF_VOCAB:
        assert 3 in old.encode(t, add_special_tokens=False).ids, t
        assert 3 not in tok.encode(t, add_special_tokens=False).ids, t
    # reference.jsonl: the new ids and batch-1 scores of the extra rows
    recs = [json.loads(l) for l in open(os.path.join(out, "reference.jsonl"), encoding="utf-8")]
    seqs = encode_pairs(tok, [r["src"] for r in recs], [r["mt"] for r in recs], 64)
    assert [r["input_ids"] for r in recs] == seqs
    got = ort_scores(ort_session(os.path.join(out, "model.onnx")), seqs, batch=1)
    assert np.abs(got - np.array([r["scores"] for r in recs])).max() < 1e-5
    # nothing of the old lookup is left, and the table has every row
    g = onnx.load(os.path.join(out, "model.onnx")).graph
    shapes = {t.name: list(t.dims) for t in g.initializer}
    assert not any(list(v) == [len(rows), base.H] for v in shapes.values())
    key = fullvocab.PREFIX + ("q4" if fmt == "codebook" else "gbq_data")
    assert shapes[key] == [V, base.H // 2]
    with pytest.raises(fullvocab.SurgeryError, match="already"):
        fullvocab.full_vocab(out, str(tmp_path / "again"), base=base, pairs=[], n_ref=0,
                             log=lambda *_: None)


def test_fp16_scales_are_only_approximate(base, trimmed, tmp_path):
    src, _ = trimmed
    info = fullvocab.full_vocab(src, str(tmp_path / "f16"), fmt="gbq-fp16", base=base, pairs=[],
                                n_ref=0, rescore_dev=False, log=lambda *_: None)
    e = info["emb_check"]
    # fp16 rounding of the dequantized value moves codes off by one somewhere: the reason
    # gbq-fp16 is not the default (the exact formats are checked in the test above)
    assert 0 < e["mismatches_vs_int8_codes"] < e["elements_checked"] // 10


def test_refuses_embeddings_that_are_not_the_base_rows(base, tmp_path):
    d = str(tmp_path / "trained")
    make_trimmed(base, d, frozen=False)
    with pytest.raises(fullvocab.SurgeryError, match="embeddings differ"):
        fullvocab.full_vocab(d, str(tmp_path / "out"), base=base, pairs=[], n_ref=0,
                             log=lambda *_: None)
    assert not os.path.exists(tmp_path / "out" / "model.onnx")


def test_refuses_pieces_missing_from_the_base(base, trimmed, tmp_path):
    src, _ = trimmed
    tj = json.load(open(os.path.join(src, "tokenizer.json"), encoding="utf-8"))
    tj["model"]["vocab"].append(["\u2581notinbase", -5.0])
    with pytest.raises(fullvocab.SurgeryError, match="not in the base"):
        fullvocab.full_tokenizer_json(tj, base)


@pytest.mark.parametrize("L,U,want", [
    ([[0.0, 1.0], [0.5, 2.0], [3.0, 4.0]], None, 2),          # two overlap, one apart
    ([[0.0, 1.0], [1.0 + 1e-9, 2.0]], None, 2),                # touching is not overlapping
    ([[-np.inf, 1.0], [0.5, np.inf]], None, 1),                # one-sided intervals
    ([[-np.inf, np.inf], [2.0, 3.0]], None, 1),                # unconstrained blocks are free
    ([[i, i + 0.5] for i in range(300)], None, 300),
])
def test_stab_is_minimal_and_stabs_every_interval(L, U, want):
    iv = np.array(L, np.float64)
    pts, idx = fullvocab.stab(iv[:, :1], iv[:, 1:])
    assert len(pts) == want
    c = pts[idx[:, 0]]
    assert np.all((iv[:, 0] <= c) & (c <= iv[:, 1]))


def test_codebook_reproduces_int8_codes_of_random_blocks():
    rng = np.random.default_rng(0)
    n, nb = 5000, 4
    d = rng.normal(0, 0.05, (n, nb)).astype(np.float16)
    j = rng.integers(-8, 8, (n, nb, 32)).astype(np.int8)
    s, lo, hi = np.float32(0.004), -128, 127           # some values clip at both ends
    book, idx = fullvocab.build_codebook(j, d, s, lo, hi)
    assert len(book) < n * nb / 10
    got = np.clip(np.round(j.astype(np.float32) * book[idx][:, :, None]), lo, hi)
    assert np.array_equal(got, fullvocab.int8_codes(j, d, s, lo, hi))
    low, high = fullvocab.split_index(idx, lo_bits=max(1, int(np.ceil(np.log2(len(book)))) - 1))
    assert high is not None and high.dtype == np.uint16


@pytest.mark.parametrize("ch,want", [("a", "Latin"), ("\u0436", "Cyrillic"), ("\u4e2d", "Han"),
                                     ("\u1780", "Khmer"), ("\u3042", "Hiragana"),
                                     ("\uac00", "Hangul"), ("\u1c5a", "Ol Chiki"),
                                     ("\u02b0", None), ("\u0301", None), ("1", None), (" ", None)])
def test_char_script(ch, want):
    assert scriptsample.char_script(ch) == want


def test_unk_by_script_counts_unknown_letters(base, trimmed):
    src, _ = trimmed
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(src, "tokenizer.json"))
    res = scriptsample.unk_by_script(tok, ["the cat", "\u4e2d\u6587", "cat \u4e2d"])
    assert res["Han"]["unk"] >= 1 and res["Han"]["unk_letters"] == 3
    assert res["Han"]["texts"] == 1 and res["Han"]["texts_with_unk"] == 1
    assert res["Latin"]["unk"] == 0 and res["Latin"]["texts"] == 2


import numpy as np
import torch

from qegate_train import e5bin, tokjson, vocab
from qegate_train.encode import pad_batch, pair_ids
from qegate_train.metrics import best_threshold, prf
from qegate_train.model import QEModel
from qegate_train.verify import RefTokenizer

TEXTS = ["the cat sat on the mat", "  the dog\tis red,  ", "Haus.", "\uff21 cat\x01s",
         "\u4e2d\u6587 xaz", "\u0928 the  \u3000cat"]


def test_q4_nibble_layout():
    d = np.float16(0.5)
    q = np.arange(32) % 16
    raw = d.tobytes() + bytes((q[j] | (q[j + 16] << 4)) for j in range(16))
    w = e5bin.dequant_q4(raw, 32)
    assert np.allclose(w, 0.5 * (q - 8))


def test_reader_and_pruning_keeps_bottom_layers(tiny_bin):
    b = tiny_bin
    sd = b.bert_state_dict(layers=[0, 1])
    assert not any(k.startswith("encoder.layer.2.") for k in sd)
    assert np.allclose(sd["encoder.layer.1.attention.self.query.weight"],
                       b.tensor("l1.q.w").reshape(b.H, b.H))
    cfg = b.bert_config(num_layers=2)
    cfg.max_position_embeddings = b.MAXP
    m = QEModel(cfg, n_out=3)
    missing, unexpected = m.bert.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()},
                                                 strict=False)
    assert not unexpected and not missing
    assert len(m.bert.encoder.layer) == 2


def _tok(b, pieces=None, scores=None):
    return tokjson.load(tokjson.build_tokenizer_json(pieces or b.pieces, scores if scores is not None
                                                     else b.scores,
                                                     tokjson.normalizer_from_table(b.norm)))


def test_tokenizer_json_matches_engine_port(tiny_bin):
    tok, ref = _tok(tiny_bin), RefTokenizer(tiny_bin)
    for t in TEXTS:
        assert tok.encode(t, add_special_tokens=False).ids == ref.encode(t), t


def test_unknown_runs_are_fused(tiny_bin):
    """Known difference from e5.c: HF Unigram fuses a run of unknown characters into one <unk>;
    e5.c emits one <unk> per character. Only runs of >= 2 out-of-vocabulary characters differ."""
    pass


def test_vocab_trimming_preserves_segmentation(tiny_bin):
    b = tiny_bin
    full = _tok(b)
    corpus = TEXTS[:3]
    counts = vocab.count_pieces(full, corpus)
    rows = vocab.select_rows(b.pieces, counts, texts_for_scripts=corpus)
    assert list(rows[:4]) == [0, 1, 2, 3]
    kept = {b.pieces[i] for i in rows}
    assert "\u4e2d" not in kept            # script not in the corpus
    assert "x" in kept and "," in kept    # single characters of a used script / punctuation
    pieces, scores = vocab.trim(b.pieces, b.scores, rows)
    small = _tok(b, pieces, scores)
    remap = {int(o): i for i, o in enumerate(rows)}
    for t in corpus:
        assert small.encode(t, add_special_tokens=False).ids == \
            [remap[i] for i in full.encode(t, add_special_tokens=False).ids]
    # an unseen word of a kept script still segments without <unk>
    assert 3 not in small.encode("the cog", add_special_tokens=False).ids


def test_pair_encoding_truncation():
    assert pair_ids([5, 6], [7], 128) == [0, 5, 6, 2, 2, 7, 2]
    ids = pair_ids(list(range(10, 80)), list(range(100, 110)), 20)
    assert len(ids) == 20 and ids[-1] == 2 and ids.count(2) == 3
    # longest first, source side when equal
    ids = pair_ids([1] * 10, [9] * 10, 12)
    assert ids == [0] + [1] * 4 + [2, 2] + [9] * 4 + [2]


def test_export_parity_tiny_random_model(tiny_bin, tmp_path):
    from qegate_train.export import export_all, ort_scores, ort_session
    b = tiny_bin
    cfg = b.bert_config(num_layers=2)
    cfg.max_position_embeddings = b.MAXP
    torch.manual_seed(0)
    m = QEModel(cfg, n_out=3, dropout=0.0).eval()
    m.bert.load_state_dict({k: torch.from_numpy(v) for k, v in
                            b.bert_state_dict(layers=[0, 1]).items()}, strict=False)
    p32, p8 = str(tmp_path / "fp32.onnx"), str(tmp_path / "int8.onnx")
    export_all(m, p8, b.NH, b.H, quantize=True, keep_fp32=p32)
    rng = np.random.default_rng(0)
    seqs = [pair_ids(rng.integers(4, 40, n).tolist(), rng.integers(4, 40, k).tolist(), 64)
            for n, k in [(3, 5), (20, 2), (1, 1), (30, 28), (7, 9)]]
    ids, mask = pad_batch(seqs)
    with torch.no_grad():
        ref = m(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    got = ort_scores(ort_session(p32), seqs, batch=5)   # padded batch
    one = ort_scores(ort_session(p32), seqs, batch=1)   # no padding
    assert got.shape == (5, 3)
    assert np.abs(got - ref).max() < 1e-4 and np.abs(one - ref).max() < 1e-4
    q = ort_scores(ort_session(p8), seqs, batch=1)
    assert q.shape == (5, 3) and np.isfinite(q).all()
    import onnx
    g = onnx.load(p8)
    assert [i.name for i in g.graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in g.graph.output] == ["scores"]


def test_best_threshold_maximises_f1():
    rng = np.random.default_rng(1)
    s = rng.random(300)
    y = (s + rng.normal(0, 0.3, 300) > 0.5).astype(int)
    t = best_threshold(s, y)
    f = prf(y, (s >= t).astype(int))["f1"]
    brute = max(prf(y, (s >= c).astype(int))["f1"] for c in np.unique(s))
    assert abs(f - brute) < 1e-12

"""The export fuses every encoder layer's attention in ORT's bert optimizer (Attention, then
QAttention after int8), keeps SkipLayerNormalization / BiasGelu, and still scores as PyTorch.
Tiny random BERT and XLM-R encoders; no data, no download."""
import numpy as np
import onnx
import pytest
import torch

from qegate_train.encode import pad_batch
from qegate_train.export import (FusionError, check_fusions, export_all, ort_scores,
                                 ort_session)
from qegate_train.model import QEModel

LAYERS = 2


def tiny_model(kind, seed=0):
    from transformers import BertConfig, XLMRobertaConfig
    cls = {"bert": BertConfig, "xlm-roberta": XLMRobertaConfig}[kind]
    cfg = cls(vocab_size=120, hidden_size=32, num_hidden_layers=LAYERS, num_attention_heads=4,
              intermediate_size=64, max_position_embeddings=80, pad_token_id=1,
              hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(seed)
    m = QEModel(cfg, n_out=3, dropout=0.0).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.3)   # spread-out attention, so a wrong mask shows in the scores
    return m


def torch_ref(m, ids, mask):
    with torch.no_grad():
        return m(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()


@pytest.mark.parametrize("kind", ["bert", "xlm-roberta"])
def test_export_fuses_attention_and_keeps_parity(kind, tmp_path):
    m = tiny_model(kind)
    rng = np.random.default_rng(0)
    seqs = [[0] + rng.integers(3, 120, n).tolist() + [2] for n in (5, 17, 1, 40, 9)]
    ids, mask = pad_batch(seqs)
    before = torch_ref(m, ids, mask)
    p32, p8 = str(tmp_path / "fp32.onnx"), str(tmp_path / "int8.onnx")
    info = export_all(m, p8, 4, 32, quantize=True, keep_fp32=p32)
    f = info["fusions"]
    assert f["Attention"] + f.get("MultiHeadAttention", 0) == LAYERS, f
    assert f["SkipLayerNormalization"] == 2 * LAYERS and f["BiasGelu"] == LAYERS, f
    # the export-time patch is undone: the PyTorch model is the one it was
    assert np.array_equal(torch_ref(m, ids, mask), before)

    ops32 = [n.op_type for n in onnx.load(p32).graph.node]
    assert ops32.count("Attention") == LAYERS and "Softmax" not in ops32
    s32 = ort_session(p32)
    padded = ort_scores(s32, seqs, batch=5)   # right padding
    assert np.abs(padded - before).max() < 1e-4
    assert np.abs(ort_scores(s32, seqs, batch=1) - before).max() < 1e-4
    # left padding too: the fused ops take the raw mask, not a right-padding mask index
    lids, lmask = np.flip(ids, 1).copy(), np.flip(mask, 1).copy()
    left = s32.run(["scores"], {"input_ids": lids, "attention_mask": lmask})[0]
    ref_left = torch_ref(m, lids, lmask)
    assert np.abs(left - ref_left).max() < 1e-4

    ops8 = [n.op_type for n in onnx.load(p8).graph.node]
    assert ops8.count("QAttention") == LAYERS, sorted(set(ops8))
    q = ort_scores(ort_session(p8), seqs, batch=1)
    assert q.shape == (5, 3) and np.isfinite(q).all()
    assert np.abs(q - before).max() < 0.5   # int8 of random weights: close, not equal


def test_check_fusions_fails_when_attention_is_not_fused():
    ok = {"Attention": 6, "MultiHeadAttention": 0, "SkipLayerNormalization": 12, "BiasGelu": 6}
    assert check_fusions(ok, 6) == ok
    with pytest.raises(FusionError, match="attention 0 \\(want 6\\)"):
        check_fusions(ok | {"Attention": 0}, 6)
    with pytest.raises(FusionError, match="attention 5"):
        check_fusions(ok | {"Attention": 5}, 6)
    with pytest.raises(FusionError, match="BiasGelu 0"):
        check_fusions(ok | {"BiasGelu": 0}, 6)

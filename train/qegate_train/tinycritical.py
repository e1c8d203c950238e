"""Tiny random-weights model with the v2 output contract: z, da51, da70, hter and critical.

The Go tests of the critical-error path (scorer, router, filter, eval) need a real ONNX
model whose scores output has 5 columns; scorer/testdata/tiny keeps the 3-output
contract so that the tests of models without a critical output keep running on it.
Both share the tokenizer (tokenizer.json is a link to ../tiny/tokenizer.json).
"""
import hashlib
import json
import os

import numpy as np
import torch

from . import e5bin
from .export import export_all, ort_scores, ort_session, write_model_json
from .model import MULTI, QEModel
from .reference import pick_dev, write_reference

# columns of the v2 scores output (model.json contract): index 3 hter, index 4 critical
V2 = MULTI + ["hter", "critical"]

HTER = {"name": "hter", "index": 3, "kind": "regression", "transform": "sigmoid",
        "label": "predicted HTER (post-editing effort, 0 = no edit)",
        "default_threshold": 0.0, "thresholds": {}}
CRITICAL = {"name": "critical", "index": 4, "kind": "critical", "transform": "sigmoid",
            "label": "probability of a critical error (WMT21 CED)"}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def build_tiny_critical(src="scorer/testdata/tiny", out="scorer/testdata/critical", n_ref=50,
                        seed=1):
    """Random 5-output model over src's tokenizer. Its critical thresholds are medians of the
    reference rows' critical probabilities (en-de: that pair's own median), so that the
    reference pairs fall on both sides of them."""
    os.makedirs(out, exist_ok=True)
    tok_src = os.path.join(src, "tokenizer.json")
    with open(tok_src, encoding="utf-8") as f:
        n_vocab = len(json.load(f)["model"]["vocab"])
    tok = os.path.join(out, "tokenizer.json")
    if not os.path.lexists(tok):
        os.symlink(os.path.join("..", os.path.basename(os.path.normpath(src)), "tokenizer.json"),
                   tok)

    torch.manual_seed(seed)
    b = e5bin.load_default()
    cfg = b.bert_config(vocab_size=n_vocab, num_layers=2)
    cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size = 32, 2, 64
    cfg.max_position_embeddings = 128
    model = QEModel(cfg, n_out=len(V2), head_hidden=32, dropout=0.0).eval()
    with torch.no_grad():
        for p in model.head.parameters():
            p.normal_(0, 0.5)
    path = os.path.join(out, "model.onnx")
    export_all(model, path, num_heads=2, hidden=32, quantize=False)

    # thresholds from the reference rows' own scores (written below with the same rows)
    rows = pick_dev(n_ref, seed=0)
    from tokenizers import Tokenizer

    from .encode import encode_pairs
    seqs = encode_pairs(Tokenizer.from_file(tok_src), [r[0] for r in rows],
                        [r[1] for r in rows], 128)
    crit = _sigmoid(ort_scores(ort_session(path, threads=1), seqs, batch=1)[:, 4])
    lps = np.array([r[2] for r in rows])
    default_t = round(float(np.median(crit)), 4)
    de_t = round(float(np.median(crit[lps == "en-de"])), 4)

    size = os.path.getsize(path) + os.path.getsize(tok_src)
    man_path = os.path.join(out, "model.json")
    doc = write_model_json(man_path, "qegate-tiny-critical", MULTI,
                           thresholds={"da51": {"en-de": 0.6, "si-en": 0.4}},
                           provenance={"note": "random weights, for tests only; built by "
                                       "`python -m qegate_train tiny-critical` (5 outputs: "
                                       "z, da51, da70, hter, critical)",
                                       "tokenizer": "the tiny model's (../tiny)",
                                       "seed": seed},
                           size_bytes=size, version="2.0.0")
    doc["outputs"] += [HTER, dict(CRITICAL, default_threshold=default_t,
                                  thresholds={"en-de": de_t})]
    with open(man_path, "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    maxdiff = write_reference(os.path.join(out, "reference.jsonl"), out, rows)
    return {"dir": out, "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
            "critical_thresholds": {"default": default_t, "en-de": de_t},
            "flagged_reference_rows": int((crit >= np.where(lps == "en-de", de_t, default_t)).sum()),
            "batch_vs_single_maxdiff": maxdiff}

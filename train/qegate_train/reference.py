"""reference.jsonl: pair ids (ARCHITECTURE.md encoding) + onnxruntime scores, for the Go test."""
import json

import numpy as np

from . import data
from .encode import encode_pairs
from .export import ort_scores, ort_session


def pick_dev(n, seed=0, pairs=None):
    """n dev rows spread evenly over the pairs (deterministic)."""
    pairs = pairs or data.PAIRS
    rng = np.random.default_rng(seed)
    per = [n // len(pairs) + (1 if i < n % len(pairs) else 0) for i in range(len(pairs))]
    rows = []
    for lp, k in zip(pairs, per):
        sp = data.load("dev", [lp])
        idx = sorted(rng.choice(len(sp), size=k, replace=False).tolist())
        rows += [(sp.src[i], sp.mt[i], lp) for i in idx]
    return rows


def pick_reference_rows(n, tok, max_len=128, n_long=6, seed=0):
    """n dev rows spread over the pairs; the first n_long of them are the longest pairs that need
    truncation (len(src) + len(mt) + 4 > max_len), so the Go test exercises that rule too."""
    dv = data.load("dev")
    es = tok.encode_batch(dv.src, add_special_tokens=False)
    em = tok.encode_batch(dv.mt, add_special_tokens=False)
    tot = np.array([len(a.ids) + len(b.ids) + 4 for a, b in zip(es, em)])
    long_idx = [int(i) for i in np.argsort(-tot)[:n_long] if tot[i] > max_len]
    longs = [(dv.src[i], dv.mt[i], dv.lp[i]) for i in long_idx]
    rest = [r for r in pick_dev(n, seed) if r not in longs][:n - len(longs)]
    return longs + rest


def write_reference(path, model_dir, rows, max_len=128):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    seqs = encode_pairs(tok, [r[0] for r in rows], [r[1] for r in rows], max_len)
    sess = ort_session(f"{model_dir}/model.onnx", threads=1)
    sc = ort_scores(sess, seqs, batch=1)   # batch 1: no padding effects
    sc_b = ort_scores(sess, seqs, batch=16)
    with open(path, "w", encoding="utf-8") as f:
        for (s, m, lp), ids, v in zip(rows, seqs, sc):
            f.write(json.dumps({"lp": lp, "src": s, "mt": m, "input_ids": ids,
                                "scores": [round(float(x), 6) for x in v]},
                               ensure_ascii=False) + "\n")
    return float(np.abs(sc - sc_b).max())

"""How much do int8 (dynamic quantization) scores depend on the batch a pair is scored in?
DynamicQuantizeLinear picks one activation scale per tensor, i.e. per batch."""
import json
import os

import numpy as np

from .export import ort_scores, ort_session
from .metrics import sigmoid
from .ship import dev_seqs


def batch_check(model_dir, batch=32, n=2000):
    mj = json.load(open(os.path.join(model_dir, "model.json")))
    dv, seqs = dev_seqs(model_dir)
    idx = np.arange(0, len(seqs), max(1, len(seqs) // n))[:n]
    seqs = [seqs[i] for i in idx]
    lp = np.array(dv.lp)[idx]
    s = ort_session(os.path.join(model_dir, "model.onnx"), threads=2)
    one = ort_scores(s, seqs, batch=1)
    many = ort_scores(s, seqs, batch=batch)   # length-sorted batches, as a batching scorer would
    d = np.abs(one - many)
    res = {"n": len(seqs), "batch": batch, "max_abs": float(d.max()), "mean_abs": float(d.mean()),
           "p99_abs": float(np.percentile(d, 99))}
    for o in mj["outputs"]:
        if o["kind"] != "classification":
            continue
        i = o["index"]
        th = np.array([o["thresholds"].get(l, o["default_threshold"]) for l in lp])
        flips = ((sigmoid(one[:, i]) >= th) != (sigmoid(many[:, i]) >= th)).mean()
        res[f"decision_flips_{o['name']}"] = float(flips)
    return res

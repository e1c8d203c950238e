"""Fused vs unfused attention export of one trained model, side by side (issue 19 item 2).

    PYTHONPATH=train train/.venv/bin/python bench/fusion_compare.py WEIGHTS LAYERS [TASK] [ROUNDS] \
        [ROWS]

Exports the run's weights three times: fused (the export's classic attention graph, which ORT's
bert optimizer fuses into Attention, QAttention after int8), mha (the same graph fused into
MultiHeadAttention, Q/K/V MatMuls kept separate) and unfused (transformers' own graph), each as
fp32 and dynamic int8. Timing: 500 MLQE-PE dev pairs (seed 0), one ORT session of one thread
per model, at each rows-per-run count of ROWS (comma-separated, default 1; batches > 1 are of
length-sorted pairs, right-padded); each round runs every (model, rows) over all 500 pairs (order
rotates per round), and the result is the median over rounds of ms per pair, so background load
on a shared machine hits every model alike. Quality: dev metrics of the int8 models scored at
batch 1 (as the gate scores), their score differences, and the max abs difference of the fp32
exports.
"""
import json
import os
import sys
import tempfile
import time

import numpy as np
from tokenizers import Tokenizer

from qegate_train import data
from qegate_train.encode import encode_pairs, pad_batch
from qegate_train.export import export_all, ort_scores, ort_session
from qegate_train.hfbase import load_base
from qegate_train.metrics import evaluate
from qegate_train.prepare import carry_dir
from qegate_train.ship import da_cols, load_trained
from qegate_train.train import TASKS


def main():
    weights, layers = sys.argv[1], int(sys.argv[2])
    task = sys.argv[3] if len(sys.argv) > 3 else "v2"
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 7
    carry = carry_dir(v2=task == "v2")
    base = load_base(carry)
    model = load_trained(base, weights, layers, task)
    td = tempfile.mkdtemp(prefix="fusion_compare_")
    paths, fusions = {}, {}
    for name, classic, mha in (("fused", True, False), ("mha", True, True),
                               ("unfused", False, False)):
        p8, p32 = os.path.join(td, f"{name}_int8.onnx"), os.path.join(td, f"{name}_fp32.onnx")
        info = export_all(model, p8, base.NH, base.H, quantize=True, keep_fp32=p32,
                          check_fused=classic, classic=classic, mha=mha)
        fusions[name] = {k: v for k, v in info["fusions"].items() if v}
        paths[f"{name}_int8"], paths[f"{name}_fp32"] = p8, p32
    print("fusions", json.dumps(fusions), flush=True)

    tok = Tokenizer.from_file(os.path.join(carry, "tokenizer.json"))
    dv = data.load("dev")
    seqs = encode_pairs(tok, dv.src, dv.mt, 128)
    rng = np.random.default_rng(0)
    lat = [seqs[i] for i in rng.choice(len(seqs), 500, replace=False)]
    rows = [int(x) for x in (sys.argv[5] if len(sys.argv) > 5 else "1").split(",")]
    by_len = sorted(lat, key=len)
    feeds = {}
    for b in rows:
        src = lat if b == 1 else by_len
        feeds[b] = []
        for i in range(0, len(src), b):
            ids, mask = pad_batch(src[i:i + b])
            feeds[b].append({"input_ids": ids, "attention_mask": mask})
    sess = {k: ort_session(p, threads=1) for k, p in paths.items()}
    for s in sess.values():
        for b in rows:
            for f in feeds[b][:5]:
                s.run(["scores"], f)
    runs = [(k, b) for b in rows for k in sess]
    per_round = {f"{k}@{b}": [] for k, b in runs}
    for r in range(rounds):
        for k, b in runs[r % len(runs):] + runs[:r % len(runs)]:
            t = time.perf_counter()
            for f in feeds[b]:
                sess[k].run(["scores"], f)
            per_round[f"{k}@{b}"].append((time.perf_counter() - t) * 1000 / len(lat))
        print(f"round {r}", {k: round(v[-1], 3) for k, v in per_round.items()}, flush=True)
    med = {k: float(np.median(v)) for k, v in per_round.items()}
    ref32 = ort_scores(sess["unfused_fp32"], lat, batch=1)
    d32 = {k: float(np.abs(ort_scores(sess[k], lat, batch=1) - ref32).max())
           for k in ("fused_fp32", "mha_fp32")}

    kinds = TASKS[task]
    met, dev = {}, {}
    for k in ("fused_int8", "mha_int8", "unfused_int8"):
        dev[k] = ort_scores(sess[k], seqs, batch=1)
        met[k] = evaluate(dv.lp, dv.mean, dv.z, da_cols(dev[k], kinds))[0]["avg"]
    d8 = {k: np.abs(dev[k] - dev["unfused_int8"]) for k in ("fused_int8", "mha_int8")}
    keys = [m for m in met["fused_int8"] if isinstance(met["fused_int8"][m], float)]
    keys = [m for m in met["fused_int8"] if isinstance(met["fused_int8"][m], float)]
    out = {"ms_per_pair_median_of_rounds": med, "rounds": rounds, "pairs": len(lat),
           "speedup_over_unfused": {f"{v}_{p}@{b}": med[f"unfused_{p}@{b}"] / med[f"{v}_{p}@{b}"]
                                    for b in rows for p in ("int8", "fp32")
                                    for v in ("fused", "mha")},
           "fp32_vs_unfused_maxabs": d32, "fusions": fusions,
           "int8_dev_scores_vs_unfused": {k: {"maxabs": float(v.max()), "meanabs": float(v.mean())}
                                          for k, v in d8.items()},
           "dev_int8": {k: {m: v[m] for m in keys} for k, v in met.items()},
           "dev_int8_max_absdiff_vs_unfused": {
               k: max(abs(met[k][m] - met["unfused_int8"][m]) for m in keys)
               for k in ("fused_int8", "mha_int8")}}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

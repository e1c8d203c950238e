"""How close a shipped int8 model scores to the fp32 export of the same weights, and how much of
the difference is measurement noise.

The bar "dev metrics within 0.003 of fp32" compares two noisy statistics: F1 at a threshold
re-chosen on dev (the max of a curve over ~1,000 pairs per language pair) moves by several
thousandths when a few pairs change side. So besides the metric differences this reports their
paired bootstrap spread (dev pairs resampled within each language pair, the same resample for
both models, thresholds re-chosen on each resample), and two direct measures of fidelity that do
not go through a threshold search: the correlation of the int8 z output with the fp32 one, and
the share of dev pairs on which the two models (each at its own dev thresholds) decide alike.

The fp32 scores come from `ship`, which saves them next to its fp32 export
(<work dir>/ship/<model dir name>/dev_scores_fp32.npy); the int8 scores are recomputed at
batch 1, as the gate scores.
"""
import json
import os

import numpy as np

from . import workdir

METRICS = ("pearson", "da51_f1", "da70_f1")


def default_fp32_scores(model_dir):
    """Where ship saved the fp32 export's dev scores for model_dir."""
    return workdir.path("ship", os.path.basename(os.path.normpath(model_dir)),
                        "dev_scores_fp32.npy")


def compare(dv, kinds, s_int8, s_fp32, boot=300, seed=0):
    """Metric differences int8 - fp32 on dev with their paired bootstrap sd and 95% interval,
    z-output correlation and decision agreement. dv: data.load("dev"); kinds: output names."""
    from .metrics import evaluate, pearson
    from .ship import da_cols
    lp, mean, z = np.asarray(dv.lp), np.asarray(dv.mean), np.asarray(dv.z)

    def metrics(s, idx):
        r, thr = evaluate(lp[idx], mean[idx], z[idx], da_cols(s[idx], kinds))
        return np.array([r["avg"][k] for k in METRICS]), thr

    full = np.arange(len(lp))
    m_q, thr_q = metrics(s_int8, full)
    m_f, thr_f = metrics(s_fp32, full)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(lp == p) for p in np.unique(lp)]
    diffs = []
    for _ in range(boot):
        idx = np.concatenate([rng.choice(g, len(g)) for g in groups])
        diffs.append(metrics(s_int8, idx)[0] - metrics(s_fp32, idx)[0])
    d = np.array(diffs)
    c_q, c_f = da_cols(s_int8, kinds), da_cols(s_fp32, kinds)
    agree = {}
    for k in ("da51", "da70"):
        if k in c_q:
            dq = c_q[k] >= np.array([thr_q[k][p] for p in lp])
            df = c_f[k] >= np.array([thr_f[k][p] for p in lp])
            agree[k] = float((dq == df).mean())
    return {
        "int8": dict(zip(METRICS, map(float, m_q))),
        "fp32": dict(zip(METRICS, map(float, m_f))),
        "diff": dict(zip(METRICS, map(float, m_q - m_f))),
        "diff_bootstrap_sd": dict(zip(METRICS, map(float, d.std(0)))),
        "diff_bootstrap_95": {k: [float(np.percentile(d[:, j], 2.5)),
                                  float(np.percentile(d[:, j], 97.5))]
                              for j, k in enumerate(METRICS)},
        "bootstrap": {"resamples": boot, "seed": seed, "within": "language pair"},
        "z_correlation": float(pearson(c_q["z"], c_f["z"])),
        "raw_mean_abs_diff": [float(x) for x in np.abs(s_int8 - s_fp32).mean(0)],
        "decision_agreement": agree,
    }


def fidelity(model_dir, fp32_scores=None, boot=300, write=True, log=print):
    """Compare model_dir's int8 model with its fp32 export on dev (see the module doc); records
    the result as metrics.fp32_fidelity in model.json when write."""
    from .export import ort_scores, ort_session
    from .ship import dev_seqs
    fp32_scores = fp32_scores or default_fp32_scores(model_dir)
    if not os.path.exists(fp32_scores):
        raise FileNotFoundError(f"{fp32_scores}: no fp32 dev scores (ship saves them)")
    mj = os.path.join(model_dir, "model.json")
    doc = json.load(open(mj, encoding="utf-8"))
    kinds = [o["name"] for o in sorted(doc["outputs"], key=lambda o: o["index"])]
    dv, seqs = dev_seqs(model_dir, doc.get("max_len", 128))
    s_f = np.load(fp32_scores)
    if s_f.shape != (len(seqs), len(kinds)):
        raise ValueError(f"{fp32_scores}: shape {s_f.shape}, want {(len(seqs), len(kinds))}")
    s_q = ort_scores(ort_session(os.path.join(model_dir, "model.onnx"), threads=2), seqs, batch=1)
    res = compare(dv, kinds, s_q, s_f, boot=boot)
    res["command"] = f"qegate-train fidelity --model <dir> --boot {boot}"
    log("fp32 fidelity: " + json.dumps({k: res[k] for k in ("diff", "diff_bootstrap_sd",
                                                            "z_correlation",
                                                            "decision_agreement")}))
    if write:
        doc.setdefault("metrics", {})["fp32_fidelity"] = res
        tmp = mj + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, mj)
    return res

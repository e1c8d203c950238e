"""`qegate-train glassbox`: stack the shipped model's outputs with the MT system's own score.

MLQE-PE's `model_scores` column is the NMT system's sentence log-probability (a glass-box
feature). Per language pair (plus a pooled fallback) this fits, on the TRAIN split,
  P(DA >= 51), P(DA >= 70): logistic regression on [z, logit51, logit70, mt]
  z:                        ridge regression on the same features
where z/logit51/logit70 are the raw ONNX columns of the shipped int8 model scored one pair per
run (batch 1, as the gate scores) and mt is model_scores standardised with the pair's train
mean/std. Regularisation and the decision thresholds are chosen on DEV (max-F1 of the
acceptable class, as `calibrate` does). The same fit without mt is reported alongside, so the
gain of the MT score is separated from the gain of stacking itself.

The result is the optional "glassbox" block of model.json (docs/ARCHITECTURE.md) that the Go
scorer applies only to pairs that carry an MT score:

  {"feature": "mt_score", "inputs": ["z", "da51", "da70"],   # raw ONNX columns, by output name
   "pairs": {"en-de": {"mt_mean": m, "mt_std": s,
                       "outputs": {"da51": {"weights": [w_z, w_51, w_70, w_mt], "bias": b,
                                            "threshold": t}, ...}}, ...},
   "default": {...same shape, pooled fit...}}

  value = bias + sum(weights[i] * x[i]),  x = raw inputs + [(mt_score - mt_mean) / mt_std]
  then the output's own transform (sigmoid for classification, identity for regression).

Scores are cached in <work dir>/glassbox/ (scores_<model.onnx sha256 prefix>_<split>.npy), so
refits are quick."""
import csv
import json
import os
import time

import numpy as np

from . import data, workdir
from .data import PAIRS
from .metrics import best_threshold, pearson, prf, sigmoid

C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)   # inverse L2 strength, logistic regression
ALPHA_GRID = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)  # ridge strength, z
DA = {"da51": 51, "da70": 70}


def read_mt_scores(split, pairs=None, root=None):
    """The model_scores column (MT log-probability) of a split, in data.load order."""
    root = root or data.data_root()
    out = []
    for lp in pairs or PAIRS:
        with open(os.path.join(root, split, f"{lp}.tsv"), encoding="utf-8", newline="") as f:
            r = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            col = next(r).index("model_scores")
            out += [float(row[col]) for row in r]
    return np.array(out, np.float64)


def raw_scores(model_dir, split, log=print, threads=1):
    """Raw ONNX columns [N, K] of the model on a split, batch 1; cached in the work dir."""
    from tokenizers import Tokenizer

    from .encode import encode_pairs
    from .export import ort_scores, ort_session
    import hashlib
    cache = workdir.path("glassbox", create=True)
    # keyed by the model's bytes: a retrained model in the same directory is rescored
    with open(os.path.join(model_dir, "model.onnx"), "rb") as f:
        tag = hashlib.sha256(f.read()).hexdigest()[:12]
    path = os.path.join(cache, f"scores_{tag}_{split}.npy")
    if os.path.exists(path):
        return np.load(path)
    with open(os.path.join(model_dir, "model.json")) as f:
        max_len = json.load(f).get("max_len", 128)
    sp = data.load(split)
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    seqs = encode_pairs(tok, sp.src, sp.mt, max_len)
    t0 = time.time()
    sess = ort_session(os.path.join(model_dir, "model.onnx"), threads=threads)
    s = ort_scores(sess, seqs, batch=1).astype(np.float32)
    log(f"scored {split}: {len(seqs)} pairs at batch 1 in {time.time() - t0:.0f}s")
    np.save(path + ".tmp.npy", s)
    os.replace(path + ".tmp.npy", path)
    return s


def _cols(doc):
    """Raw column index of each output name (z, da51, da70) from model.json."""
    return {o["name"]: o["index"] for o in doc["outputs"]}


def features(raw, mt, mt_mean, mt_std, inputs, cols, with_mt=True):
    x = [raw[:, cols[n]].astype(np.float64) for n in inputs]
    if with_mt:
        x.append((np.asarray(mt, np.float64) - mt_mean) / mt_std)
    return np.stack(x, 1)


def apply_block(block, raw_row, mt, inputs, cols, kinds):
    """What the Go scorer computes for one pair: {output name: transformed value}."""
    x = [float(raw_row[cols[n]]) for n in inputs] + [(mt - block["mt_mean"]) / block["mt_std"]]
    out = {}
    for name, o in block["outputs"].items():
        v = o["bias"] + sum(w * xi for w, xi in zip(o["weights"], x))
        out[name] = float(sigmoid(v)) if kinds[name] == "classification" else float(v)
    return out


def _fit_cls(xtr, ytr, xdv, ydv):
    from sklearn.linear_model import LogisticRegression
    best = None
    for c in C_GRID:
        m = LogisticRegression(C=c, max_iter=1000).fit(xtr, ytr)
        p = m.predict_proba(xdv)[:, 1]
        th = best_threshold(p, ydv)
        f1 = prf(ydv, (p >= th).astype(int))["f1"]
        if best is None or f1 > best[0] + 1e-12:
            best = (f1, c, m, th, p)
    f1, c, m, th, p = best
    return {"weights": [float(w) for w in m.coef_[0]], "bias": float(m.intercept_[0]),
            "threshold": float(th), "C": c}, p


def _fit_reg(xtr, ytr, xdv, ydv):
    from sklearn.linear_model import Ridge
    best = None
    for a in ALPHA_GRID:
        m = Ridge(alpha=a).fit(xtr, ytr)
        p = m.predict(xdv)
        r = pearson(p, ydv)
        if best is None or r > best[0] + 1e-12:
            best = (r, a, m, p)
    r, a, m, p = best
    return {"weights": [float(w) for w in m.coef_], "bias": float(m.intercept_),
            "threshold": 0.0, "alpha": a}, p


def _metrics(mean, z, pred):
    """F1 of the acceptable class at the dev-optimal threshold, and Pearson."""
    r = {}
    for name, t in DA.items():
        y = (mean >= t).astype(int)
        th = best_threshold(pred[name], y)
        r[f"{name}_f1"] = prf(y, (pred[name] >= th).astype(int))["f1"]
    r["pearson"] = pearson(pred["z"], z)
    return r


def _fit_block(raw_tr, mt_tr, tr, raw_dv, mt_dv, dv, inputs, cols, with_mt):
    mu, sd = float(np.mean(mt_tr)), float(np.std(mt_tr) or 1.0)
    xtr = features(raw_tr, mt_tr, mu, sd, inputs, cols, with_mt)
    xdv = features(raw_dv, mt_dv, mu, sd, inputs, cols, with_mt)
    outs, pred = {}, {}
    for name, t in DA.items():
        outs[name], pred[name] = _fit_cls(xtr, (tr.mean >= t).astype(int), xdv,
                                          (dv.mean >= t).astype(int))
    outs["z"], pred["z"] = _fit_reg(xtr, tr.z.astype(np.float64), xdv, dv.z.astype(np.float64))
    return {"mt_mean": mu, "mt_std": sd, "outputs": outs}, pred


def fit(model_dir="models/default", log=print, threads=1):
    """Fit with and without mt, per pair and pooled. Returns (glassbox block, report)."""
    with open(os.path.join(model_dir, "model.json")) as f:
        doc = json.load(f)
    cols = _cols(doc)
    inputs = [n for n in ("z", "da51", "da70") if n in cols]
    tr, dv = data.load("train"), data.load("dev")
    mt_tr, mt_dv = read_mt_scores("train"), read_mt_scores("dev")
    if len(mt_tr) != len(tr) or len(mt_dv) != len(dv):
        raise ValueError("glassbox: model_scores column does not line up with the split")
    raw_tr, raw_dv = raw_scores(model_dir, "train", log, threads), raw_scores(model_dir, "dev", log, threads)
    lp_tr, lp_dv = np.array(tr.lp), np.array(dv.lp)
    block = {"feature": "mt_score", "inputs": inputs, "pairs": {}}
    report = {"per_pair": {}, "avg": {}}
    pooled = {}
    for with_mt in (False, True):
        b, p = _fit_block(raw_tr, mt_tr, tr, raw_dv, mt_dv, dv, inputs, cols, with_mt)
        pooled[with_mt] = (b, p)
    block["default"] = pooled[True][0]
    report["pooled_hyper"] = {n: o.pop("C", None) or o.pop("alpha", None)
                              for n, o in block["default"]["outputs"].items()}
    for lp in PAIRS:
        mtr, mdv = lp_tr == lp, lp_dv == lp
        if not mdv.any():
            continue
        sub_tr, sub_dv = tr.subset(np.nonzero(mtr)[0]), dv.subset(np.nonzero(mdv)[0])
        base = {"da51": sigmoid(raw_dv[mdv, cols["da51"]]), "da70": sigmoid(raw_dv[mdv, cols["da70"]]),
                "z": raw_dv[mdv, cols["z"]]}
        row = {"model": _metrics(sub_dv.mean, sub_dv.z, base)}
        for with_mt, key in ((False, "stack"), (True, "stack_mt")):
            b, p = _fit_block(raw_tr[mtr], mt_tr[mtr], sub_tr, raw_dv[mdv], mt_dv[mdv], sub_dv,
                              inputs, cols, with_mt)
            row[key] = _metrics(sub_dv.mean, sub_dv.z, p)
            if with_mt:
                # the chosen C / alpha go to the report, not to model.json's contract
                row["hyper"] = {n: o.pop("C", None) or o.pop("alpha", None)
                                for n, o in b["outputs"].items()}
                block["pairs"][lp] = b
        pp = {k: np.asarray(v)[mdv] for k, v in pooled[True][1].items()}
        row["pooled_mt"] = _metrics(sub_dv.mean, sub_dv.z, pp)
        ho = _heldout_pair(raw_tr[mtr], mt_tr[mtr], sub_tr, raw_dv[mdv], mt_dv[mdv], sub_dv,
                           inputs, cols)
        row["heldout_model"], row["heldout_stack_mt"] = ho["model"], ho["stack_mt"]
        report["per_pair"][lp] = row
    for key in ("model", "stack", "stack_mt", "pooled_mt", "heldout_model", "heldout_stack_mt"):
        report["avg"][key] = {m: float(np.mean([r[key][m] for r in report["per_pair"].values()]))
                              for m in ("da51_f1", "da70_f1", "pearson")}
    return block, report, (raw_dv, mt_dv, dv, cols, inputs, doc)


def _heldout_pair(raw_tr, mt_tr, tr, raw_dv, mt_dv, dv, inputs, cols):
    """Honest check on one pair's dev set: 2 folds (even/odd rows); regularisation and
    thresholds are chosen on one fold and F1/Pearson measured on the other, averaged. Returns
    {"model": ..., "stack_mt": ...}: the shipped model with per-fold thresholds, and the fit."""
    n = len(dv)
    folds = [np.arange(0, n, 2), np.arange(1, n, 2)]
    res = {"model": [], "stack_mt": []}
    for k in (0, 1):
        sel, ev = folds[k], folds[1 - k]
        d_sel, d_ev = dv.subset(sel), dv.subset(ev)
        b, _ = _fit_block(raw_tr, mt_tr, tr, raw_dv[sel], mt_dv[sel], d_sel, inputs, cols, True)
        kinds = {"da51": "classification", "da70": "classification", "z": "regression"}
        preds = {}
        for name, idx in (("sel", sel), ("ev", ev)):
            rows = [apply_block(b, raw_dv[i], float(mt_dv[i]), inputs, cols, kinds) for i in idx]
            preds[name] = {o: np.array([r[o] for r in rows]) for o in ("da51", "da70", "z")}
        base = {name: {"da51": sigmoid(raw_dv[idx, cols["da51"]]),
                       "da70": sigmoid(raw_dv[idx, cols["da70"]]), "z": raw_dv[idx, cols["z"]]}
                for name, idx in (("sel", sel), ("ev", ev))}
        for key, p in (("model", base), ("stack_mt", preds)):
            r = {}
            for o, t in DA.items():
                th = best_threshold(p["sel"][o], (d_sel.mean >= t).astype(int))
                y = (d_ev.mean >= t).astype(int)
                r[f"{o}_f1"] = prf(y, (p["ev"][o] >= th).astype(int))["f1"]
            r["pearson"] = pearson(p["ev"]["z"], d_ev.z)
            res[key].append(r)
    return {key: {m: float(np.mean([r[m] for r in v])) for m in v[0]} for key, v in res.items()}


def reference_rows(block, raw_dv, mt_dv, dv, cols, inputs, doc, per_pair=3):
    """A few dev rows per pair with what the Go scorer must output for them (glassbox applied)."""
    kinds = {o["name"]: o["kind"] for o in doc["outputs"]}
    lp = np.array(dv.lp)
    rows = []
    for p in PAIRS:
        for i in np.nonzero(lp == p)[0][:per_pair]:
            b = block["pairs"].get(p, block["default"])
            rows.append({"src": dv.src[i], "mt": dv.mt[i], "lp": p, "mt_score": float(mt_dv[i]),
                         "raw": [float(v) for v in raw_dv[i]],
                         "glassbox": apply_block(b, raw_dv[i], float(mt_dv[i]), inputs, cols, kinds)})
    return rows


def markdown(report):
    """The docs/compression.md table: dev F1@51, F1@70, Pearson without and with mt_score."""
    head = ("| pair | F1@51 model | F1@51 stack | F1@51 +mt | F1@70 model | F1@70 stack | F1@70 +mt "
            "| Pearson model | Pearson stack | Pearson +mt | Pearson +mt pooled |\n" + "|---" * 11 + "|\n")
    lines = []
    for p, r in list(report["per_pair"].items()) + [("**avg**", report["avg"])]:
        lines.append(f"| {p} | " + " | ".join(
            f"{r[k][m]:.3f}" for m in ("da51_f1",) for k in ("model", "stack", "stack_mt")) + " | " +
            " | ".join(f"{r[k]['da70_f1']:.3f}" for k in ("model", "stack", "stack_mt")) + " | " +
            " | ".join(f"{r[k]['pearson']:.3f}" for k in ("model", "stack", "stack_mt", "pooled_mt")) +
            " |")
    ho = ("\nDev 2-fold (regularisation and thresholds chosen on one half of each pair's dev "
          "set, measured on the other, averaged):\n\n"
          "| pair | F1@51 model | F1@51 +mt | F1@70 model | F1@70 +mt | Pearson model | Pearson +mt |\n"
          + "|---" * 7 + "|\n")
    for p, r in list(report["per_pair"].items()) + [("**avg**", report["avg"])]:
        ho += f"| {p} | " + " | ".join(
            f"{r[k][m]:.3f}" for m in ("da51_f1", "da70_f1", "pearson")
            for k in ("heldout_model", "heldout_stack_mt")) + " |\n"
    return head + "\n".join(lines) + "\n" + ho


def run(model_dir="models/default", write=False, reference=None, log=print, threads=1):
    """The subcommand: fit, report, optionally write model.json's glassbox block and the Go
    parity reference rows."""
    block, report, ctx = fit(model_dir, log=log, threads=threads)
    out = workdir.path("glassbox", create=True)
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump({"report": report, "glassbox": block}, f, indent=1)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(markdown(report))
    log(markdown(report))
    if write:
        path = os.path.join(model_dir, "model.json")
        with open(path) as f:
            doc = json.load(f)
        doc["glassbox"] = block
        doc.setdefault("metrics", {})["glassbox_dev"] = report["avg"]
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, path)
        log(f"wrote the glassbox block into {path}")
    if reference:
        rows = reference_rows(block, *ctx)
        with open(reference, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        log(f"wrote {len(rows)} reference rows to {reference}")
    return block, report

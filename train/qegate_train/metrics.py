"""Dev metrics: Pearson/Spearman vs z_mean; F1 of the acceptable class (with per-pair thresholds
chosen on dev to maximise it), macro-F1, precision, recall."""
import numpy as np


def pearson(a, b):
    a = np.asarray(a, np.float64) - np.mean(a)
    b = np.asarray(b, np.float64) - np.mean(b)
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def _rank(x):
    """Average ranks (ties share their mean rank), like scipy.stats.rankdata."""
    x = np.asarray(x)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), np.float64)
    xs = x[order]
    i = 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    return ranks


def spearman(a, b):
    return pearson(_rank(a), _rank(b))

from .data import PAIRS


def prf(y, pred):
    tp = float(np.sum((pred == 1) & (y == 1)))
    fp = float(np.sum((pred == 1) & (y == 0)))
    fn = float(np.sum((pred == 0) & (y == 1)))
    tn = float(np.sum((pred == 0) & (y == 0)))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    p0 = tn / (tn + fn) if tn + fn else 0.0
    r0 = tn / (tn + fp) if tn + fp else 0.0
    f0 = 2 * p0 * r0 / (p0 + r0) if p0 + r0 else 0.0
    return {"f1": f, "precision": p, "recall": r, "macro_f1": (f + f0) / 2}


def best_threshold(score, y):
    """Threshold on score maximising F1 of the acceptable (y=1) class; midpoint between scores."""
    # vectorised F1 over candidates via sorting
    order = np.argsort(-score)
    ss, yy = score[order], y[order]
    tp = np.cumsum(yy); k = np.arange(1, len(yy) + 1)
    pos = yy.sum()
    f1 = 2 * tp / (k + pos)
    # predicting positive for the top-k; only valid where score strictly drops after k
    valid = np.concatenate([ss[1:] < ss[:-1], [True]])
    f1 = np.where(valid, f1, -1)
    i = int(np.argmax(f1))
    thr = (ss[i] + ss[i + 1]) / 2 if i + 1 < len(ss) else ss[i] - 1e-6
    return float(thr)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def evaluate(lp, mean, z, cols, thresholds=None):
    """cols: dict name -> dev scores (z: regression value; da51/da70: probability).
    thresholds: optional fixed per-pair thresholds {name: {lp: t}}; otherwise chosen on dev.
    Returns (metrics, thresholds). Classification metrics are computed for every classifier
    column and for the regression column thresholded (name 'z@51', 'z@70')."""
    lp = np.asarray(lp)
    res = {"per_pair": {}, "avg": {}}
    chosen = {}
    tasks = []
    for name in cols:
        if name == "z":
            tasks += [("z@51", "z", 51), ("z@70", "z", 70)]
        else:
            tasks.append((name, name, int(name[2:])))
    for p in PAIRS:
        m = lp == p
        if not m.any():
            continue
        r = {}
        if "z" in cols:
            r["pearson"] = pearson(cols["z"][m], z[m])
            r["spearman"] = spearman(cols["z"][m], z[m])
        for key, col, t in tasks:
            y = (mean[m] >= t).astype(int)
            sc = cols[col][m]
            if thresholds and key in thresholds and p in thresholds[key]:
                th = thresholds[key][p]
            else:
                th = best_threshold(sc, y)
            chosen.setdefault(key, {})[p] = th
            for k, v in prf(y, (sc >= th).astype(int)).items():
                r[f"{key}_{k}"] = v
        res["per_pair"][p] = r
    keys = next(iter(res["per_pair"].values())).keys()
    res["avg"] = {k: float(np.mean([res["per_pair"][p][k] for p in res["per_pair"]])) for k in keys}
    return res, chosen


def cols_from_scores(scores, kinds):
    out = {}
    for i, k in enumerate(kinds):
        out[k] = scores[:, i] if k == "z" else sigmoid(scores[:, i])
    return out


def mcc(y, pred):
    """Matthews correlation of binary labels and predictions (0 when undefined)."""
    y, pred = np.asarray(y).astype(bool), np.asarray(pred).astype(bool)
    tp = float(np.sum(pred & y)); tn = float(np.sum(~pred & ~y))
    fp = float(np.sum(pred & ~y)); fn = float(np.sum(~pred & y))
    den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return float((tp * tn - fp * fn) / den) if den else 0.0


def best_mcc_threshold(score, y):
    """(threshold, MCC): the cut on score maximising MCC of the positive (critical) class."""
    order = np.argsort(-score)
    ss, yy = np.asarray(score)[order], np.asarray(y)[order].astype(np.float64)
    n, pos = len(yy), yy.sum()
    tp = np.cumsum(yy); k = np.arange(1, n + 1)
    fp = k - tp; fn = pos - tp; tn = n - pos - fp
    den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    m = np.where(den > 0, (tp * tn - fp * fn) / np.where(den > 0, den, 1), 0.0)
    valid = np.concatenate([ss[1:] < ss[:-1], [True]])
    m = np.where(valid, m, -2)
    i = int(np.argmax(m))
    thr = (ss[i] + ss[i + 1]) / 2 if i + 1 < n else ss[i] - 1e-6
    return float(thr), float(m[i])


def evaluate_ced(lp, err, prob, thresholds=None):
    """MCC per CED pair of the critical probability, thresholds chosen on these rows by MCC
    unless given; plus the pooled threshold (for pairs without CED data). Returns
    (metrics {lp: mcc, "avg": mean}, thresholds {lp: t, "_default": t})."""
    lp, err, prob = np.asarray(lp), np.asarray(err), np.asarray(prob)
    res, thr = {}, {}
    for p in sorted(set(lp.tolist())):
        m = lp == p
        if thresholds and p in thresholds:
            thr[p] = thresholds[p]
            res[p] = mcc(err[m], prob[m] >= thr[p])
        else:
            thr[p], res[p] = best_mcc_threshold(prob[m], err[m])
    thr["_default"] = (thresholds or {}).get("_default") or best_mcc_threshold(prob, err)[0]
    res["avg"] = float(np.mean([res[p] for p in res]))
    return res, thr


def cap_critical_thresholds(thr, lp, good, prob, max_flagged=0.01):
    """Raise critical thresholds so that at most `max_flagged` of the good pairs (e.g. DA >= 70)
    of each language pair are flagged; pairs without CED data get their cap as threshold, and
    "_default" is raised to the pooled cap. Why: the critical head is trained on CED rows
    (toxic Wikipedia comments) and synthetic failures only; on ordinary good translations its
    probability runs high (median 0.4-0.8 on MLQE-PE DA dev), so MCC-best thresholds alone would
    send most good translations to post-editing. Returns a new dict (lp -> threshold)."""
    lp, good, prob = np.asarray(lp), np.asarray(good, bool), np.asarray(prob, np.float64)

    def cap(p):
        p = np.sort(p)[::-1]
        k = int(np.floor(max_flagged * len(p)))   # may flag the k highest
        if k >= len(p):
            return float(p[-1])
        # a cut between the k-th and (k+1)-th highest flags exactly k (ties: fewer)
        return float((p[k] + p[k - 1]) / 2) if k > 0 else float(np.nextafter(p[0], np.inf))

    out = dict(thr)
    for q in sorted(set(lp[good].tolist())):
        c = cap(prob[good & (lp == q)])
        out[q] = max(out.get(q, c), c)
    if good.any():
        out["_default"] = max(out.get("_default", 0.0), cap(prob[good]))
    return out

"""Generate metrics_fixture.json: reference metric values from scipy / scikit-learn.

The Go metrics in internal/evaluate are checked against this file (metrics_test.go,
tolerance 1e-9), so they agree with an independent implementation.

Run from the repository root (train/.venv has scipy and scikit-learn):

    train/.venv/bin/python internal/evaluate/testdata/gen_fixture.py

The rows are synthetic (seeded random numbers, rounded so that ties occur); no
MLQE-PE data is used. Undefined values (NaN) are written as JSON null.
"""

import json
import math
import os
import warnings

import numpy as np
import scipy
import sklearn
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import f1_score, matthews_corrcoef, precision_score, recall_score

warnings.filterwarnings("ignore")  # zero-division and constant-input warnings are the point of some cases


def num(x):
    x = float(x)
    return None if math.isnan(x) else x


def case(name, pred, gold, da, threshold, da_threshold=51.0):
    pred = np.asarray(pred, dtype=np.float64)
    gold = np.asarray(gold, dtype=np.float64)
    da = np.asarray(da, dtype=np.float64)
    y_true = (da >= da_threshold).astype(int)
    y_pred = (pred >= threshold).astype(int)
    zd = dict(zero_division=0)
    return {
        "name": name,
        "pred": pred.tolist(),
        "gold": gold.tolist(),
        "da": da.tolist(),
        "threshold": threshold,
        "da_threshold": da_threshold,
        "pearson": num(pearsonr(pred, gold)[0]) if len(pred) >= 2 else None,
        "spearman": num(spearmanr(pred, gold)[0]) if len(pred) >= 2 else None,
        "f1": float(f1_score(y_true, y_pred, pos_label=1, **zd)),
        "precision": float(precision_score(y_true, y_pred, pos_label=1, **zd)),
        "recall": float(recall_score(y_true, y_pred, pos_label=1, **zd)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=[0, 1], **zd)),
        "mcc": float(matthews_corrcoef(y_true, y_pred)),
    }


def main():
    rng = np.random.default_rng(20260511)
    cases = []

    # Main case: 400 rows, correlated prediction and gold, heavy ties on both sides.
    n = 400
    z = rng.normal(0, 1, n)
    gold = np.round(z, 1)  # ties in gold
    pred = np.round(1 / (1 + np.exp(-(0.8 * z + rng.normal(0, 0.7, n)))), 2)  # ties in prediction
    da = np.clip(np.round(60 + 18 * z + rng.normal(0, 8, n)), 0, 100)  # integer DA, ties
    cases.append(case("main_da51", pred, gold, da, 0.5, 51))
    cases.append(case("main_da70", pred, gold, da, 0.62, 70))

    # A second, weakly correlated and imbalanced set (few acceptable rows).
    n = 250
    z = rng.normal(-0.8, 1, n)
    gold = np.round(z, 2)
    pred = np.round(0.3 * z + rng.normal(0, 1, n), 1)
    da = np.clip(np.round(35 + 15 * z + rng.normal(0, 10, n)), 0, 100)
    cases.append(case("imbalanced", pred, gold, da, 0.0, 51))

    # Negative correlation.
    n = 120
    g = np.round(rng.uniform(-2, 2, n), 1)
    p = np.round(-g + rng.normal(0, 0.5, n), 1)
    d = np.round(rng.uniform(0, 100, n))
    cases.append(case("negative", p, g, d, 0.0, 51))

    # Edge cases.
    n = 50
    g = np.round(rng.normal(0, 1, n), 1)
    d = np.round(rng.uniform(0, 100, n))
    cases.append(case("constant_prediction", np.full(n, 0.7), g, d, 0.5, 51))  # all predicted acceptable
    cases.append(case("constant_prediction_below", np.full(n, 0.2), g, d, 0.5, 51))  # nothing predicted acceptable
    cases.append(case("constant_gold", np.round(rng.uniform(0, 1, n), 2), np.full(n, 0.3), d, 0.5, 51))
    cases.append(case("no_positives", np.round(rng.uniform(0, 1, n), 2), g, np.round(rng.uniform(0, 50, n)), 0.5, 51))
    cases.append(case("all_positive_all_predicted", np.round(rng.uniform(0.6, 1, n), 2), g, np.round(rng.uniform(80, 100, n)), 0.5, 51))
    cases.append(case("perfect", np.arange(n) / n, np.arange(n) * 2.0, np.where(np.arange(n) >= 25, 90.0, 10.0), 0.5, 51))

    out = {
        "generator": "internal/evaluate/testdata/gen_fixture.py",
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics_fixture.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {path}: {len(cases)} cases")


if __name__ == "__main__":
    main()

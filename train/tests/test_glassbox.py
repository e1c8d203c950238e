"""The glass-box stacking layer: what Go applies (apply_block) equals the fitted models, the MT
score is used when it carries signal; early stopping and the probe baseline of long runs."""
import numpy as np
import pytest

from qegate_train import glassbox, train
from qegate_train.data import Split
from qegate_train.metrics import sigmoid

COLS = {"z": 0, "da51": 1, "da70": 2}
KINDS = {"da51": "classification", "da70": "classification", "z": "regression"}
INPUTS = ["z", "da51", "da70"]


def synthetic(n, seed):
    """Raw model columns that see half of the quality, an MT log-prob that sees the other half."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    z = (a + b) / np.sqrt(2)
    mean = 55 + 20 * z
    raw = np.stack([a + 0.3 * rng.normal(size=n), a + 0.3 * rng.normal(size=n),
                    a - 1 + 0.3 * rng.normal(size=n)], 1).astype(np.float32)
    mt = -1.0 + 0.4 * b + 0.05 * rng.normal(size=n)
    sp = Split(["s"] * n, ["m"] * n, ["en-de"] * n, mean.astype(np.float32), z.astype(np.float32))
    return raw, mt, sp


@pytest.fixture(scope="module")
def fitted():
    raw_tr, mt_tr, tr = synthetic(3000, 0)
    raw_dv, mt_dv, dv = synthetic(1000, 1)
    out = {}
    for with_mt in (False, True):
        out[with_mt] = glassbox._fit_block(raw_tr, mt_tr, tr, raw_dv, mt_dv, dv, INPUTS, COLS,
                                           with_mt)
    return out, (raw_dv, mt_dv, dv)


def test_apply_block_matches_the_fit(fitted):
    """apply_block (the formula the Go scorer implements) reproduces the fitted predictions."""
    block, pred = fitted[0][True]
    raw_dv, mt_dv, _ = fitted[1]
    for i in range(0, 1000, 97):
        got = glassbox.apply_block(block, raw_dv[i], mt_dv[i], INPUTS, COLS, KINDS)
        for name in ("da51", "da70", "z"):
            assert got[name] == pytest.approx(float(pred[name][i]), abs=1e-9)


def test_mt_score_helps_when_informative(fitted):
    res, (raw_dv, mt_dv, dv) = fitted
    without = glassbox._metrics(dv.mean, dv.z, res[False][1])
    with_mt = glassbox._metrics(dv.mean, dv.z, res[True][1])
    assert with_mt["pearson"] > without["pearson"] + 0.1
    assert with_mt["da51_f1"] > without["da51_f1"]
    # standardisation uses train statistics and weights cover inputs + mt
    b = res[True][0]
    assert b["mt_std"] == pytest.approx(0.4, rel=0.1)
    assert all(len(o["weights"]) == len(INPUTS) + 1 for o in b["outputs"].values())
    assert 0.0 < b["outputs"]["da51"]["threshold"] < 1.0


def test_stack_without_mt_has_no_mt_weight(fitted):
    b = fitted[0][False][0]
    assert all(len(o["weights"]) == len(INPUTS) for o in b["outputs"].values())


def test_model_baseline_metrics_are_the_raw_model():
    raw, _, sp = synthetic(500, 2)
    base = {"da51": sigmoid(raw[:, 1]), "da70": sigmoid(raw[:, 2]), "z": raw[:, 0]}
    m = glassbox._metrics(sp.mean, sp.z, base)
    assert 0.3 < m["pearson"] < 0.9


@pytest.mark.parametrize("sels,patience,stop", [
    ([0.5, 0.6, 0.55, 0.58], 2, True),
    ([0.5, 0.6, 0.55, 0.61], 2, False),
    ([0.5, 0.6, 0.55], 2, False),
    ([0.5, 0.4, 0.3], 0, False),
    ([0.5, 0.5], 1, True),
])
def test_early_stop(sels, patience, stop):
    hist = [{"sel": s} for s in sels]
    assert train._early_stop(hist, patience) is stop


def test_prior_probe_loss_is_the_constant_predictor_loss():
    from qegate_train.longrun import prior_probe_loss
    y_tr = np.array([[0.0, 1, 0], [1.0, 1, 1], [-1.0, 0, 0], [0.0, 1, 0]], np.float32)
    y_dv = np.array([[0.5, 1, 1], [-0.5, 0, 0]], np.float32)
    mse = (0.25 + 0.25) / 2
    bce51 = -(np.log(0.75) + np.log(0.25)) / 2
    bce70 = -(np.log(0.25) + np.log(0.75)) / 2
    got = prior_probe_loss({"y": y_tr}, {"y": y_dv, "ids": np.zeros((2, 4))}, 2)
    assert got == pytest.approx(mse + bce51 + bce70)

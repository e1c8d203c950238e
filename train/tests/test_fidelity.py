"""fidelity compares int8 with fp32 dev scores: metric differences, their paired bootstrap
spread, z correlation and decision agreement. Synthetic dev data; no model, no download."""
from types import SimpleNamespace

import numpy as np
import pytest

from qegate_train import fidelity
from qegate_train.metrics import evaluate
from qegate_train.ship import da_cols

KINDS = ["z", "da51", "da70", "hter", "critical"]


def synthetic_dev(n_per_pair=200, seed=0):
    rng = np.random.default_rng(seed)
    lps = ["en-de", "ro-en"]
    mean = rng.uniform(0, 100, n_per_pair * len(lps))
    z = (mean - 60) / 20
    dv = SimpleNamespace(lp=np.repeat(lps, n_per_pair), mean=mean, z=z)
    # an fp32 model that tracks the labels with noise: z output, logits for >=51, >=70
    noise = rng.normal(0, 0.6, (len(mean), len(KINDS)))
    s = np.stack([z, (mean - 51) / 15, (mean - 70) / 15, -z, -z], 1) + noise
    return dv, s.astype(np.float32)


def test_identical_scores_are_perfectly_faithful():
    dv, s = synthetic_dev()
    r = fidelity.compare(dv, KINDS, s, s.copy(), boot=20)
    assert all(v == 0 for v in r["diff"].values())
    assert all(v == 0 for v in r["diff_bootstrap_sd"].values())
    assert r["decision_agreement"] == {"da51": 1.0, "da70": 1.0}
    assert r["z_correlation"] == pytest.approx(1.0)
    assert r["raw_mean_abs_diff"] == [0.0] * len(KINDS)


def test_perturbed_scores():
    dv, s = synthetic_dev()
    q = s + np.random.default_rng(1).normal(0, 0.3, s.shape).astype(np.float32)
    r = fidelity.compare(dv, KINDS, q, s, boot=50)
    # the point differences are the metric differences of the two score sets
    mq, _ = evaluate(dv.lp, dv.mean, dv.z, da_cols(q, KINDS))
    mf, _ = evaluate(dv.lp, dv.mean, dv.z, da_cols(s, KINDS))
    for k in fidelity.METRICS:
        assert r["diff"][k] == pytest.approx(mq["avg"][k] - mf["avg"][k])
        assert r["diff_bootstrap_sd"][k] > 0
        lo, hi = r["diff_bootstrap_95"][k]
        assert lo < hi
    assert 0.5 < r["decision_agreement"]["da51"] < 1.0
    assert 0.5 < r["z_correlation"] < 1.0
    assert r["raw_mean_abs_diff"][0] == pytest.approx(np.abs(q - s).mean(0)[0])


def test_fidelity_needs_the_fp32_scores(tmp_path):
    with pytest.raises(FileNotFoundError, match="no fp32 dev scores"):
        fidelity.fidelity(str(tmp_path), fp32_scores=str(tmp_path / "missing.npy"))

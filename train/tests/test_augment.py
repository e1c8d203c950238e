"""Model v2's extra training rows, masked loss, bucketed batches and the CED metrics (no data)."""
import numpy as np
import pytest

from qegate_train import augment, data, metrics


def _split(n_per=20):
    src, mt, lp, mean, z = [], [], [], [], []
    for p in ("en-de", "ro-en"):
        for i in range(n_per):
            src.append(f"{p} source sentence number {i} with words")
            mt.append(f"{p} translation of sentence {i} here now")
            lp.append(p)
            mean.append(float(30 + 3 * i))
            z.append(float(i - n_per / 2) / 10)
    return data.Split(src, mt, lp, np.array(mean, np.float32), np.array(z, np.float32))


def test_da_rows_targets_and_mask():
    sp = _split()
    hter = np.full(len(sp), np.nan, np.float32)
    hter[0] = 0.25
    r = augment.da_rows(sp, hter)
    np.testing.assert_array_equal(r.y[:, 1], sp.mean >= 51)
    np.testing.assert_array_equal(r.y[:, 2], sp.mean >= 70)
    assert r.m[:, :3].all() and not r.m[:, 4].any()      # critical unknown on DA rows
    assert r.m[0, 3] == 1 and r.y[0, 3] == 0.25 and r.m[1:, 3].sum() == 0


@pytest.mark.parametrize("kind,field", [(augment.KIND_UNRELATED, "unrelated"),
                                        (augment.KIND_CUT, "cut"),
                                        (augment.KIND_APPEND, "append")])
def test_synthetic_rows_are_unacceptable_and_labelled(kind, field):
    sp = _split()
    ex = augment.Extras(**{field: 0.25})
    r = augment.synthetic(sp, ex, np.random.default_rng(0))
    assert len(r) == 10 and (r.kind == kind).all()
    assert (r.y[:, 1] == 0).all() and (r.y[:, 2] == 0).all() and r.m[:, :3].all()
    low = augment.pair_percentile(sp, 2 if kind == augment.KIND_UNRELATED else 5)
    assert all(r.y[i, 0] == pytest.approx(low[p]) for i, p in enumerate(r.lp))
    srcs = {s: i for i, s in enumerate(sp.src)}
    for s, t, p in zip(r.src, r.mt, r.lp):
        orig = sp.mt[srcs[s]]
        assert p == sp.lp[srcs[s]] and t != orig
        if kind == augment.KIND_UNRELATED:
            assert t in sp.mt and sp.lp[sp.mt.index(t)] == p      # another MT of the same pair
        elif kind == augment.KIND_CUT:
            assert orig.startswith(t) and len(t) < len(orig)
        else:
            assert t.startswith(orig) and len(t) > len(orig)
    # invented content and unrelated MT are critical; a cut is left unknown
    assert r.m[:, 4].all() == (kind != augment.KIND_CUT)
    if kind != augment.KIND_CUT:
        assert (r.y[:, 4] == 1).all()


def test_synthetic_is_deterministic():
    sp, ex = _split(), augment.Extras(unrelated=0.2, cut=0.1, append=0.1)
    a = augment.synthetic(sp, ex, np.random.default_rng([0, 21]))
    b = augment.synthetic(sp, ex, np.random.default_rng([0, 21]))
    assert a.src == b.src and a.mt == b.mt and np.array_equal(a.y, b.y)


def test_extras_zero_value_is_da_only():
    assert not augment.Extras().any()
    assert augment.Extras.v2().any() and augment.Extras.v2().pe == 0


def test_detok_undoes_moses_spacing():
    assert augment.detok("Hello , world ( yes ) &quot;x&quot; .", "en-de") == 'Hello, world (yes) "x".'
    assert augment.detok("我们 的 模型 很 好 。", "en-zh") == "我们的模型很好。"


def test_join_key_ignores_tokenization():
    assert data.join_key("Hello , &quot;world&quot; !") == data.join_key('Hello, "world"!')


def test_masked_loss_ignores_unknown_targets():
    torch = pytest.importorskip("torch")
    from qegate_train.multitask import masked_loss
    s = torch.tensor([[0.0, 0.0, 0.0, 0.0, 5.0], [1.0, 0.0, 0.0, 0.0, 0.0]])
    y = torch.tensor([[0.0, 1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0, 1.0]])
    m = torch.tensor([[1.0, 1, 1, 0, 0], [1.0, 1, 1, 0, 0]])
    base = float(masked_loss(s, y, m))
    s2 = s.clone(); s2[:, 3:] = -7.0                     # masked outputs move freely
    assert float(masked_loss(s2, y, m)) == pytest.approx(base)
    m2 = m.clone(); m2[1, 4] = 1                          # the critical target now counts
    assert float(masked_loss(s, y, m2)) > base


def test_bucketed_batches_cover_every_row_once_and_resume_identically():
    from qegate_train.multitask import batches
    L = np.random.default_rng(3).integers(5, 120, size=1000)
    a = batches(L, 32, seed=0, epoch=1)
    assert sorted(np.concatenate(a).tolist()) == list(range(1000))
    assert [x.tolist() for x in a] == [x.tolist() for x in batches(L, 32, seed=0, epoch=1)]
    assert [x.tolist() for x in a] != [x.tolist() for x in batches(L, 32, seed=0, epoch=2)]
    # bucketing: much less padding than a plain shuffle
    pad = sum(int(L[b].max()) * len(b) - int(L[b].sum()) for b in a)
    perm = np.random.default_rng(0).permutation(1000)
    plain = sum(int(L[perm[i:i + 32]].max()) * 32 - int(L[perm[i:i + 32]].sum())
                for i in range(0, 1000, 32))
    assert pad < plain / 3


def test_mcc_and_best_threshold():
    y = np.array([1, 1, 0, 0, 1, 0])
    assert metrics.mcc(y, y) == pytest.approx(1.0)
    assert metrics.mcc(y, 1 - y) == pytest.approx(-1.0)
    assert metrics.mcc(y, np.zeros(6)) == 0.0
    score = np.array([0.9, 0.8, 0.3, 0.2, 0.7, 0.75])
    thr, m = metrics.best_mcc_threshold(score, y)
    assert m == pytest.approx(metrics.mcc(y, score >= thr))
    assert all(metrics.mcc(y, score >= t) <= m + 1e-12 for t in score)
    res, th = metrics.evaluate_ced(["a"] * 6 + ["b"] * 6, np.concatenate([y, y]),
                                   np.concatenate([score, score]))
    assert res["a"] == res["b"] == pytest.approx(m) and res["avg"] == pytest.approx(m)
    assert set(th) == {"a", "b", "_default"}


def test_cap_critical_thresholds():
    rng = np.random.default_rng(0)
    # pair x: good pairs' critical probabilities spread over [0, 1]; pair y only in DA data
    lp = np.array(["x"] * 200 + ["y"] * 100 + ["x"] * 50)
    good = np.array([True] * 300 + [False] * 50)
    prob = np.concatenate([rng.uniform(0, 1, 300), np.ones(50)])   # bad pairs: never counted
    capped = metrics.cap_critical_thresholds({"x": 0.2, "z": 0.3, "_default": 0.25}, lp, good, prob)
    for p, n in (("x", 200), ("y", 100)):
        m = good & (lp == p)
        assert (prob[m] >= capped[p]).sum() == int(0.01 * n)      # at most 1% of good flagged
        assert (prob[m] >= np.sort(prob[m])[-int(0.01 * n) - 1]).sum() > int(0.01 * n)  # tight
    assert capped["z"] == 0.3                                     # no DA data: kept
    assert (prob[good] >= capped["_default"]).sum() == 3           # pooled cap: 1% of 300
    high = metrics.cap_critical_thresholds({"x": 0.999999}, lp, good, prob)
    assert high["x"] == 0.999999                                   # never lowered

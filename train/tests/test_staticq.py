"""static-int8 turns the export's dynamic int8 graph (QAttention, DynamicQuantizeLinear per
MatMul) into one whose scores do not depend on batch mates, and stays close to it.
Tiny random encoder exported as the recipe exports; no data, no download."""
import numpy as np
import onnx
import pytest

from qegate_train import staticq
from qegate_train.export import export_all, ort_scores, ort_session

from test_fusion import tiny_model


@pytest.fixture(scope="module", params=[False, True], ids=["per-tensor", "per-channel"])
def dynamic_int8(tmp_path_factory, request):
    """(path of the export's dynamic int8 graph, whether its weight scales are per channel)"""
    p = str(tmp_path_factory.mktemp("staticq") / "int8.onnx")
    export_all(tiny_model("xlm-roberta"), p, 4, 32, quantize=True, per_channel=request.param)
    return p, request.param


def seqs_of(rng, lens):
    return [[0] + rng.integers(3, 120, n).tolist() + [2] for n in lens]


def static_graph(dynamic_path, rows=100, seed=0):
    """The recipe's static-int8 graph steps on a dynamic int8 export (calibrated on `rows`
    random rows): fixed activation scales, fp32 head, fused MatMuls. Returns the ModelProto."""
    rng = np.random.default_rng(seed)
    names, mins, maxs = staticq.calibrate(dynamic_path, seqs_of(rng, rng.integers(3, 60, rows)))
    m = onnx.load(dynamic_path)
    staticq.freeze_scales(m, names, *staticq.ranges(mins, maxs, 99.0))
    staticq.float_head(m)
    staticq.fuse_matmuls(m)
    return m


def test_static_int8_is_batch_invariant(dynamic_int8, tmp_path):
    dynamic_int8, per_channel = dynamic_int8
    rng = np.random.default_rng(0)
    calib = seqs_of(rng, rng.integers(3, 60, 200))
    names, mins, maxs = staticq.calibrate(dynamic_int8, calib)
    assert len(names) > 0 and mins.shape == (200, len(names))
    assert (mins <= maxs).all()
    lo, hi = staticq.ranges(mins, maxs, 99.0)
    assert (lo <= 0).all() and (hi >= 0).all()

    m = onnx.load(dynamic_int8)
    staticq.freeze_scales(m, names, lo, hi)
    head = staticq.float_head(m)
    onnx.checker.check_model(m)
    ops = [n.op_type for n in m.graph.node]
    assert "DynamicQuantizeLinear" not in ops
    assert ops.count("QAttention") == 2           # the fused attention is kept
    assert len(head) == 2 and all(h.startswith(staticq.HEAD_PREFIX) for h in head)
    unfused = str(tmp_path / "unfused.onnx")
    onnx.save(m, unfused)
    n_mm = ops.count("MatMulInteger")
    assert staticq.fuse_matmuls(m) == n_mm > 0
    ops = [n.op_type for n in m.graph.node]
    assert "MatMulInteger" not in ops and ops.count("MatMulIntegerToFloat") == n_mm
    # weight scales: one per output column when the export was per channel (QAttention's
    # packed Q, K, V weight included), one per tensor otherwise
    init = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type in staticq.WEIGHT_SCALE_INPUT:
            cols = init[n.input[1]].shape[-1]
            w_scale = init[n.input[staticq.WEIGHT_SCALE_INPUT[n.op_type]]]
            assert w_scale.size == (cols if per_channel else 1), n.name
    assert staticq.weight_granularity(m) == ("per output channel" if per_channel else "per tensor")
    out = str(tmp_path / "static.onnx")
    onnx.save(m, out)

    test = seqs_of(rng, [5, 17, 1, 40, 9, 33, 2, 50])
    s_dyn, s_st = ort_session(dynamic_int8), ort_session(out)
    dyn1, dyn8 = ort_scores(s_dyn, test, batch=1), ort_scores(s_dyn, test, batch=8)
    st1, st8 = ort_scores(s_st, test, batch=1), ort_scores(s_st, test, batch=8)
    # the dynamic graph moves with its batch mates; the static one does not
    assert np.abs(dyn1 - dyn8).max() > 1e-3
    assert np.abs(st1 - st8).max() <= 1e-5
    # the fusion changes no bit
    assert staticq.same_outputs(unfused, out, test)
    # and it scores about as the dynamic graph does alone (random weights: loose)
    assert np.abs(st1 - dyn1).mean() < 0.25 * np.abs(dyn1).mean() + 0.05


def test_freeze_scales_needs_every_range(dynamic_int8):
    m = onnx.load(dynamic_int8[0])
    names = staticq.dynamic_inputs(m)
    with pytest.raises(staticq.StaticQuantError, match="no calibration range"):
        staticq.freeze_scales(m, names[1:], np.zeros(len(names) - 1), np.ones(len(names) - 1))


def test_uint8_params_cover_the_range():
    scale, zp = staticq.uint8_params(-1.0, 3.0)
    assert scale == pytest.approx(4 / 255) and zp == 64
    # the ends of the range quantize to 0 and 255
    assert round(-1.0 / scale) + int(zp) == 0 and round(3.0 / scale) + int(zp) == 255
    assert staticq.uint8_params(0.0, 0.0) == (1.0, 0)


def test_stamp_and_write_manifest(tmp_path):
    import hashlib
    import json
    (tmp_path / "model.onnx").write_bytes(b"graph bytes")
    (tmp_path / "tokenizer.json").write_text("{}")
    doc = {"version": "1.0.0", "outputs": []}
    sha = staticq.stamp_model(str(tmp_path), doc, version="1.1.0")
    assert sha == hashlib.sha256(b"graph bytes").hexdigest() == doc["sha256"]
    assert doc["size_bytes"] == len(b"graph bytes") + 2 and doc["version"] == "1.1.0"
    assert staticq.stamp_model(str(tmp_path), doc) == sha and doc["version"] == "1.1.0"
    # no reference.jsonl: nothing to rescore there; model.json written as the recipe writes it
    staticq.write_manifest(str(tmp_path), doc, rescore=False, log=lambda *_: None)
    text = (tmp_path / "model.json").read_text(encoding="utf-8")
    assert json.loads(text) == doc and text.endswith("}\n")

"""fuse-attention rewrites an unfused int8 attention (the 4-layer tier's graph: Q, K, V
MatMulIntegerToFloat, Reshape/Transpose, MatMul, scale, additive mask, Softmax) into one
QAttention per layer with the same int8 weights, and the scores do not change. Tiny random
encoder exported as the tier was (transformers' own attention graph), made static int8 and
cpu-graph'd as the recipe does; no data, no download."""
import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from qegate_train import cpugraph, fuseattn, staticq
from qegate_train.export import export_all, ort_scores, ort_session

from test_fusion import LAYERS, tiny_model
from test_staticq import seqs_of, static_graph

HEADS = 4


@pytest.fixture(scope="module")
def unfused_static(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuseattn")
    dyn, st = str(d / "int8.onnx"), str(d / "static.onnx")
    export_all(tiny_model("xlm-roberta"), dyn, HEADS, 32, quantize=True, check_fused=False,
               classic=False)
    m = static_graph(dyn)
    cpugraph.unfuse(m)
    onnx.save(m, st)
    return st


def ops(m):
    names = [n.op_type for n in m.graph.node]
    return {k: names.count(k) for k in set(names)}


def test_fuse_keeps_every_score(unfused_static, tmp_path):
    m = onnx.load(unfused_static)
    before = ops(m)
    assert before["Softmax"] == LAYERS and "QAttention" not in before
    assert fuseattn.fuse(m, HEADS) == LAYERS
    onnx.checker.check_model(m)
    after = ops(m)
    assert after["QAttention"] == LAYERS and "Softmax" not in after
    # the Q, K, V projections are inside the QAttention now; the other int8 MatMuls remain
    assert after["MatMulIntegerToFloat"] == before["MatMulIntegerToFloat"] - 3 * LAYERS
    assert len(m.graph.node) < len(onnx.load(unfused_static).graph.node)
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "QAttention":
            w, scale = init[n.input[1]], init[n.input[4]]
            assert w.dtype == np.int8 and w.shape == (32, 96) and scale.shape == (96,)
            # one scale per projection, repeated over its columns
            assert all(len(set(scale[k * 32:(k + 1) * 32])) == 1 for k in range(3))
    out = str(tmp_path / "fused.onnx")
    onnx.save(m, out)
    loaded = cpugraph.loaded_ops(out)
    assert loaded["QAttention"] == LAYERS and not loaded.get("Softmax")

    rng = np.random.default_rng(1)
    test = seqs_of(rng, [5, 17, 1, 40, 9, 33, 2, 50])
    s_old, s_new = ort_session(unfused_static), ort_session(out)
    # same integer products, same scales, and the kernel's attention matches: no bit moves,
    # alone or padded into a batch of 8
    assert np.array_equal(ort_scores(s_old, test, batch=1), ort_scores(s_new, test, batch=1))
    assert np.array_equal(ort_scores(s_old, test, batch=8), ort_scores(s_new, test, batch=8))
    assert staticq.batch_drift(out, test, rows=8) <= 1e-5


def test_fuse_refuses_a_fused_graph(tmp_path):
    p = str(tmp_path / "fused_export.onnx")
    export_all(tiny_model("xlm-roberta"), p, HEADS, 32, quantize=True)
    with pytest.raises(fuseattn.FuseAttentionError, match="no Softmax"):
        fuseattn.fuse(onnx.load(p), HEADS)


def test_fuse_refuses_another_scale(unfused_static):
    # a head count that does not match the graph's 1/sqrt(head size) must not be fused
    with pytest.raises(fuseattn.FuseAttentionError, match="1/sqrt"):
        fuseattn.fuse(onnx.load(unfused_static), HEADS * 2)

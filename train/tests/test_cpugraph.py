"""cpu-graph undoes the SkipLayerNormalization and BiasGelu fusions of the static int8 graph,
and ONNX Runtime at its default optimization level does not fuse them back. Tiny random encoder
exported and converted as the recipe does; no data, no download."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from qegate_train import cpugraph, staticq
from qegate_train.export import export_all, ort_scores, ort_session

from test_fusion import LAYERS, tiny_model
from test_staticq import seqs_of, static_graph


@pytest.fixture(scope="module", params=[False, True], ids=["per-tensor", "per-channel"])
def static_int8(tmp_path_factory, request):
    d = tmp_path_factory.mktemp("cpugraph")
    dyn, st = str(d / "int8.onnx"), str(d / "static.onnx")
    export_all(tiny_model("xlm-roberta"), dyn, 4, 32, quantize=True, per_channel=request.param)
    onnx.save(static_graph(dyn), st)
    return st


def op_counts(model):
    ops = [n.op_type for n in model.graph.node]
    return {k: ops.count(k) for k in set(ops)}


def test_unfuse_and_ort_keeps_it_apart(static_int8, tmp_path):
    assert cpugraph.loaded_ops(static_int8)["SkipLayerNormalization"] == 2 * LAYERS
    m = onnx.load(static_int8)
    counts = cpugraph.unfuse(m)
    assert counts == {"SkipLayerNormalization": 2 * LAYERS, "BiasGelu": LAYERS,
                      "bias_moved": 3 * LAYERS}
    onnx.checker.check_model(m)
    ops = op_counts(m)
    assert "SkipLayerNormalization" not in ops and "BiasGelu" not in ops
    assert ops["Sum"] == 2 * LAYERS and ops["Gelu"] == LAYERS
    out = str(tmp_path / "cpu.onnx")
    onnx.save(m, out)
    # what a session at the default level runs: the parts, not the slow fused kernels
    loaded = cpugraph.loaded_ops(out)
    assert loaded.get("SkipLayerNormalization", 0) == 0 and loaded.get("BiasGelu", 0) == 0
    assert loaded["LayerNormalization"] == 2 * LAYERS + 1 and loaded["Gelu"] == LAYERS
    assert loaded["QAttention"] == LAYERS   # attention stays fused

    rng = np.random.default_rng(1)
    test = seqs_of(rng, [5, 17, 1, 40, 9, 33, 2, 50])
    before = ort_scores(ort_session(static_int8), test, batch=1)
    s = ort_session(out)
    after1, after8 = ort_scores(s, test, batch=1), ort_scores(s, test, batch=8)
    # still batch-invariant
    assert np.abs(after1 - after8).max() <= 1e-5
    # the same function up to float rounding (which int8 steps can amplify: loose)
    assert np.abs(after1 - before).mean() < 0.05 * np.abs(before).mean() + 1e-3
    ch = cpugraph.output_change(static_int8, out, test)
    assert ch["pairs"] == len(test)
    assert ch["max_abs"] == pytest.approx(float(np.abs(after1 - before).max()), abs=1e-6)
    assert cpugraph.output_change(out, out, test)["max_abs"] == 0.0


def test_gelu_bias_move_changes_no_bit(static_int8, tmp_path):
    m = onnx.load(static_int8)
    assert cpugraph.unfuse(m, ops=("BiasGelu",)) == {
        "SkipLayerNormalization": 0, "BiasGelu": LAYERS, "bias_moved": LAYERS}
    out = str(tmp_path / "gelu.onnx")
    onnx.save(m, out)
    assert staticq.same_outputs(static_int8, out, seqs_of(np.random.default_rng(2), [3, 30, 12]))


def hand_graph():
    """SkipLayerNormalization and BiasGelu fed by graph inputs: no MatMul to take the bias."""
    h = 8
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal(h).astype(np.float32), n)
             for n in ("gamma", "beta", "bias")]
    nodes = [helper.make_node("SkipLayerNormalization", ["x", "skip", "gamma", "beta", "bias"],
                              ["y"], domain="com.microsoft", epsilon=1e-12),
             helper.make_node("BiasGelu", ["y", "bias"], ["z"], domain="com.microsoft")]
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, h]) for n in ("x", "skip")]
    g = helper.make_graph(nodes, "g", io, [helper.make_tensor_value_info(
        "z", TensorProto.FLOAT, [1, 3, h])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8   # what the installed onnxruntime reads
    return m


def test_without_a_matmul_the_bias_stays_in_the_graph(tmp_path):
    m = hand_graph()
    src = str(tmp_path / "src.onnx")
    onnx.save(m, src)
    counts = cpugraph.unfuse(m)
    # the SkipLayerNormalization's bias joins the Sum; the BiasGelu is left alone (an Add
    # in front of a Gelu would be fused back into it)
    assert counts == {"SkipLayerNormalization": 1, "BiasGelu": 0, "bias_moved": 0}
    sums = [n for n in m.graph.node if n.op_type == "Sum"]
    assert len(sums) == 1 and list(sums[0].input) == ["x", "skip", "bias"]
    out = str(tmp_path / "out.onnx")
    onnx.save(m, out)
    rng = np.random.default_rng(3)
    feed = {k: rng.standard_normal((1, 3, 8)).astype(np.float32) for k in ("x", "skip")}
    a = ort_session(src).run(None, feed)[0]
    b = ort_session(out).run(None, feed)[0]
    assert np.abs(a - b).max() < 1e-5


def test_used_statistics_outputs_are_refused():
    m = hand_graph()
    m.graph.node[0].output.extend(["mean", ""])
    with pytest.raises(cpugraph.CPUGraphError, match="mean / inv-std"):
        cpugraph.unfuse(m)

"""Microseconds per node of ONNX Runtime's fused CPU kernels against their parts
(train/qegate_train/cpugraph.py, docs/compression.md section 4, issue 19).

    train/.venv/bin/python bench/kernel_probe.py [--tokens 1,8,51,128] [--rounds 5]

For each token count, graphs of 12 chained nodes of the encoder's shapes (hidden 384, FFN 1536),
one ORT session each with one intra-op thread at the default optimization level (ENABLE_ALL):
- SkipLayerNormalization(x, skip, gamma, beta) against Sum(x, skip) -> LayerNormalization (what
  cpu-graph writes, the dense bias being in the MatMul) and against Add(x, skip) ->
  LayerNormalization (which ORT fuses back into the first);
- BiasGelu(x, bias) against Gelu(x) after an Add (fused back into BiasGelu) and Gelu alone (what
  cpu-graph leaves once the bias is in the MatMul).
Prints the best of --rounds timings per node, the op types the session actually runs, and the max
abs difference of each output from the fused kernel's. Compare the rows of one run.
"""
import argparse
import collections
import os
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HIDDEN, FFN, NODES = 384, 1536, 12


def chain(kind, width):
    """A graph of NODES chained nodes of one kind over [1, tokens, width] floats."""
    rng = np.random.default_rng(0)
    vec = {n: numpy_helper.from_array(rng.standard_normal(width).astype(np.float32), n)
           for n in ("gamma", "beta", "bias")}
    nodes, cur = [], "x"
    for i in range(NODES):
        y = f"y{i}"
        if kind == "SkipLayerNormalization":
            nodes.append(helper.make_node(kind, [cur, "skip", "gamma", "beta"], [y],
                                          domain="com.microsoft", epsilon=1e-12))
        elif kind in ("Sum -> LayerNormalization", "Add -> LayerNormalization"):
            nodes.append(helper.make_node(kind.split()[0], [cur, "skip"], [f"s{i}"]))
            nodes.append(helper.make_node("LayerNormalization", [f"s{i}", "gamma", "beta"], [y],
                                          axis=-1, epsilon=1e-12))
        elif kind == "BiasGelu":
            nodes.append(helper.make_node(kind, [cur, "bias"], [y], domain="com.microsoft"))
        elif kind == "Add -> Gelu":
            nodes.append(helper.make_node("Add", [cur, "bias"], [f"a{i}"]))
            nodes.append(helper.make_node("Gelu", [f"a{i}"], [y], domain="com.microsoft"))
        elif kind == "Gelu":
            nodes.append(helper.make_node("Gelu", [cur], [y], domain="com.microsoft"))
        cur = y
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "s", width])]
    if "LayerNormalization" in kind:
        inputs.append(helper.make_tensor_value_info("skip", TensorProto.FLOAT, [1, "s", width]))
    used = {i for n in nodes for i in n.input}
    g = helper.make_graph(nodes, "g", inputs,
                          [helper.make_tensor_value_info(cur, TensorProto.FLOAT, [1, "s", width])],
                          [v for k, v in vec.items() if k in used])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    return m


def session(model, tmp):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.optimized_model_filepath = os.path.join(tmp, "opt.onnx")
    s = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    ran = collections.Counter(n.op_type for n in onnx.load(so.optimized_model_filepath).graph.node)
    return s, dict(ran)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", default="1,8,51,128")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    ort.set_default_logger_severity(3)
    groups = [(HIDDEN, ["SkipLayerNormalization", "Sum -> LayerNormalization",
                        "Add -> LayerNormalization"]),
              (FFN, ["BiasGelu", "Add -> Gelu", "Gelu"])]
    print(f"onnxruntime {ort.__version__}; us per node, best of {a.rounds}; 1 thread")
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        for tokens in (int(t) for t in a.tokens.split(",")):
            for width, kinds in groups:
                feed = {"x": rng.standard_normal((1, tokens, width)).astype(np.float32)}
                ref = None
                for kind in kinds:
                    s, ran = session(chain(kind, width), tmp)
                    f = {k: v for k, v in feed.items()}
                    if "LayerNormalization" in kind:
                        f["skip"] = np.ones((1, tokens, width), np.float32)
                    out = s.run(None, f)[0]
                    if kind == "Gelu":   # no bias: compare with BiasGelu over x - bias
                        diff = "-"
                    else:
                        ref = out if ref is None else ref
                        diff = f"{float(np.abs(out - ref).max()):.1e}"
                    reps = max(20, 20000 // tokens)
                    for _ in range(10):
                        s.run(None, f)
                    best = float("inf")
                    for _ in range(a.rounds):
                        t0 = time.perf_counter()
                        for _ in range(reps):
                            s.run(None, f)
                        best = min(best, (time.perf_counter() - t0) / reps / NODES * 1e6)
                    print(f"tokens {tokens:4d}  {kind:28s} {best:8.2f} us  runs {ran}  "
                          f"max|d| {diff}")


if __name__ == "__main__":
    main()

"""CPU kernel choice: undo two ORT fusions whose CPU kernels are slower than their parts.

ONNX Runtime's transformer optimizer (and its own graph optimizer at ORT_ENABLE_EXTENDED and
above) turns Add -> LayerNormalization into com.microsoft SkipLayerNormalization and
Add -> Gelu into BiasGelu. On CPU (onnxruntime 1.30, one intra-op thread, 51 tokens,
`bench/kernel_probe.py`) SkipLayerNormalization costs 7.5x its parts (a scalar loop against the
vectorized LayerNormalization kernel) and BiasGelu 1.6x a Gelu, and the profile of model 2.1.0
put SkipLayerNormalization alone at 26% of a pair's time (docs/BENCHMARKS.md). So `cpu_graph` rewrites, in place:

- SkipLayerNormalization(x, skip, gamma, beta, bias) -> LayerNormalization(Sum(x, skip)), with
  the dense layer's bias moved into the MatMulIntegerToFloat that produces x (its optional
  bias input, added in the GEMM's output pass). `Sum`, not `Add`: ORT's SkipLayerNormFusion
  matches Add, so a session at the default optimization level would fuse it back.
- BiasGelu(x, bias) -> Gelu(x), the bias moved into x's MatMulIntegerToFloat the same way. With
  no Add in front of it, BiasGeluFusion has nothing to match.

The file then runs fast in any ORT session at any optimization level (qegate's, hugot's,
Python's), with no session option to remember. Only the order of float additions changes, so
the outputs move by rounding (last bits, which the int8 steps after them can amplify into a
different quantization step); `cpu_graph` therefore re-chooses the dev thresholds and rescores
reference.jsonl, as static-int8 does, and checks that batch invariance still holds.
"""
import json
import os
import time

import numpy as np

# the fused ops this module undoes, with what replaces them
REWRITES = {
    "SkipLayerNormalization": "LayerNormalization(Sum(x, skip)), bias in the producing MatMul",
    "BiasGelu": "Gelu(x), bias in the producing MatMul",
}


class CPUGraphError(Exception):
    """The graph does not have the shape cpu_graph rewrites, or the rewrite did not hold."""


def graph_maps(g):
    """(producer of each tensor name, consumers of each tensor name) of graph g."""
    prod = {o: n for n in g.node for o in n.output}
    users = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    return prod, users


def _bias_into_producer(x, bias, prod, users, init):
    """Give the MatMulIntegerToFloat producing x the bias as its 7th input, when x has that one
    consumer and the bias is a constant vector. Returns whether it did."""
    p = prod.get(x)
    if p is None or p.op_type != "MatMulIntegerToFloat" or len(users.get(x, [])) != 1:
        return False
    if bias not in init or len(p.input) > 6 and p.input[6]:
        return False
    while len(p.input) < 6:
        p.input.append("")
    p.input.append(bias)
    return True


def unfuse(model, ops=tuple(REWRITES)):
    """Rewrite model's nodes of the op types in `ops` (SkipLayerNormalization, BiasGelu; in
    place; see the module doc). Returns {op type: nodes rewritten, "bias_moved": biases moved
    into a MatMul}."""
    from onnx import helper
    g = model.graph
    init = {i.name for i in g.initializer}
    prod, users = graph_maps(g)
    counts = {k: 0 for k in REWRITES}
    counts["bias_moved"] = 0
    nodes = []
    for n in g.node:
        if n.domain != "com.microsoft" or n.op_type not in REWRITES or n.op_type not in ops:
            nodes.append(n)
            continue
        if n.op_type == "SkipLayerNormalization":
            if any(o for o in n.output[1:3]):
                raise CPUGraphError(f"{n.name}: mean / inv-std outputs are used")
            x, skip, gamma, beta = n.input[:4]
            bias = n.input[4] if len(n.input) > 4 and n.input[4] else ""
            eps = [a.f for a in n.attribute if a.name == "epsilon"]
            terms = [x, skip]
            if bias:
                if _bias_into_producer(x, bias, prod, users, init):
                    counts["bias_moved"] += 1
                else:
                    terms.append(bias)
            y = n.output[0]
            s = n.output[3] if len(n.output) > 3 and n.output[3] else y + "_sum"
            nodes.append(helper.make_node("Sum", terms, [s], name=n.name + "_sum"))
            nodes.append(helper.make_node("LayerNormalization", [s, gamma, beta], [y],
                                          name=n.name + "_ln", axis=-1,
                                          epsilon=eps[0] if eps else 1e-12))
        else:
            x, bias = n.input
            if _bias_into_producer(x, bias, prod, users, init):
                counts["bias_moved"] += 1
                nodes.append(helper.make_node("Gelu", [x], list(n.output), name=n.name + "_gelu",
                                              domain="com.microsoft"))
            else:
                # an Add in front would be fused back into BiasGelu: keep it as it is
                nodes.append(n)
                continue
        counts[n.op_type] += 1
    del g.node[:]
    g.node.extend(nodes)
    return counts


def loaded_ops(path):
    """Op counts of the graph an ORT session actually runs (default optimization level)."""
    import collections
    import tempfile

    import onnx
    import onnxruntime as ort
    with tempfile.TemporaryDirectory() as d:
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        # EXTENDED: the fusions of ENABLE_ALL without the machine-specific layout ones, so the
        # file can be saved; the two fusions in question are EXTENDED ones
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        so.optimized_model_filepath = os.path.join(d, "opt.onnx")
        ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        m = onnx.load(so.optimized_model_filepath, load_external_data=False)
        return dict(collections.Counter(n.op_type for n in m.graph.node))


def ms_per_pair(paths, seqs, rounds=5):
    """Batch-1 milliseconds per pair of each graph on seqs, one thread, the graphs interleaved
    for `rounds` rounds; the median per graph (compare them as a ratio: the machine is shared)."""
    from .encode import pad_batch
    from .export import ort_session
    sess = [ort_session(p, 1) for p in paths]
    feeds = [pad_batch([q]) for q in seqs]
    res = [[] for _ in paths]
    for s in sess:
        for ids, mask in feeds[:10]:
            s.run(None, {"input_ids": ids, "attention_mask": mask})
    for _ in range(rounds):
        for k, s in enumerate(sess):
            t0 = time.perf_counter()
            for ids, mask in feeds:
                s.run(None, {"input_ids": ids, "attention_mask": mask})
            res[k].append((time.perf_counter() - t0) / len(feeds) * 1e3)
    return [float(np.median(r)) for r in res]


def output_change(path_a, path_b, seqs):
    """How far two graphs' raw outputs differ on seqs (batch 1): mean and max abs over all
    outputs, and the share of pairs with any difference, on len(seqs) pairs."""
    from .export import ort_scores, ort_session
    d = np.abs(ort_scores(ort_session(path_a, 2), seqs, batch=1)
               - ort_scores(ort_session(path_b, 2), seqs, batch=1))
    return {"pairs": len(seqs), "mean_abs": float(d.mean()), "max_abs": float(d.max()),
            "pairs_changed": float((d.max(axis=1) > 0).mean())}


def verify_rewrite(model_dir, doc, old_path, new_path, rounds, error):
    """What every rewrite of a shipped graph checks and measures on model_dir's dev pairs:
    batch invariance of the new graph when model.json promises it (raises error beyond 1e-5,
    1 vs 32 rows), the raw output change against the old graph on every 7th pair (batch 1), and
    batch-1 ms per pair of old and new on 512 pairs (one thread, interleaved). Returns
    (checked pairs, drift or None, change, timed pairs, (ms before, ms after))."""
    from .ship import dev_seqs
    from .staticq import batch_drift
    _, dev = dev_seqs(model_dir, doc.get("max_len", 128))
    check = dev[::7]
    drift = batch_drift(new_path, check) if doc.get("batch_invariant") else None
    if drift is not None and drift > 1e-5:
        raise error(f"batch invariance lost: 1 vs 32 rows max |d| {drift:.2e}")
    change = output_change(old_path, new_path, check)
    rng = np.random.default_rng(0)
    timed = [dev[i] for i in rng.choice(len(dev), min(512, len(dev)), replace=False)]
    return check, drift, change, timed, tuple(ms_per_pair([old_path, new_path], timed, rounds))


def cpu_graph(model_dir, version=None, rescore=True, rounds=5, log=print):
    """Rewrite model_dir's model.onnx (see the module doc), check that ORT does not fuse it
    back and that batch invariance holds, time old and new side by side, then re-choose the dev
    thresholds and rescore reference.jsonl. Records provenance.cpu_graph in model.json."""
    import onnx

    from .staticq import same_outputs, stamp_model, write_manifest
    t0 = time.time()
    onnx_path = os.path.join(model_dir, "model.onnx")
    mj_path = os.path.join(model_dir, "model.json")
    model = onnx.load(onnx_path)
    counts = unfuse(model)
    if not counts["SkipLayerNormalization"] and not counts["BiasGelu"]:
        raise CPUGraphError(f"{onnx_path}: nothing to rewrite (already done?)")
    onnx.checker.check_model(model)
    tmp = onnx_path + ".tmp"
    onnx.save(model, tmp)
    try:
        ops = loaded_ops(tmp)
        refused = {k: ops[k] for k in REWRITES if ops.get(k)}
        if refused:
            raise CPUGraphError(f"ORT fused the rewritten graph back: {refused}")
        doc = json.load(open(mj_path, encoding="utf-8"))
        check, drift, change, timed, (before, after) = verify_rewrite(
            model_dir, doc, onnx_path, tmp, rounds, CPUGraphError)
        # the Gelu half alone must change no bit: the bias is added by the same float ops
        gelu_only = onnx.load(onnx_path)
        unfuse(gelu_only, ops=("BiasGelu",))
        gelu_path = tmp + ".gelu"
        onnx.save(gelu_only, gelu_path)
        try:
            gelu_same = same_outputs(onnx_path, gelu_path, check)
        finally:
            os.remove(gelu_path)
        if not gelu_same:
            raise CPUGraphError("the BiasGelu rewrite changed the outputs")
    except Exception:
        os.remove(tmp)
        raise
    log(f"cpu graph: {counts}; ORT runs {ops.get('LayerNormalization', 0)} LayerNormalization, "
        f"{ops.get('Gelu', 0)} Gelu; batch-1 ms per pair {before:.3f} -> {after:.3f} "
        f"({before / after:.2f}x, {len(timed)} dev pairs, median of {rounds} interleaved rounds); "
        f"raw outputs vs before on {change['pairs']} dev pairs: mean |d| {change['mean_abs']:.2e}, "
        f"max {change['max_abs']:.2e} (BiasGelu rewrite alone: identical)"
        + (f"; 1 vs 32 rows max |d| {drift:.2e}" if drift is not None else ""))
    os.replace(tmp, onnx_path)
    sha = stamp_model(model_dir, doc, version)
    prov = doc.setdefault("provenance", {})
    prov["cpu_graph"] = {
        "command": "qegate-train cpu-graph --model <dir> (train/; docs/compression.md section 4)",
        "rewritten": {k: counts[k] for k in REWRITES},
        "bias_moved_into_matmul": counts["bias_moved"],
        "ort_loaded_ops": {k: ops.get(k, 0) for k in
                           ("SkipLayerNormalization", "BiasGelu", "LayerNormalization", "Gelu",
                            "QAttention", "MatMulIntegerToFloat")},
        "batch1_ms_per_pair_before_after": [round(before, 3), round(after, 3)],
        "timing": f"{len(timed)} dev pairs, 1 thread, median of {rounds} interleaved rounds",
        "batch_drift_max_abs": drift,
        "raw_output_change": change,
        "bias_gelu_rewrite_bit_identical": gelu_same,
        "from_model_sha256": prov.get("quantization", {}).get("sha256"),
        "sha256": sha,
    }
    write_manifest(model_dir, doc, rescore, log)
    log(f"cpu graph done in {time.time() - t0:.0f}s")
    return prov["cpu_graph"]

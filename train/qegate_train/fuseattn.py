"""Fused attention for a graph exported before the export fused it (the 4-layer tier).

Model 1.0.0 (the tier `models/l4`) was exported when ORT's fusion did not match transformers
5's attention graph, so each layer's self-attention runs as ~20 ONNX nodes: three int8
MatMulIntegerToFloat projections (Q, K, V), their bias Adds, Reshapes and Transposes, two fp32
MatMuls, the 1/sqrt(d) Mul, the additive mask, a Softmax, and the shape arithmetic around them.
Every node is a kernel call with its own dispatch and output allocation, and on this CPU that
overhead is a large share of a 50-token pair's time (`bench/profile_ops.py`: 0.77 ms per pair
outside the kernels for the tier against 0.44 for the 6-layer default, whose attention is one
QAttention node per layer).

`fuse_attention` rewrites each such subgraph, in place, into one com.microsoft QAttention with
the same int8 weights: the three [H, H] int8 matrices side by side as the packed [H, 3H] weight,
each one's scale repeated over its columns as a per-column weight scale (so the integer products
and their scales are exactly the ones the three MatMuls used), the three biases concatenated,
and the raw attention_mask (int32) with the export's mask value as `mask_filter_value`. The
activation scale of the shared quantized input is unchanged, so batch invariance holds. The
attention itself (QK^T, softmax, x V) is computed by the kernel in its own order, so outputs
move by rounding; the command re-chooses the dev thresholds, as cpu-graph does.
"""
import json
import os
import time

import numpy as np


class FuseAttentionError(Exception):
    """The graph does not have the shape fuse_attention rewrites, or the rewrite did not hold."""


def _const(name, init, prod):
    """The value of an initializer or a Constant node's output; None otherwise."""
    from onnx import numpy_helper
    if name in init:
        return numpy_helper.to_array(init[name])
    p = prod.get(name)
    if p is not None and p.op_type == "Constant":
        for a in p.attribute:
            if a.name == "value":
                return numpy_helper.to_array(a.t)
    return None


def _perm(node):
    for a in node.attribute:
        if a.name == "perm":
            return list(a.ints)
    return None


def _one(prod, name, op):
    n = prod.get(name)
    if n is None or n.op_type != op:
        raise FuseAttentionError(f"{name}: want {op}, found {n.op_type if n else 'no producer'}")
    return n


def _projection(x, prod, init, perm):
    """Walk Transpose(perm) <- Reshape <- Add(bias) <- MatMulIntegerToFloat back from x; returns
    (matmul node, bias array, nodes walked)."""
    t = _one(prod, x, "Transpose")
    if _perm(t) != perm:
        raise FuseAttentionError(f"{t.name}: perm {_perm(t)}, want {perm}")
    r = _one(prod, t.input[0], "Reshape")
    add = _one(prod, r.input[0], "Add")
    b_name = [i for i in add.input if _const(i, init, prod) is not None]
    mm_in = [i for i in add.input if i not in b_name]
    if len(b_name) != 1 or len(mm_in) != 1:
        raise FuseAttentionError(f"{add.name}: not MatMul + constant bias")
    mm = _one(prod, mm_in[0], "MatMulIntegerToFloat")
    if len(mm.input) > 6 and mm.input[6]:
        raise FuseAttentionError(f"{mm.name}: has its own bias")
    return mm, _const(b_name[0], init, prod).astype(np.float32), [t, r, add, mm]


def _layer(softmax, prod, users, init, num_heads):
    """Match one layer's attention around its Softmax. Returns (walked nodes, QAttention parts)."""
    add_mask = _one(prod, softmax.input[0], "Add")
    mul = next((prod[i] for i in add_mask.input if i in prod and prod[i].op_type == "Mul"), None)
    if mul is None:
        raise FuseAttentionError(f"{add_mask.name}: no scaling Mul")
    mask = [i for i in add_mask.input if i != mul.output[0]][0]
    qk = next((prod[i] for i in mul.input if i in prod and prod[i].op_type == "MatMul"), None)
    if qk is None:
        raise FuseAttentionError(f"{mul.name}: does not scale a MatMul(Q, K)")
    scale = [_const(i, init, prod) for i in mul.input if i != qk.output[0]][0]
    mm_q, b_q, walk_q = _projection(qk.input[0], prod, init, [0, 2, 1, 3])
    mm_k, b_k, walk_k = _projection(qk.input[1], prod, init, [0, 2, 3, 1])
    sv = users.get(softmax.output[0], [])
    if len(sv) != 1 or sv[0].op_type != "MatMul" or sv[0].input[0] != softmax.output[0]:
        raise FuseAttentionError(f"{softmax.name}: not followed by MatMul(probs, V)")
    mm_v, b_v, walk_v = _projection(sv[0].input[1], prod, init, [0, 2, 1, 3])
    t3 = users[sv[0].output[0]][0]
    if t3.op_type != "Transpose" or _perm(t3) != [0, 2, 1, 3]:
        raise FuseAttentionError(f"{sv[0].name}: context not transposed back")
    r3 = users[t3.output[0]][0]
    if r3.op_type != "Reshape":
        raise FuseAttentionError(f"{t3.name}: context not reshaped")
    mms = (mm_q, mm_k, mm_v)
    # one quantized input, its scale and zero point, shared by the three projections
    if len({tuple(m.input[i] for i in (0, 2, 4)) for m in mms}) != 1:
        raise FuseAttentionError(f"{mm_q.name}: Q, K, V do not share one quantized input")
    hidden = _const(mm_q.input[1], init, prod).shape[0]
    if scale is None or abs(float(scale) - 1 / np.sqrt(hidden / num_heads)) > 1e-6:
        raise FuseAttentionError(f"{mul.name}: scale {scale}, want 1/sqrt(head size)")
    ws, scales = [], []
    for m in mms:
        w = _const(m.input[1], init, prod)
        s = _const(m.input[3], init, prod)
        zp = _const(m.input[5], init, prod) if len(m.input) > 5 and m.input[5] else np.zeros(1)
        if w is None or s is None or w.dtype != np.int8 or w.shape != (hidden, hidden):
            raise FuseAttentionError(f"{m.name}: weight is not a constant int8 [H, H]")
        if np.any(zp != 0):
            raise FuseAttentionError(f"{m.name}: weight zero point is not 0")
        ws.append(w)
        scales.append(np.broadcast_to(np.asarray(s, np.float32), (hidden,)))
    walked = walk_q + walk_k + walk_v + [qk, mul, add_mask, softmax, sv[0], t3, r3]
    parts = {"x": mm_q.input[0], "x_scale": mm_q.input[2], "x_zp": mm_q.input[4], "mask": mask,
             "w": np.concatenate(ws, axis=1), "w_scale": np.concatenate(scales),
             "bias": np.concatenate([b_q, b_k, b_v]), "out": r3.output[0], "hidden": hidden}
    return walked, parts


def _mask_value(mask, prod, init):
    """The additive value of masked positions: the export builds the mask as
    Where(cond, 0, finfo.min) (or the other way round); the QAttention equivalent is
    mask_filter_value."""
    w = prod.get(mask)
    if w is None or w.op_type != "Where":
        raise FuseAttentionError(f"{mask}: additive mask is not a Where")
    vals = [_const(i, init, prod) for i in w.input[1:]]
    if any(v is None or v.size != 1 for v in vals):
        raise FuseAttentionError(f"{w.name}: mask values are not constants")
    vals = sorted(float(v) for v in vals)
    if vals[1] != 0.0 or vals[0] > -1e4:
        raise FuseAttentionError(f"{w.name}: mask values {vals}, want (large negative, 0)")
    return vals[0]


def fuse(model, num_heads):
    """Rewrite every matched attention subgraph of model (in place) into QAttention; drop what
    only they used. Returns the number of layers fused."""
    from onnx import TensorProto, helper, numpy_helper

    from .cpugraph import graph_maps
    g = model.graph
    init = {i.name: i for i in g.initializer}
    prod, users = graph_maps(g)
    layers = []
    for sm in [n for n in g.node if n.op_type == "Softmax"]:
        layers.append(_layer(sm, prod, users, init, num_heads))
    if not layers:
        raise FuseAttentionError("no Softmax: attention already fused?")
    filter_value = {_mask_value(p["mask"], prod, init) for _, p in layers}
    if len(filter_value) != 1:
        raise FuseAttentionError(f"layers use different mask values {filter_value}")
    fv = filter_value.pop()
    mask_i32 = "attention_mask_int32"
    new_nodes = [helper.make_node("Cast", ["attention_mask"], [mask_i32], to=TensorProto.INT32,
                                  name="fuse_attention/mask_int32")]
    drop = set()
    for k, (walked, p) in enumerate(layers):
        drop.update(id(n) for n in walked)
        base = f"Attention_{k}"
        for name, arr in ((f"{base}_qkv_weight", p["w"]),
                          (f"{base}_qkv_weight_scale", p["w_scale"]),
                          (f"{base}_qkv_weight_zero_point", np.zeros(3 * p["hidden"], np.int8)),
                          (f"{base}_qkv_bias", p["bias"])):
            g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        new_nodes.append(helper.make_node(
            "QAttention",
            [p["x"], f"{base}_qkv_weight", f"{base}_qkv_bias", p["x_scale"],
             f"{base}_qkv_weight_scale", mask_i32, p["x_zp"], f"{base}_qkv_weight_zero_point"],
            [p["out"]], name=f"{base}_quant", domain="com.microsoft", num_heads=num_heads,
            mask_filter_value=fv))
    # keep the graph topologically sorted: the Cast first, each QAttention where its subgraph's
    # last node (the context Reshape) was
    out_to_new = {n.output[0]: n for n in new_nodes[1:]}
    nodes = [new_nodes[0]]
    for n in g.node:
        if id(n) in drop:
            if n.output and n.output[0] in out_to_new:
                nodes.append(out_to_new[n.output[0]])
            continue
        nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    _prune(model)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return len(layers)


def _prune(model):
    """Remove nodes whose outputs nothing reads (repeatedly), then unused initializers."""
    g = model.graph
    outputs = {o.name for o in g.output}
    while True:
        used = {i for n in g.node for i in n.input} | outputs
        keep = [n for n in g.node if any(o in used for o in n.output)]
        if len(keep) == len(g.node):
            break
        del g.node[:]
        g.node.extend(keep)
    used = {i for n in g.node for i in n.input}
    keep_init = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep_init)


def fuse_attention(model_dir, num_heads=12, version=None, rescore=True, rounds=5, log=print):
    """Fuse model_dir's attention (see the module doc), check ORT runs one QAttention per layer
    and no Softmax, that batch invariance holds, time old and new side by side, then re-choose
    the dev thresholds and rescore reference.jsonl. Records provenance.fused_attention."""
    import onnx

    from .cpugraph import loaded_ops, verify_rewrite
    from .staticq import stamp_model, write_manifest
    t0 = time.time()
    onnx_path = os.path.join(model_dir, "model.onnx")
    doc = json.load(open(os.path.join(model_dir, "model.json"), encoding="utf-8"))
    model = onnx.load(onnx_path)
    n_before = len(model.graph.node)
    layers = fuse(model, num_heads)
    onnx.checker.check_model(model)
    tmp = onnx_path + ".tmp"
    onnx.save(model, tmp)
    try:
        ops = loaded_ops(tmp)
        if ops.get("QAttention", 0) != layers or ops.get("Softmax", 0):
            raise FuseAttentionError(f"ORT runs {ops.get('QAttention', 0)} QAttention and "
                                     f"{ops.get('Softmax', 0)} Softmax for {layers} layers")
        _, drift, change, timed, (before, after) = verify_rewrite(
            model_dir, doc, onnx_path, tmp, rounds, FuseAttentionError)
    except Exception:
        os.remove(tmp)
        raise
    log(f"fuse attention: {layers} layers, graph nodes {n_before} -> {len(model.graph.node)}; "
        f"batch-1 ms per pair {before:.3f} -> {after:.3f} ({before / after:.2f}x, {len(timed)} "
        f"dev pairs, median of {rounds} interleaved rounds); raw outputs vs before on "
        f"{change['pairs']} dev pairs: mean |d| {change['mean_abs']:.2e}, max "
        f"{change['max_abs']:.2e}" + (f"; 1 vs 32 rows max |d| {drift:.2e}" if drift is not None
                                      else ""))
    os.replace(tmp, onnx_path)
    sha = stamp_model(model_dir, doc, version)
    prov = doc.setdefault("provenance", {})
    prov["fused_attention"] = {
        "command": "qegate-train fuse-attention --model <dir> (train/; docs/compression.md "
                   "section 4)",
        "layers": layers,
        "graph_nodes_before_after": [n_before, len(model.graph.node)],
        "ort_loaded_ops": {k: ops.get(k, 0) for k in ("QAttention", "Softmax", "Transpose",
                                                      "MatMulIntegerToFloat")},
        "batch1_ms_per_pair_before_after": [round(before, 3), round(after, 3)],
        "timing": f"{len(timed)} dev pairs, 1 thread, median of {rounds} interleaved rounds",
        "batch_drift_max_abs": drift,
        "raw_output_change": change,
        "from_model_sha256": prov.get("cpu_graph", {}).get("sha256"),
        "sha256": sha,
    }
    # bit-identical outputs (the case for the tier) keep the thresholds and reference scores
    write_manifest(model_dir, doc, rescore and change["max_abs"] > 0, log)
    log(f"fuse attention done in {time.time() - t0:.0f}s")
    return prov["fused_attention"]

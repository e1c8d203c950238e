"""Batch-invariant int8: freeze the activation scales of a dynamically quantized model.

`quantize_dynamic` puts a DynamicQuantizeLinear before every int8 MatMul (and QAttention): it
picks one uint8 scale and zero point per *tensor*, i.e. per ORT run, so a pair's score depends on
the pairs padded into the same run (mean abs 0.08, max 0.85 on the raw outputs of model 2.0.0,
7,000 dev pairs at 1 vs 32 rows per run). That forced the gate to score one pair per run.

`static_int8` calibrates each of those tensors on training rows (batch 1, no padding), takes a
percentile of the per-row minima and maxima as a fixed range, and replaces each
DynamicQuantizeLinear by a QuantizeLinear with constant scale and zero point. The int8 MatMuls,
QAttention and the ORT fusions stay as they are. The pooled head (two MatMuls over one vector per
pair, ~0.1% of the FLOPs) runs in fp32 from the dequantized int8 weights: its input is a mean
over the padded sequence, whose last-bit differences at another padded length could move a
value across a quantization step. Last, each MatMulInteger -> Cast -> Mul is fused into one
MatMulIntegerToFloat (bit-identical; ORT's optimizer no longer fuses it once the scales are
constants). Measured on model 2.0.0 (docs/compression.md section 4): the
outputs of 7,000 dev pairs at 1 and at 32 length-sorted rows per run differ by at most 9.5e-7.
"""
import hashlib
import json
import os
import time

import numpy as np

HEAD_PREFIX = "/head/"  # the export names the pooled head's nodes after the `head` module


def dynamic_inputs(model):
    """The fp32 tensors quantized at run time: inputs of the DynamicQuantizeLinear nodes."""
    return [n.input[0] for n in model.graph.node if n.op_type == "DynamicQuantizeLinear"]


def calibrate(model_path, seqs, threads=2):
    """Per-row minima and maxima [rows, tensors] of every dynamically quantized tensor, each row
    run alone (no padding). Returns (names, mins, maxs)."""
    import onnx
    from onnx import TensorProto, helper

    from .encode import pad_batch
    from .export import ort_session
    m = onnx.load(model_path)
    names = dynamic_inputs(m)
    for nm in names:
        m.graph.output.append(helper.make_tensor_value_info(nm, TensorProto.FLOAT, None))
    import tempfile
    with tempfile.TemporaryDirectory() as td:
        p = os.path.join(td, "calib.onnx")
        onnx.save(m, p)
        sess = ort_session(p, threads)
        mins = np.zeros((len(seqs), len(names)), np.float32)
        maxs = np.zeros_like(mins)
        for i, q in enumerate(seqs):
            ids, mask = pad_batch([q])
            for j, o in enumerate(sess.run(names, {"input_ids": ids, "attention_mask": mask})):
                mins[i, j], maxs[i, j] = o.min(), o.max()
    return names, mins, maxs


def ranges(mins, maxs, percentile):
    """Fixed [lo, hi] per tensor: the percentile of the per-row maxima and the mirrored one of
    the minima, widened to include 0 (as DynamicQuantizeLinear does)."""
    lo = np.minimum(np.percentile(mins, 100 - percentile, axis=0), 0.0)
    hi = np.maximum(np.percentile(maxs, percentile, axis=0), 0.0)
    return lo, hi


def uint8_params(lo, hi):
    """Scale and zero point of asymmetric uint8 over [lo, hi] (DynamicQuantizeLinear's rule)."""
    scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
    zp = np.uint8(np.clip(np.round(-lo / scale), 0, 255))
    return scale, zp


class StaticQuantError(Exception):
    """The graph is not the shape static_int8 converts."""


def freeze_scales(model, names, lo, hi):
    """Replace each DynamicQuantizeLinear by QuantizeLinear with the constant scale and zero point
    of its tensor's [lo, hi] (in place); the constants keep the names of the dynamic outputs, so
    QAttention and MatMulInteger read them unchanged."""
    from onnx import helper, numpy_helper
    g = model.graph
    idx = {nm: j for j, nm in enumerate(names)}
    nodes = []
    for n in g.node:
        if n.op_type != "DynamicQuantizeLinear":
            nodes.append(n)
            continue
        if n.input[0] not in idx:
            raise StaticQuantError(f"no calibration range for {n.input[0]}")
        j = idx[n.input[0]]
        scale, zp = uint8_params(float(lo[j]), float(hi[j]))
        y, y_scale, y_zp = n.output
        g.initializer.extend([numpy_helper.from_array(np.array(scale, np.float32), y_scale),
                              numpy_helper.from_array(np.array(zp, np.uint8), y_zp)])
        nodes.append(helper.make_node("QuantizeLinear", [n.input[0], y_scale, y_zp], [y],
                                      name=n.name + "_static"))
    del g.node[:]
    g.node.extend(nodes)


def float_head(model):
    """Run the pooled head's int8 MatMuls in fp32 (in place): QuantizeLinear -> MatMulInteger ->
    Cast -> Mul(a_scale * w_scale) becomes a MatMul with the weight dequantized in the graph.
    Returns the names of the converted nodes."""
    from onnx import TensorProto, helper
    g = model.graph
    init = {i.name: i for i in g.initializer}
    prod = {o: n for n in g.node for o in n.output}
    users = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    drop, repl, done = set(), {}, []
    for mmi in [n for n in g.node if n.op_type == "MatMulInteger" and n.name.startswith(HEAD_PREFIX)]:
        q = prod.get(mmi.input[0])
        cast = (users.get(mmi.output[0]) or [None])[0]
        mul = (users.get(cast.output[0]) or [None])[0] if cast is not None else None
        if q is None or q.op_type != "QuantizeLinear" or cast is None or cast.op_type != "Cast" \
                or mul is None or mul.op_type != "Mul" or len(users[q.output[0]]) != 1:
            raise StaticQuantError(f"{mmi.name}: not QuantizeLinear -> MatMulInteger -> Cast -> Mul")
        w_name, w_zp_name = mmi.input[1], mmi.input[3]
        scale_in = [i for i in mul.input if i != cast.output[0]][0]
        sprod = prod.get(scale_in)
        w_scale = [i for i in (sprod.input if sprod is not None else []) if i in init
                   and i != q.input[1] and i.endswith("_scale")]
        if sprod is None or sprod.op_type != "Mul" or len(w_scale) != 1 or w_name not in init:
            raise StaticQuantError(f"{mmi.name}: weight scale not found")
        drop.update(id(n) for n in (q, mmi, cast, mul))
        if len(users.get(sprod.output[0], [])) == 1:
            drop.add(id(sprod))
        # The weight stays int8 in the file: ORT's constant folding turns (float(w) - float(zp))
        # * scale into one fp32 constant when the session loads. Not DequantizeLinear, which
        # the folding leaves to ORT's QDQ fusions: they quantize the activation again.
        base = mmi.name.replace("_quant", "")
        wf, zf, d = w_name + "_f", w_name + "_zp_f", w_name + "_centered"
        repl[id(mul)] = [
            helper.make_node("Cast", [w_name], [wf], to=TensorProto.FLOAT, name=base + "_cast_w"),
            helper.make_node("Cast", [w_zp_name], [zf], to=TensorProto.FLOAT, name=base + "_cast_zp"),
            helper.make_node("Sub", [wf, zf], [d], name=base + "_center"),
            helper.make_node("Mul", [d, w_scale[0]], [w_name + "_fp32"], name=base + "_scale"),
            helper.make_node("MatMul", [q.input[0], w_name + "_fp32"], [mul.output[0]],
                             name=base + "_fp32")]
        done.append(mmi.name)
    nodes = []
    for n in g.node:
        if id(n) in repl:
            nodes.extend(repl[id(n)])
        elif id(n) not in drop:
            nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    return done


def fuse_matmuls(model):
    """Fuse MatMulInteger -> Cast -> Mul(a_scale * w_scale) into com.microsoft
    MatMulIntegerToFloat (in place), as ORT's optimizer does for the dynamic graph
    (DynamicQuantizeMatMul) but not once the scales are constants: it folds the product of the
    two scales first, and its fusion looks for the Mul of the two. The fused op multiplies by
    the same float product, so the outputs are bit-identical (checked by static_int8). Returns
    the number of fused MatMuls."""
    from onnx import helper
    g = model.graph
    init = {i.name for i in g.initializer}
    prod = {o: n for n in g.node for o in n.output}
    users = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    repl, drop = {}, set()
    for mm in [n for n in g.node if n.op_type == "MatMulInteger"]:
        u = users.get(mm.output[0], [])
        if len(u) != 1 or u[0].op_type != "Cast":
            continue
        cast = u[0]
        u2 = users.get(cast.output[0], [])
        if len(u2) != 1 or u2[0].op_type != "Mul":
            continue
        mul = u2[0]
        sp = prod.get([i for i in mul.input if i != cast.output[0]][0])
        a_q = prod.get(mm.input[0])
        if sp is None or sp.op_type != "Mul" or not all(i in init for i in sp.input) \
                or a_q is None or a_q.op_type != "QuantizeLinear":
            continue
        a_scale = a_q.input[1]
        w_scale = [i for i in sp.input if i != a_scale]
        if a_scale not in sp.input or len(w_scale) != 1:
            continue
        a, w, a_zp, w_zp = mm.input
        repl[id(mul)] = helper.make_node(
            "MatMulIntegerToFloat", [a, w, a_scale, w_scale[0], a_zp, w_zp], [mul.output[0]],
            name=mm.name + "_fused", domain="com.microsoft")
        drop.update((id(mm), id(cast)))
        if len(users.get(sp.output[0], [])) == 1:
            drop.add(id(sp))
    nodes = []
    for n in g.node:
        if id(n) in repl:
            nodes.append(repl[id(n)])
        elif id(n) not in drop:
            nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    if repl and not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return len(repl)


# input index of the weight scale in the int8 ops that hold weights
WEIGHT_SCALE_INPUT = {"QAttention": 4, "MatMulIntegerToFloat": 3}


def weight_granularity(model):
    """'per tensor' or 'per output channel': the shape of the int8 MatMuls' weight scales."""
    from onnx import numpy_helper
    init = {i.name: i for i in model.graph.initializer}
    sizes = set()
    for n in model.graph.node:
        w_scale = WEIGHT_SCALE_INPUT.get(n.op_type)
        if w_scale is not None and n.input[w_scale] in init:
            sizes.add(numpy_helper.to_array(init[n.input[w_scale]]).size)
    return "per output channel" if sizes and max(sizes) > 1 else "per tensor"


def train_rows(model_dir, n, seed, max_len=128):
    from tokenizers import Tokenizer

    from . import data
    from .encode import encode_pairs
    tr = data.load("train")
    idx = np.random.default_rng(seed).choice(len(tr.src), min(n, len(tr.src)), replace=False)
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    return encode_pairs(tok, [tr.src[i] for i in idx], [tr.mt[i] for i in idx], max_len)


def same_outputs(path_a, path_b, seqs, threads=2):
    """Whether two graphs give bit-identical raw outputs on seqs (batch 1)."""
    from .export import ort_scores, ort_session
    return bool(np.array_equal(ort_scores(ort_session(path_a, threads), seqs, batch=1),
                               ort_scores(ort_session(path_b, threads), seqs, batch=1)))


def batch_drift(model_path, seqs, rows=32, threads=2):
    """Max abs difference of the raw outputs between 1 and `rows` length-sorted rows per run."""
    from .export import ort_scores, ort_session
    s = ort_session(model_path, threads)
    return float(np.abs(ort_scores(s, seqs, batch=1) - ort_scores(s, seqs, batch=rows)).max())


def rewrite_reference(model_dir, log=print):
    """Rescore reference.jsonl's rows (the same pairs) with the new graph."""
    from .reference import write_reference
    path = os.path.join(model_dir, "reference.jsonl")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        rows = [(r["src"], r["mt"], r["lp"]) for r in map(json.loads, f)]
    with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as f:
        max_len = json.load(f).get("max_len", 128)
    write_reference(path, model_dir, rows, max_len)
    log(f"reference.jsonl: {len(rows)} rows rescored")
    return len(rows)


def stamp_model(model_dir, doc, version=None):
    """Record model_dir's new model.onnx in the manifest doc: sha256 (returned), the size of
    model.onnx + tokenizer.json, and the version when given."""
    onnx_path = os.path.join(model_dir, "model.onnx")
    with open(onnx_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    doc["sha256"] = sha
    doc["size_bytes"] = os.path.getsize(onnx_path) + os.path.getsize(
        os.path.join(model_dir, "tokenizer.json"))
    if version:
        doc["version"] = version
    return sha


def write_manifest(model_dir, doc, rescore=True, log=print):
    """Write doc as model_dir's model.json, then, as after any graph change that moves the
    outputs, re-choose the dev thresholds (ship.rescore) and rescore reference.jsonl."""
    with open(os.path.join(model_dir, "model.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    if rescore:
        from .ship import rescore as rescore_dev
        rescore_dev(model_dir, log=log)
    rewrite_reference(model_dir, log=log)


def static_int8(model_dir, rows=2000, percentile=99.0, seed=1, version=None, rescore=True,
                log=print):
    """Convert model_dir's dynamic int8 graph in place (see the module doc), then re-choose the
    dev thresholds (ship.rescore) and rescore reference.jsonl. The previous model.onnx and
    model.json are kept as *.dynamic next to them until the conversion has succeeded."""
    import onnx
    t0 = time.time()
    onnx_path = os.path.join(model_dir, "model.onnx")
    mj_path = os.path.join(model_dir, "model.json")
    model = onnx.load(onnx_path)
    if not dynamic_inputs(model):
        raise StaticQuantError(f"{onnx_path}: no DynamicQuantizeLinear (already static?)")
    doc = json.load(open(mj_path, encoding="utf-8"))
    seqs = train_rows(model_dir, rows, seed, doc.get("max_len", 128))
    names, mins, maxs = calibrate(onnx_path, seqs)
    lo, hi = ranges(mins, maxs, percentile)
    freeze_scales(model, names, lo, hi)
    head = float_head(model)
    onnx.checker.check_model(model)
    tmp = onnx_path + ".tmp"
    onnx.save(model, tmp)
    from .ship import dev_seqs
    _, dev = dev_seqs(model_dir, doc.get("max_len", 128))
    fused = fuse_matmuls(model)
    unfused = tmp + ".unfused"
    os.replace(tmp, unfused)
    onnx.save(model, tmp)
    check = dev[::7]
    same = same_outputs(unfused, tmp, check)
    os.remove(unfused)
    if not same:
        os.remove(tmp)
        raise StaticQuantError("MatMulIntegerToFloat fusion changed the outputs")
    drift = batch_drift(tmp, check)
    log(f"static int8: {len(names)} tensors calibrated on {len(seqs)} train rows "
        f"(p{percentile}), head in fp32: {head}, {fused} MatMuls fused (outputs identical); "
        f"dev 1 vs 32 rows per run max |d| {drift:.2e}")
    os.replace(onnx_path, onnx_path + ".dynamic")
    os.replace(tmp, onnx_path)
    sha = stamp_model(model_dir, doc, version)
    doc["batch_invariant"] = True
    prov = doc.setdefault("provenance", {})
    prov["quantization"] = {
        "command": f"qegate-train static-int8 --model <dir> --rows {rows} --percentile "
                   f"{percentile} --seed {seed} (train/; docs/compression.md section 4)",
        "activations": "static uint8 per tensor: ranges from the p{0} / p{1} of per-row max / "
                       "min over {2} MLQE-PE train rows run alone".format(
                           percentile, round(100 - percentile, 6), len(seqs)),
        "weights": f"int8 {weight_granularity(model)} (quantize_dynamic), unchanged",
        "head_fp32": head,
        "fused_matmul_integer_to_float": fused,
        "batch_drift_max_abs": drift,
        "from_model_sha256": prov.get("full_vocab", {}).get("sha256"),
        "sha256": sha,
    }
    write_manifest(model_dir, doc, rescore, log)
    os.remove(onnx_path + ".dynamic")
    log(f"static int8 done in {time.time() - t0:.0f}s")
    return prov["quantization"]

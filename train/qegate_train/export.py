"""ONNX export, bert graph optimization, int8 dynamic quantization, model.json."""
import contextlib
import hashlib
import json
import math
import os
import shutil
import tempfile
import types

import numpy as np
import torch


def _classic_self_attention(self, hidden_states, attention_mask=None, past_key_values=None,
                            **kwargs):
    """BERT self-attention written as transformers 4.x wrote it (the graph ORT's
    fusion_attention matches): Q/K/V MatMul+Add, Reshape to heads via Shape/Concat, Transpose,
    MatMul(Q, K^T), Div by sqrt(head size), Add mask, Softmax, MatMul V, Transpose, Reshape."""
    def heads(x):
        return x.view(x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
                      ).permute(0, 2, 1, 3)
    q, k, v = heads(self.query(hidden_states)), heads(self.key(hidden_states)), \
        heads(self.value(hidden_states))
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
    if attention_mask is not None:
        scores = scores + attention_mask
    probs = torch.softmax(scores, dim=-1)
    ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
    return ctx.view(ctx.size()[:-2] + (self.all_head_size,)), probs


def _classic_masks(self, attention_mask, encoder_attention_mask, embedding_output, *args,
                   **kwargs):
    """The additive mask of transformers 4.x: (1 - mask[:, None, None, :]) * finfo.min."""
    dt = embedding_output.dtype
    ext = attention_mask[:, None, None, :].to(dt)
    return (1.0 - ext) * torch.finfo(dt).min, None


@contextlib.contextmanager
def classic_attention(model):
    """Export-time patch of every self-attention block (and the encoder's mask) to the classic
    BERT pattern. transformers 5 builds the mask in masking_utils (sdpa-style boolean/where
    graph) and scales Q.K^T by a Mul after a double transpose, which ORT's transformer optimizer
    does not fuse into Attention; the math is the same, so scores match to float rounding."""
    bert = model.bert
    patched = []
    for m in bert.modules():
        if all(hasattr(m, a) for a in ("query", "key", "value", "num_attention_heads",
                                        "attention_head_size", "all_head_size")):
            if getattr(m, "is_cross_attention", False) or getattr(m.config, "is_decoder", False):
                raise ValueError("classic_attention: only encoder self-attention is supported")
            m.forward = types.MethodType(_classic_self_attention, m)
            patched.append(m)
    if not hasattr(bert, "_create_attention_masks"):
        raise ValueError(f"classic_attention: {type(bert).__name__} has no _create_attention_masks"
                         " (transformers version changed?)")
    bert._create_attention_masks = types.MethodType(_classic_masks, bert)
    try:
        yield len(patched)
    finally:
        for m in patched:
            del m.forward
        del bert._create_attention_masks


def export_onnx(model, path, opset=17, classic=True):
    model = model.eval().float().cpu()
    v = model.bert.config.vocab_size
    ids = torch.tensor([[0, 5, 6, 2, 2, 7, 2], [0, 5, 2, 2, 7, 2, 1]], dtype=torch.long) % v
    mask = (ids != 1).long()
    ctx = classic_attention(model) if classic else contextlib.nullcontext()
    with torch.no_grad(), ctx:
        torch.onnx.export(model, (ids, mask), path, input_names=["input_ids", "attention_mask"],
                          output_names=["scores"], opset_version=opset, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                        "attention_mask": {0: "batch", 1: "seq"},
                                        "scores": {0: "batch"}})
    return path


def optimize_bert(src, dst, num_heads, hidden, mha=False):
    """onnxruntime.transformers optimizer (bert fusions), CPU-only, fp32.

    The fused Attention ops take the raw 2-D attention_mask (not ORT's default mask_index =
    ReduceSum(mask), which assumes right padding): any 0/1 mask scores as the PyTorch model."""
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions
    opts = FusionOptions("bert")
    opts.use_raw_attention_mask(True)
    opts.use_multi_head_attention = mha
    m = optimizer.optimize_model(src, model_type="bert", num_heads=num_heads, hidden_size=hidden,
                                 opt_level=1, use_gpu=False, only_onnxruntime=False,
                                 optimization_options=opts)
    m.save_model_to_file(dst)
    return {k: int(v) for k, v in m.get_fused_operator_statistics().items()}


class FusionError(RuntimeError):
    """The bert optimizer did not fuse the encoder as expected (e.g. a transformers upgrade
    changed the traced attention graph)."""


def check_fusions(fusions, num_layers):
    """Every encoder layer must become one Attention (or MultiHeadAttention) node, with its
    two residual LayerNorms as SkipLayerNormalization and its FFN Add+Gelu as BiasGelu."""
    att = fusions.get("Attention", 0) + fusions.get("MultiHeadAttention", 0)
    want = {"attention": (att, num_layers),
            "SkipLayerNormalization": (fusions.get("SkipLayerNormalization", 0), 2 * num_layers),
            "BiasGelu": (fusions.get("BiasGelu", 0), num_layers)}
    bad = {k: v for k, v in want.items() if v[0] != v[1]}
    if bad:
        raise FusionError("ORT transformer optimizer did not fuse the encoder: "
                          + ", ".join(f"{k} {got} (want {exp})" for k, (got, exp) in bad.items())
                          + f"; all counts {fusions}. The exported attention graph no longer "
                          "matches onnxruntime.transformers fusion_attention (see "
                          "export.classic_attention)")
    return fusions


def quantize_int8(src, dst, per_channel=False):
    """int8 weights, activations quantized at run time (quantize_dynamic). per_channel: one
    weight scale per output column instead of one per tensor; QAttention's packed Q, K and V
    then no longer share one scale. For model 2.2.0's weights it brought the int8 outputs 2.6x
    closer to the fp32 export's (mean |d| of the z output 0.187 -> 0.073 on dev) for 3-5% more
    time per pair (MatMulIntegerToFloat's per-column scaling; docs/compression.md section 4).
    Model 1.0.0 and the tier were built per tensor."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    # fused com.microsoft ops defeat shape inference; their outputs are float
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=per_channel,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return dst


def export_all(model, out_path, num_heads, hidden, quantize=True, optimize=True, keep_fp32=None,
               check_fused=True, classic=True, mha=False, per_channel=False):
    """Export -> (optimize) -> (quantize) to out_path. Returns dict of step info.

    classic=False exports transformers' own attention graph (not fused; for comparisons only,
    with check_fused=False). mha=True fuses attention into MultiHeadAttention with the Q/K/V
    MatMuls left separate (int8: MatMulInteger each, as unfused) instead of one Attention
    with packed QKV weights (int8: QAttention, one weight scale for Q, K and V unless
    per_channel, see quantize_int8)."""
    info = {}
    with tempfile.TemporaryDirectory() as td:
        p0 = export_onnx(model, os.path.join(td, "raw.onnx"), classic=classic)
        cur = p0
        if optimize:
            p1 = os.path.join(td, "opt.onnx")
            info["fusions"] = optimize_bert(cur, p1, num_heads, hidden, mha=mha)
            if check_fused:
                check_fusions(info["fusions"], model.bert.config.num_hidden_layers)
            cur = p1
        if keep_fp32:
            shutil.copy(cur, keep_fp32)
        if quantize:
            p2 = os.path.join(td, "q.onnx")
            quantize_int8(cur, p2, per_channel=per_channel)
            info["per_channel"] = per_channel
            cur = p2
        shutil.copy(cur, out_path)
    return info


def ort_session(path, threads=1):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_scores(sess, seqs, batch=64):
    from .encode import pad_batch
    order = np.argsort([len(s) for s in seqs])
    res = [None] * len(seqs)
    for i in range(0, len(seqs), batch):
        idx = order[i:i + batch]
        ids, mask = pad_batch([seqs[j] for j in idx])
        sc = sess.run(["scores"], {"input_ids": ids, "attention_mask": mask})[0]
        for j, r in zip(idx, sc):
            res[j] = r
    return np.stack(res)


def output_entries(kinds, thresholds=None):
    """kinds: list of output names in column order among z / da51 / da70 / hter / critical."""
    thresholds = thresholds or {}
    ents = []
    for i, k in enumerate(kinds):
        if k == "hter":
            ents.append({"name": "hter", "index": i, "kind": "regression", "transform": "sigmoid",
                         "label": "predicted HTER (post-editing effort, 0 = no edit)",
                         "default_threshold": 0.0, "thresholds": {}})
        elif k == "critical":
            th = thresholds.get(k, {})
            ents.append({"name": "critical", "index": i, "kind": "critical",
                         "transform": "sigmoid",
                         "label": "probability of a critical error (WMT21 CED)",
                         "default_threshold": float(th.get("_default", 0.5)),
                         "thresholds": {lp: float(v) for lp, v in th.items() if lp != "_default"}})
        elif k == "z":
            ents.append({"name": "z", "index": i, "kind": "regression", "transform": "identity",
                         "label": "predicted z_mean (DA z-score)", "default_threshold": 0.0,
                         "thresholds": thresholds.get("z", {})})
        else:
            t = int(k[2:])
            th = thresholds.get(k, {})
            ents.append({"name": k, "index": i, "kind": "classification", "transform": "sigmoid",
                         "label": f"acceptable when mean DA >= {t}", "da_threshold": t,
                         "default_threshold": float(th.get("_default", 0.5)),
                         "thresholds": {lp: float(v) for lp, v in th.items() if lp != "_default"}})
    return ents


def write_model_json(path, name, kinds, thresholds=None, default_output=None, metrics=None,
                     provenance=None, size_bytes=0, latency_ms=0.0, max_len=128, version="1.0.0"):
    outs = output_entries(kinds, thresholds)
    default_output = default_output or ("da51" if "da51" in kinds else kinds[0])
    head = [o["kind"] for o in outs if o["name"] == default_output][0]
    # classification outputs first for readability, like the contract example
    outs = sorted(outs, key=lambda o: (o["kind"] != "classification", o["index"]))
    doc = {"name": name, "version": version, "head": head, "max_len": max_len,
           "pair_format": "xlmr", "special_tokens": {"bos": 0, "pad": 1, "eos": 2, "unk": 3},
           "onnx": {"inputs": ["input_ids", "attention_mask"], "output": "scores"},
           "outputs": outs, "default_output": default_output, "metrics": metrics or {},
           "provenance": provenance or {}, "size_bytes": int(size_bytes),
           # the gate refuses a model.onnx that does not match (corrupted, replaced)
           "sha256": hashlib.sha256(open(os.path.join(os.path.dirname(path), "model.onnx"), "rb")
                                    .read()).hexdigest(),
           "latency_ms_batch1": float(latency_ms)}
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return doc

"""ONNX export, bert graph optimization, int8 dynamic quantization, model.json."""
import hashlib
import json
import os
import shutil
import tempfile

import numpy as np
import torch


def export_onnx(model, path, opset=17):
    model = model.eval().float().cpu()
    v = model.bert.config.vocab_size
    ids = torch.tensor([[0, 5, 6, 2, 2, 7, 2], [0, 5, 2, 2, 7, 2, 1]], dtype=torch.long) % v
    mask = (ids != 1).long()
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask), path, input_names=["input_ids", "attention_mask"],
                          output_names=["scores"], opset_version=opset, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                        "attention_mask": {0: "batch", 1: "seq"},
                                        "scores": {0: "batch"}})
    return path


def optimize_bert(src, dst, num_heads, hidden):
    """onnxruntime.transformers optimizer (bert fusions), CPU-only, fp32."""
    from onnxruntime.transformers import optimizer
    m = optimizer.optimize_model(src, model_type="bert", num_heads=num_heads, hidden_size=hidden,
                                 opt_level=1, use_gpu=False, only_onnxruntime=False)
    m.save_model_to_file(dst)
    return m.get_fused_operator_statistics()


def quantize_int8(src, dst):
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    # fused com.microsoft ops defeat shape inference; their outputs are float
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=False,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return dst


def export_all(model, out_path, num_heads, hidden, quantize=True, optimize=True, keep_fp32=None):
    """Export -> (optimize) -> (quantize) to out_path. Returns dict of step info."""
    info = {}
    with tempfile.TemporaryDirectory() as td:
        p0 = export_onnx(model, os.path.join(td, "raw.onnx"))
        cur = p0
        if optimize:
            p1 = os.path.join(td, "opt.onnx")
            info["fusions"] = optimize_bert(cur, p1, num_heads, hidden)
            cur = p1
        if keep_fp32:
            shutil.copy(cur, keep_fp32)
        if quantize:
            p2 = os.path.join(td, "q.onnx")
            quantize_int8(cur, p2)
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

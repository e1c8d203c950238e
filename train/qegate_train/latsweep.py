"""Latency of every pruning level (int8 dynamic, and the unpruned fp32/int8 baselines) at batch 1.
Latency does not depend on the weights, so random-initialised exports of the same architecture
(trimmed vocabulary) are timed."""
import json
import os

import numpy as np

from .hfbase import load_base

from . import workdir
from .bench import interleaved_latency
from .export import export_all
from .ship import dev_seqs
from .train import TASKS, build_model


def sweep(carry, model_dir, out_json, levels=(2, 3, 4, 6, 8, 12), seconds=60.0, log=print):
    base = load_base(carry)
    d = workdir.path("lat", create=True)
    _, seqs = dev_seqs(model_dir)
    rng = np.random.default_rng(0)
    lat_seqs = [seqs[i] for i in rng.choice(len(seqs), 200, replace=False)]
    res = {"n_pairs": len(lat_seqs), "mean_len": float(np.mean([len(s) for s in lat_seqs])),
           "cpu": _cpu(), "ms": {}}
    paths = {}
    for L in levels:
        q, f = os.path.join(d, f"L{L}_int8.onnx"), os.path.join(d, f"L{L}_fp32.onnx")
        if not (os.path.exists(q) and os.path.exists(f)):
            m = build_model(base, L, TASKS["multi"], attn="eager").eval()
            export_all(m, q, base.NH, base.H, quantize=True, keep_fp32=f)
        paths[f"L{L}_int8"], paths[f"L{L}_fp32"] = q, f
    if model_dir and os.path.exists(os.path.join(model_dir, "model.onnx")):
        paths["shipped"] = os.path.join(model_dir, "model.onnx")
    res["loadavg_before"] = os.getloadavg()
    for th in (1, 2):
        r = interleaved_latency(paths, lat_seqs, th, seconds=seconds)
        for k, v in r.items():
            res["ms"][f"{k}_t{th}"] = v["median_ms"]
            log(f"{k} t{th} {v['median_ms']:.2f} ms (n={v['n']})")
        res[f"loadavg_after_t{th}"] = os.getloadavg()
        with open(out_json, "w") as fh:
            json.dump(res, fh, indent=1)
    return res


def _cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f" x{os.cpu_count()}"
    except OSError:
        pass
    return f"{os.cpu_count()} cpus"

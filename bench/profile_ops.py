"""Per-op-type kernel time of a model at several rows per ORT run (docs/BENCHMARKS.md, issue 19).

    PYTHONPATH=train train/.venv/bin/python bench/profile_ops.py [model_dir] [rows ...]

512 MLQE-PE dev pairs (seed 0) encoded as the gate does, sorted by length (little padding), run
in batches of each size on one ORT session with one thread and ORT profiling on: one warm-up
pass, one timed pass; prints pairs/s of the timed pass, the kernel-time share per op type of
both passes, the kernel time outside the encoder layers (embeddings, pooling, head) and ORT's
time per run outside the kernels (model_run minus the kernels: dispatch, allocation; inflated
by the profiling itself). Profiles go to the system temp directory.
"""
import collections
import json
import os
import re
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from qegate_train import data
from qegate_train.encode import encode_pairs


# node names inside an encoder layer: the export's layer scopes, the fused attention and the
# nodes cpu-graph names after the fusions it undoes
LAYER_NODE = re.compile(r"layer\.\d+|Attention_\d+|AddBias_")


def batches(seqs, b, pad):
    for i in range(0, len(seqs), b):
        chunk = seqs[i:i + b]
        n = max(map(len, chunk))
        ids = np.full((len(chunk), n), pad, np.int64)
        mask = np.zeros_like(ids)
        for j, s in enumerate(chunk):
            ids[j, :len(s)], mask[j, :len(s)] = s, 1
        yield {"input_ids": ids, "attention_mask": mask}


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else "models/default"
    sizes = [int(x) for x in sys.argv[2:]] or [1, 8, 32]
    meta = json.load(open(os.path.join(model, "model.json")))
    dv = data.load("dev")
    tok = Tokenizer.from_file(os.path.join(model, "tokenizer.json"))
    idx = np.random.default_rng(0).choice(len(dv.src), 512, replace=False)
    seqs = sorted(encode_pairs(tok, [dv.src[i] for i in idx], [dv.mt[i] for i in idx],
                               meta.get("max_len", 128)), key=len)
    pad = meta["special_tokens"]["pad"]
    for b in sizes:
        so = ort.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(tempfile.gettempdir(), f"qegate_ops_b{b}")
        s = ort.InferenceSession(os.path.join(model, "model.onnx"), so,
                                 providers=["CPUExecutionProvider"])
        for feed in batches(seqs, b, pad):  # warm-up
            s.run(None, feed)
        t0 = time.perf_counter()
        for feed in batches(seqs, b, pad):
            s.run(None, feed)
        wall = time.perf_counter() - t0
        per, outside, run_us = collections.Counter(), 0, 0
        for e in json.load(open(s.end_profiling())):
            if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
                per[e["args"]["op_name"]] += e["dur"]
                if not LAYER_NODE.search(e["name"]):
                    outside += e["dur"]
            elif e.get("cat") == "Session" and e["name"] == "model_run":
                run_us += e["dur"]
        tot = sum(per.values())
        n = 2 * len(seqs)  # both passes
        print(f"{b} rows per run: {len(seqs) / wall:.0f} pairs/s (timed pass, profiling on)")
        for op, d in per.most_common(12):
            print(f"  {op:28s} {100 * d / tot:5.1f}%  {d / 1e3 / n:.3f} ms/pair")
        print(f"  kernels outside the encoder layers {100 * outside / tot:.1f}% "
              f"({outside / 1e3 / n:.3f} ms/pair); ORT outside the kernels "
              f"{(run_us - tot) / 1e3 / n:.3f} ms/pair (kernels {tot / 1e3 / n:.3f})")


if __name__ == "__main__":
    main()

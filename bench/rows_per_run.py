"""Milliseconds per pair of ONNX files of one model at several rows per ORT run (docs/compression.md
section 4, issue 19).

    PYTHONPATH=train train/.venv/bin/python bench/rows_per_run.py MODEL_DIR [ONNX ...] [--rows 1,4,8,16,32]

512 MLQE-PE dev pairs (seed 0) encoded with MODEL_DIR's tokenizer, sorted by length (little
padding), run in batches of each size on one ORT session per file with one thread; the files and
sizes are interleaved for --rounds rounds and the median is printed. Default files: MODEL_DIR's
model.onnx. Compare ratios within one run; the machine may be shared.
"""
import argparse
import os
import time

import numpy as np

from qegate_train.encode import pad_batch
from qegate_train.export import ort_session
from qegate_train.ship import dev_seqs


def ms_per_pair(sess, seqs, rows):
    feeds = [pad_batch(seqs[i:i + rows]) for i in range(0, len(seqs), rows)]
    for ids, mask in feeds[:3]:
        sess.run(None, {"input_ids": ids, "attention_mask": mask})
    t0 = time.perf_counter()
    for ids, mask in feeds:
        sess.run(None, {"input_ids": ids, "attention_mask": mask})
    return (time.perf_counter() - t0) / len(seqs) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("onnx", nargs="*")
    ap.add_argument("--rows", default="1,4,8,16,32")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    files = a.onnx or [os.path.join(a.model_dir, "model.onnx")]
    sizes = [int(x) for x in a.rows.split(",")]
    _, seqs = dev_seqs(a.model_dir)
    rng = np.random.default_rng(0)
    sub = sorted((seqs[i] for i in rng.choice(len(seqs), 512, replace=False)), key=len)
    sessions = {f: ort_session(f, 1) for f in files}
    res = {}
    for _ in range(a.rounds):
        for b in sizes:
            for f, s in sessions.items():
                res.setdefault((f, b), []).append(ms_per_pair(s, sub, b))
    print(f"ms per pair, median of {a.rounds} rounds; rows per run: {sizes}")
    for f in files:
        print(f, " ".join(f"{np.median(res[(f, b)]):.2f}" for b in sizes))


if __name__ == "__main__":
    main()

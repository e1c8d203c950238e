"""The GPU sweep (one device call): default candidate first, then teacher/baseline, pruning sweep,
single-task and bilingual comparisons. Results are re-packed into $OUT after every run."""
import os
import shutil
import tarfile
import time

import numpy as np

from . import workdir

M = "multi"
PLAN = [
    # (a) default candidate: multi-output, multilingual, 4 layers
    {"name": "multi_L4", "layers": 4, "task": M, "epochs": 3, "save": True},
    # (b) unpruned teacher / baseline
    {"name": "multi_L12", "layers": 12, "task": M, "epochs": 3, "teacher": True},
    # distilled default candidate
    {"name": "multi_L4_kd", "layers": 4, "task": M, "epochs": 3, "distill": 0.5, "save": True},
    # (c) pruning sweep
    {"name": "multi_L2", "layers": 2, "task": M, "epochs": 3},
    {"name": "multi_L3", "layers": 3, "task": M, "epochs": 3, "save": True},
    {"name": "multi_L4_lr1e-4", "layers": 4, "task": M, "epochs": 4, "lr": 1e-4, "save": True},
    {"name": "multi_L6", "layers": 6, "task": M, "epochs": 3},
    {"name": "multi_L8", "layers": 8, "task": M, "epochs": 3},
    # (d) single-task at two pruning levels
    {"name": "reg_L4", "layers": 4, "task": "reg", "epochs": 3},
    {"name": "cls51_L4", "layers": 4, "task": "cls51", "epochs": 3},
    {"name": "cls70_L4", "layers": 4, "task": "cls70", "epochs": 3},
    # (e) bilingual
    {"name": "bi_et-en_L4", "layers": 4, "task": M, "epochs": 4, "pairs": ["et-en"]},
    {"name": "bi_ro-en_L4", "layers": 4, "task": M, "epochs": 4, "pairs": ["ro-en"]},
    {"name": "bi_si-en_L4", "layers": 4, "task": M, "epochs": 4, "pairs": ["si-en"]},
    {"name": "bi_ne-en_L4", "layers": 4, "task": M, "epochs": 4, "pairs": ["ne-en"]},
    {"name": "multi_L3_kd", "layers": 3, "task": M, "epochs": 3, "distill": 0.5},
    {"name": "reg_L12", "layers": 12, "task": "reg", "epochs": 3},
    {"name": "cls51_L12", "layers": 12, "task": "cls51", "epochs": 3},
    {"name": "cls70_L12", "layers": 12, "task": "cls70", "epochs": 3},
]


def main(carry, out, budget, smoke=False, names=None):
    from . import train
    work = workdir.path("sweep", create=True)
    os.makedirs(out, exist_ok=True)
    logf = open(os.path.join(work, "sweep.log"), "a")

    def log(msg):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n"); logf.flush()

    plan = [dict(c) for c in PLAN if not names or c["name"] in names]
    if smoke:
        for c in plan:
            c["max_steps"] = 2
            c["epochs"] = 1
            c["layers"] = min(c["layers"], 2)
    orig_load = train.load_enc
    if smoke:
        def small(path, pairs=None, max_len=128):
            d = orig_load(path, pairs, max_len)
            keep = np.arange(len(d["ids"])) % 20 == 0
            return {k: v[keep] for k, v in d.items()}
        train.load_enc = small

    def pack():
        buf = os.path.join(out, "results.tar")
        with tarfile.open(buf + ".tmp", "w") as t:
            for f in sorted(os.listdir(work)):
                if f.endswith((".json", ".npy", ".log")) and f != "teacher_train.npy":
                    t.add(os.path.join(work, f), arcname=f)
        os.replace(buf + ".tmp", buf)
        for f in os.listdir(work):
            if f.startswith("w_") and f.endswith(".pt"):
                shutil.move(os.path.join(work, f), os.path.join(out, f))

    orig_run_one = train.run_one

    def run_one(*a, **k):
        r = orig_run_one(*a, **k)
        pack()
        return r
    train.run_one = run_one
    try:
        train.run_plan(plan, carry, work, budget_s=budget, log=log)
    finally:
        pack()
        train.run_one = orig_run_one
        train.load_enc = orig_load

"""`qegate-train ablate`: model v2's runs in one call (a GPU round): the ship candidate first,
then the 4-layer tier, then one run per extra-row kind left out (docs/compression.md, model
v2 ablation). Results (res_*.json, pred_*.npy, w_*.pt, log) are copied into --out after every
run, so a wall-clock cut still returns every finished run."""
import dataclasses
import os
import shutil
import time

from . import workdir
from .augment import Extras

V2 = dataclasses.asdict(Extras.v2())


def _v2(**over):
    return V2 | over


PLAN = [
    {"name": "v2_L6", "layers": 6, "extras": _v2()},
    {"name": "v2_L4", "layers": 4, "extras": _v2()},
    {"name": "da_L6", "layers": 6, "extras": dataclasses.asdict(Extras())},
    {"name": "v2_L6_no_unrelated", "layers": 6, "extras": _v2(unrelated=0.0)},
    {"name": "v2_L6_no_cut_append", "layers": 6, "extras": _v2(cut=0.0, append=0.0)},
    {"name": "v2_L6_no_ced", "layers": 6, "extras": _v2(ced=0.0)},
    {"name": "v2_L6_no_hter", "layers": 6, "extras": _v2(hter=False)},
    {"name": "v2_L6_pe", "layers": 6, "extras": _v2(pe=0.25)},
]


def main(carry, out, budget_s, epochs=3, names=None, smoke=False, log=print):
    from . import multitask
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    done = []
    for c in PLAN:
        if names and c["name"] not in names:
            continue
        left = budget_s - (time.time() - t0)
        if done and left < 60:
            log(f"skip {c['name']}: {left:.0f}s left")
            continue
        cfg = dict(c, epochs=1 if smoke else epochs, bs=32, lr=5e-5, patience=0,
                   ckpt_seconds=300, log_every=200)
        if smoke:
            cfg |= {"max_steps": 2, "layers": 2, "dev_limit": 50}
        rd = workdir.path("ablate", c["name"], create=True)
        r = multitask.run(cfg, carry, rd, log=log)
        for f in os.listdir(rd):
            if f.startswith(("res_", "pred_", "w_")):
                shutil.copy(os.path.join(rd, f), os.path.join(out, f))
        done.append(c["name"])
        log(f"{c['name']}: {r['summary']} ({time.time() - t0:.0f}s)")
    return done

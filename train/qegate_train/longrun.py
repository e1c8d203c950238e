"""`qegate-train long-run`: one long, resumable training run for the next model round.

Meant for a slow shared CPU (or a GPU box): it trains one student directly on the labels
(no teacher: on 2 CPUs the 12-layer teacher alone takes ~15 h), with more epochs than the
sweep, early stopping on dev (`--patience` epochs without a better selection score, the
sweep's mean of Pearson, F1@51 and F1@70) and a checkpoint at least every `--ckpt-minutes`
of wall clock. Everything lands in <work dir>/<name>/: ckpt_<name>.pt, log.txt, and at the
end res_<name>.json, w_<name>.pt, pred_<name>.npy. Rerunning the same command resumes from
the checkpoint (same batches: the per-epoch permutation is a function of seed and epoch).
Nothing is shipped: `ship --run ... --weights ...` is a separate, deliberate step."""
import json
import os
import time

from . import workdir
from .prepare import carry_dir, prepare


def run_dir(name):
    """<work dir>/<name>: the run's checkpoint, log and results."""
    return workdir.path(workdir.slug(name), create=True)


def long_run(name="next_L6", layers=6, epochs=10, patience=2, threads=1, ckpt_minutes=10.0,
             lr=5e-5, dev_probe=500, log_every=25, extras=None, bs=32, max_steps=None):
    """extras: augment.Extras; when it adds anything, the v2 multi-target run (multitask.py)
    on the v2 carry, else the DA-only run."""
    import torch

    from . import train
    from .hfbase import load_base
    out = run_dir(name)
    logf = open(os.path.join(out, "log.txt"), "a")

    def log(msg):
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n"); logf.flush()

    if threads:
        torch.set_num_threads(threads)
    if extras is not None and extras.any():
        import dataclasses

        from . import multitask
        carry = carry_dir(v2=True)
        if not os.path.exists(os.path.join(carry, "prepare.json")):
            prepare(carry, log=log, v2=True)
        if os.path.exists(os.path.join(out, f"res_{name}.json")):
            log(f"{name}: already finished")
            return json.load(open(os.path.join(out, f"res_{name}.json")))
        cfg = {"name": name, "layers": layers, "epochs": epochs, "lr": lr, "bs": bs,
               "patience": patience, "ckpt_seconds": ckpt_minutes * 60, "log_every": log_every,
               "extras": dataclasses.asdict(extras)}
        if max_steps:
            cfg["max_steps"] = max_steps
        log(f"long-run v2 {json.dumps(cfg)} threads={torch.get_num_threads()}")
        r = multitask.run(cfg, carry, out, log=log)
        log(f"{name}: finished, {r['steps']} steps, best epoch {r['best_epoch']}: "
            f"{json.dumps(r['summary'])}")
        return r
    carry = carry_dir()
    if not os.path.exists(os.path.join(carry, "prepare.json")):
        prepare(carry, log=log)
    if os.path.exists(os.path.join(out, f"res_{name}.json")):
        log(f"{name}: already finished ({os.path.join(out, f'res_{name}.json')})")
        return json.load(open(os.path.join(out, f"res_{name}.json")))
    cfg = {"name": name, "layers": layers, "task": "multi", "epochs": epochs, "lr": lr,
           "patience": patience, "save": True, "ckpt_dir": out, "ckpt_every": 0,
           "ckpt_seconds": ckpt_minutes * 60, "dev_probe": dev_probe, "log_every": log_every}
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    log(f"long-run {json.dumps(cfg)} device={device} threads={torch.get_num_threads()}")
    base = load_base(carry)
    tr = train.load_enc(os.path.join(carry, "train.npz"))
    dv = train.load_enc(os.path.join(carry, "dev.npz"))
    if dev_probe:
        log(f"{name}: dev loss of a constant predictor (train means and rates) on the same "
            f"{dev_probe}-pair probe, for scale: {prior_probe_loss(tr, dv, dev_probe):.4f}")
    r = train.run_one(cfg, base, tr, dv, device, out, log=log)
    r.pop("_model")
    log(f"{name}: finished, {r['steps']} steps, best epoch {r['best_epoch']}: "
        f"{json.dumps(r['history'][r['best_epoch'] - 1])}")
    return r


def prior_probe_loss(tr, dv, n):
    """The training loss (MSE z + BCE@51 + BCE@70) on the dev probe rows of a model that always
    predicts the train mean z and the train acceptance rates: what "no signal" scores."""
    import numpy as np

    from .train import _probe_rows
    rows = _probe_rows(dv, n)
    y = dv["y"][rows].astype(np.float64)
    mu = tr["y"].astype(np.float64).mean(0)
    loss = np.mean((y[:, 0] - mu[0]) ** 2)
    for j in (1, 2):
        p = mu[j]
        loss += -np.mean(y[:, j] * np.log(p) + (1 - y[:, j]) * np.log(1 - p))
    return float(loss)

"""Fine-tuning runs (GPU or CPU): cross-encoder on MLQE-PE, layer pruning, distillation.

Reads <work dir>/carry/ (prepare.py). One plan = list of runs; each run writes dev predictions and
metrics as soon as it finishes, so a wall-clock cut still leaves results."""
import json
import math
import os
import time

import numpy as np

from .hfbase import load_base
import torch
import torch.nn.functional as F

from .data import PAIRS
from .encode import pair_ids
from .metrics import cols_from_scores, evaluate
from .model import QEModel

TASKS = {"multi": ["z", "da51", "da70"], "reg": ["z"], "cls51": ["da51"], "cls70": ["da70"],
         # model v2 (augment.py, multitask.py): + HTER and the WMT21 critical-error output
         "v2": ["z", "da51", "da70", "hter", "critical"]}


def load_enc(path, pairs=None, max_len=128):
    with np.load(path) as f:
        z = {k: f[k] for k in f.files}   # NpzFile re-reads on every access: load once
    so, mo = z["src_off"], z["mt_off"]
    src, mt = z["src_ids"].tolist(), z["mt_ids"].tolist()
    seqs = [pair_ids(src[so[i]:so[i + 1]], mt[mo[i]:mo[i + 1]], max_len) for i in range(len(so) - 1)]
    lp = np.array([PAIRS[i] for i in z["lp"]])
    keep = np.ones(len(seqs), bool) if not pairs else np.isin(lp, pairs)
    idx = np.nonzero(keep)[0]
    L = np.array([len(seqs[i]) for i in idx])
    ids = np.ones((len(idx), max_len), np.int64)
    for j, i in enumerate(idx):
        ids[j, :L[j]] = seqs[i]
    mean, zz = z["mean"][idx], z["z"][idx]
    y = np.stack([zz, (mean >= 51).astype(np.float32), (mean >= 70).astype(np.float32)], 1)
    return {"ids": ids, "len": L, "lp": lp[idx], "mean": mean, "z": zz, "y": y}


def build_model(base, n_layers, kinds, attn="sdpa", freeze_word=True):
    cfg = base.bert_config(vocab_size=len(base.rows), num_layers=n_layers)
    model = QEModel(cfg, n_out=len(kinds), attn=attn)
    sd = {k: torch.from_numpy(v) for k, v in base.bert_state_dict(layers=range(n_layers)).items()}
    missing, unexpected = model.bert.load_state_dict(sd, strict=False)
    assert not unexpected and not [m for m in missing if "pooler" not in m], (missing, unexpected)
    if freeze_word:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    return model


def trainable_state(model):
    """State dict without the frozen word embeddings, fp16 (what travels back)."""
    return {k: v.detach().to(torch.float16).cpu() for k, v in model.state_dict().items()
            if k != "bert.embeddings.word_embeddings.weight"}


def predict(model, d, device, bs=256):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(d["ids"]), bs):
            L = int(d["len"][i:i + bs].max())
            ids = torch.from_numpy(d["ids"][i:i + bs, :L]).to(device)
            mask = (ids != 1).long()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                out.append(model(ids, mask).float().cpu().numpy())
    return np.concatenate(out)


def run_one(cfg, base, tr, dv, device, out_dir, teacher=None, log=print):
    """cfg: name, layers, task, epochs, lr, bs, pairs (bilingual), distill (alpha), max_steps."""
    name, kinds = cfg["name"], TASKS[cfg.get("task", "multi")]
    cols = [["z", "da51", "da70"].index(k) for k in kinds]
    torch.manual_seed(cfg.get("seed", 0))
    trd = tr if not cfg.get("pairs") else _subset(tr, np.isin(tr["lp"], cfg["pairs"]))
    dvd = dv if not cfg.get("pairs") else _subset(dv, np.isin(dv["lp"], cfg["pairs"]))
    model = build_model(base, cfg["layers"], kinds).to(device)
    bs, epochs = cfg.get("bs", 32), cfg.get("epochs", 3)
    steps_per_epoch = math.ceil(len(trd["ids"]) / bs)
    total = min(steps_per_epoch * epochs, cfg.get("max_steps", 10 ** 9))
    head = [p for n, p in model.named_parameters() if n.startswith("head") and p.requires_grad]
    enc = [p for n, p in model.named_parameters() if not n.startswith("head") and p.requires_grad]
    opt = torch.optim.AdamW([{"params": enc, "lr": cfg.get("lr", 5e-5)},
                             {"params": head, "lr": cfg.get("head_lr", 5e-4)}], weight_decay=0.01)
    warm = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    y_all = torch.from_numpy(trd["y"][:, cols])
    t_all = None
    if teacher is not None and cfg.get("distill"):
        tm = np.ones(len(tr["ids"]), bool) if not cfg.get("pairs") else np.isin(tr["lp"], cfg["pairs"])
        t_all = torch.from_numpy(np.ascontiguousarray(teacher[tm][:, cols]))
    alpha = cfg.get("distill", 0.0)
    t0 = time.time()
    step, best, hist, ep0, i0 = 0, None, [], 0, 0
    ckpt = os.path.join(cfg["ckpt_dir"], f"ckpt_{name}.pt") if cfg.get("ckpt_dir") else None
    if ckpt and os.path.exists(ckpt):
        st = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(st["model"]); opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        step, best, hist, ep0, i0 = st["step"], st["best"], st["hist"], st["ep"], st["i"]
        log(f"[{name}] resumed at epoch {ep0 + 1} step {step}")
    every = cfg.get("ckpt_every", 0)
    # ckpt_seconds: also checkpoint by wall clock, so a slow CPU run loses at most that much
    every_s, t_ckpt = cfg.get("ckpt_seconds", 0), time.time()
    probe = _probe_rows(dvd, cfg.get("dev_probe", 0))
    t_log, s_log = time.time(), step
    for ep in range(ep0, epochs):
        if _early_stop(hist, cfg.get("patience", 0)):
            break  # a resumed run that had already stopped early
        model.train()
        # per-epoch permutation from (seed, epoch): a resumed run sees the same batches
        perm = np.random.default_rng([cfg.get("seed", 0), ep]).permutation(len(trd["ids"]))
        for i in range(i0 if ep == ep0 else 0, len(perm), bs):
            if step >= total:
                break
            if ckpt and step > 0 and i != i0 and (
                    (every and step % every == 0) or
                    (every_s and time.time() - t_ckpt >= every_s)):
                _save_ckpt(ckpt, model, opt, sched, step, best, hist, ep, i)
                t_ckpt = time.time()
                if probe is not None:
                    log(f"[{name}] checkpoint at epoch {ep + 1} step {step}/{total}: dev loss "
                        f"({len(probe)}-pair probe) {_dev_loss(model, dvd, probe, cols, kinds, device):.4f}")
                    model.train()
                else:
                    log(f"[{name}] checkpoint at epoch {ep + 1} step {step}/{total}")
            if cfg.get("log_every") and step % cfg["log_every"] == 0 and step > s_log:
                log(f"[{name}] epoch {ep + 1} step {step}/{total} "
                    f"{(step - s_log) / (time.time() - t_log):.3f} steps/s")
                t_log, s_log = time.time(), step
            b = perm[i:i + bs]
            L = int(trd["len"][b].max())
            ids = torch.from_numpy(trd["ids"][b, :L]).to(device)
            mask = (ids != 1).long()
            y = y_all[b].to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                s = model(ids, mask).float()
            loss = _loss(s, y, kinds)
            if t_all is not None:
                tt = t_all[b].to(device)
                soft = torch.stack([tt[:, j] if k == "z" else torch.sigmoid(tt[:, j])
                                    for j, k in enumerate(kinds)], 1)
                loss = (1 - alpha) * loss + alpha * _loss(s, soft, kinds)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sched.step(); step += 1
        pred = predict(model, dvd, device)
        met, thr = evaluate(dvd["lp"], dvd["mean"], dvd["z"], cols_from_scores(pred, kinds))
        sel = _select_score(met["avg"])
        hist.append({"epoch": ep + 1, "step": step, "sel": sel, "sec": round(time.time() - t0, 1),
                     **{k: round(v, 4) for k, v in met["avg"].items() if k in _KEYS}})
        log(f"[{name}] {hist[-1]}")
        if best is None or sel > best["sel"]:
            best = {"sel": sel, "epoch": ep + 1, "pred": pred, "metrics": met, "thr": thr,
                    "state": trainable_state(model) if cfg.get("save") else None}
        if ckpt:
            _save_ckpt(ckpt, model, opt, sched, step, best, hist, ep + 1, 0)
            t_ckpt = time.time()
        if step >= total:
            break
        if _early_stop(hist, cfg.get("patience", 0)):
            log(f"[{name}] early stop: no dev improvement for {cfg['patience']} epochs "
                f"(best epoch {best['epoch']})")
            break
    res = {"name": name, "cfg": cfg, "kinds": kinds, "history": hist, "best_epoch": best["epoch"],
           "train_sec": round(time.time() - t0, 1), "steps": step,
           "steps_per_sec": round(step / (time.time() - t0), 2), "n_train": len(trd["ids"]),
           "metrics": best["metrics"], "thresholds": best["thr"]}
    os.makedirs(out_dir, exist_ok=True)
    np.save(os.path.join(out_dir, f"pred_{name}.npy"), best["pred"].astype(np.float32))
    with open(os.path.join(out_dir, f"res_{name}.json"), "w") as f:
        json.dump(res, f, indent=1)
    if best["state"] is not None:
        torch.save(best["state"], os.path.join(out_dir, f"w_{name}.pt"))
    res["_model"] = model
    return res


_KEYS = {"pearson", "da51_f1", "da70_f1", "z@51_f1", "z@70_f1"}


def _early_stop(hist, patience):
    """True when the last `patience` epochs all failed to beat the best epoch before them."""
    if not patience or len(hist) <= patience:
        return False
    before = max(h["sel"] for h in hist[:-patience])
    return all(h["sel"] <= before for h in hist[-patience:])


def _probe_rows(d, n):
    """A fixed, evenly spread subset of dev rows for cheap dev-loss readings between epochs."""
    if not n:
        return None
    return np.linspace(0, len(d["ids"]) - 1, min(n, len(d["ids"]))).astype(np.int64)


def _dev_loss(model, d, rows, cols, kinds, device, bs=64):
    """The training loss (labels only) on dev rows, averaged over batches."""
    model.eval()
    tot, n = 0.0, 0
    y_all = torch.from_numpy(d["y"][:, cols])
    with torch.no_grad():
        for j in range(0, len(rows), bs):
            b = rows[j:j + bs]
            L = int(d["len"][b].max())
            ids = torch.from_numpy(d["ids"][b, :L]).to(device)
            s = model(ids, (ids != 1).long()).float()
            tot += float(_loss(s, y_all[b].to(device), kinds)) * len(b)
            n += len(b)
    return tot / n


def _save_ckpt(path, model, opt, sched, step, best, hist, ep, i):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                "step": step, "best": best, "hist": hist, "ep": ep, "i": i}, tmp)
    os.replace(tmp, path)


def _select_score(avg):
    ks = [k for k in ("pearson", "da51_f1", "da70_f1") if k in avg] or \
         [k for k in ("z@51_f1", "z@70_f1") if k in avg]
    return float(np.mean([avg[k] for k in ks]))


def _loss(s, y, kinds):
    ls = []
    for j, k in enumerate(kinds):
        if k == "z":
            ls.append(F.mse_loss(s[:, j], y[:, j]))
        else:
            ls.append(F.binary_cross_entropy_with_logits(s[:, j], y[:, j]))
    return sum(ls)


def _subset(d, m):
    return {k: v[m] for k, v in d.items()}


def run_plan(plan, carry, out_dir, budget_s=1e9, log=print, est_epoch_s_per_layer=None):
    """Run configs in order while the wall-clock budget allows (skips runs predicted not to fit)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    t0 = time.time()
    base = load_base(carry)
    tr = load_enc(os.path.join(carry, "train.npz"))
    dv = load_enc(os.path.join(carry, "dev.npz"))
    log(f"device={device} train={len(tr['ids'])} dev={len(dv['ids'])} load={time.time() - t0:.1f}s")
    teacher = None
    rate = est_epoch_s_per_layer  # seconds per (layer x epoch x 49k rows), learned online
    done = []
    for cfg in plan:
        frac = len(tr["ids"]) if not cfg.get("pairs") else int(np.isin(tr["lp"], cfg["pairs"]).sum())
        frac /= len(tr["ids"])
        need = (rate or 0) * (cfg["layers"] + 1) * cfg.get("epochs", 3) * frac
        left = budget_s - (time.time() - t0)
        if rate and need > left:
            log(f"skip {cfg['name']}: needs ~{need:.0f}s, {left:.0f}s left")
            continue
        if cfg.get("distill") and teacher is None:
            log(f"skip {cfg['name']}: no teacher")
            continue
        res = run_one(cfg, base, tr, dv, device, out_dir, teacher=teacher, log=log)
        model = res.pop("_model")
        ep = len(res["history"])
        rate = res["train_sec"] / ((cfg["layers"] + 1) * ep * frac)
        if cfg.get("teacher"):
            teacher = predict(model, tr, device)
            np.save(os.path.join(out_dir, "teacher_train.npy"), teacher.astype(np.float32))
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
        done.append(res["name"])
        with open(os.path.join(out_dir, "done.json"), "w") as f:
            json.dump({"done": done, "elapsed": round(time.time() - t0, 1), "rate": rate}, f)
    return done

"""Model v2 training: DA rows plus the extra rows of augment.py, five masked targets
(z, da51, da70, hter, critical), resumable on a slow CPU.

Each epoch is judged on dev by what the gate needs: DA dev Pearson and F1 at both thresholds,
WMT21 CED dev MCC, and the share of unrelated dev pairs (each MT moved to another sentence of
its pair) that the model would accept at its own dev thresholds. The selection score is the mean
of Pearson, F1@51, F1@70 and CED MCC; the unrelated rate is logged, not selected on.

Batches are length-bucketed (rows of similar length together, then the batch order shuffled):
on a CPU, padding is paid in full. The order is a function of (seed, epoch) only, so a resumed
run sees the same batches."""
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import augment, data
from .encode import pair_ids
from .metrics import cols_from_scores, evaluate, evaluate_ced, sigmoid
from .train import _early_stop, _save_ckpt, build_model, trainable_state

KINDS = augment.OUTPUTS


def encode_rows(tok, src, mt, max_len=128):
    """Token ids [N, max_len] (pad 1) and lengths of (src, mt) pairs, xlmr pair format."""
    es = tok.encode_batch(list(src), add_special_tokens=False)
    em = tok.encode_batch(list(mt), add_special_tokens=False)
    ids = np.ones((len(es), max_len), np.int64)
    L = np.zeros(len(es), np.int64)
    for i, (a, b) in enumerate(zip(es, em)):
        s = pair_ids(a.ids, b.ids, max_len)
        ids[i, :len(s)] = s
        L[i] = len(s)
    return ids, L


def batches(lengths, bs, seed, epoch, chunk=50):
    """Length-bucketed batches of row indices: shuffle, sort within chunks of `chunk` batches,
    cut, shuffle the batch order. Deterministic in (seed, epoch)."""
    rng = np.random.default_rng([seed, epoch])
    perm = rng.permutation(len(lengths))
    out = []
    for c in range(0, len(perm), bs * chunk):
        part = perm[c:c + bs * chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        out += [part[i:i + bs] for i in range(0, len(part), bs)]
    return [out[i] for i in rng.permutation(len(out))]


def masked_loss(s, y, m):
    """Sum over targets of the mean loss over rows where the target is known."""
    total = s.new_zeros(())
    for j, k in enumerate(KINDS):
        w = m[:, j]
        if float(w.sum()) == 0:
            continue
        if k == "z":
            l = (s[:, j] - y[:, j]) ** 2
        elif k == "hter":
            l = (torch.sigmoid(s[:, j]) - y[:, j]) ** 2
        else:
            l = F.binary_cross_entropy_with_logits(s[:, j], y[:, j], reduction="none")
        total = total + (l * w).sum() / w.sum()
    return total


def predict_ids(model, ids, L, device, bs=128):
    model.eval()
    order = np.argsort(L)
    out = np.zeros((len(L), len(KINDS)), np.float32)
    with torch.no_grad():
        for i in range(0, len(order), bs):
            b = order[i:i + bs]
            n = int(L[b].max())
            x = torch.from_numpy(ids[b, :n]).to(device)
            out[b] = model(x, (x != 1).long()).float().cpu().numpy()
    return out


class DevSets:
    """Encoded dev data: DA dev, CED dev and the unrelated-dev probe."""

    def __init__(self, tok, max_len=128, limit=None):
        self.da = data.load("dev")
        self.ced = data.load_ced("dev")
        if limit:  # smoke runs: every k-th row, all pairs kept
            self.da = self.da.subset(range(0, len(self.da), max(1, len(self.da) // limit)))
            keep = range(0, len(self.ced), max(1, len(self.ced) // limit))
            self.ced = data.CED([self.ced.src[i] for i in keep], [self.ced.mt[i] for i in keep],
                                [self.ced.lp[i] for i in keep], self.ced.err[list(keep)])
        self.da_ids, self.da_len = encode_rows(tok, self.da.src, self.da.mt, max_len)
        self.ced_ids, self.ced_len = encode_rows(tok, self.ced.src, self.ced.mt, max_len)
        # 200 per pair: a per-epoch reading of the worst case; the full set is measured at ship
        us, um, self.un_lp = augment.unrelated_dev(per_pair=min(200, limit or 200))
        self.un_ids, self.un_len = encode_rows(tok, us, um, max_len)

    def evaluate(self, model, device):
        """(summary, DA dev raw scores, CED dev raw scores, details)."""
        s_da = predict_ids(model, self.da_ids, self.da_len, device)
        cols = cols_from_scores(s_da[:, :3], KINDS[:3])
        met, thr = evaluate(self.da.lp, self.da.mean, self.da.z, cols)
        s_ced = predict_ids(model, self.ced_ids, self.ced_len, device)
        ced, ced_thr = evaluate_ced(self.ced.lp, self.ced.err, sigmoid(s_ced[:, 4]))
        s_un = predict_ids(model, self.un_ids, self.un_len, device)
        p51 = sigmoid(s_un[:, 1])
        acc = np.array([p51[i] >= thr["da51"][lp] for i, lp in enumerate(self.un_lp)])
        a = met["avg"]
        summ = {"pearson": a["pearson"], "da51_f1": a["da51_f1"], "da70_f1": a["da70_f1"],
                "ced_mcc": ced["avg"], "unrelated_accepted": float(acc.mean())}
        summ["sel"] = float(np.mean([summ[k] for k in ("pearson", "da51_f1", "da70_f1",
                                                        "ced_mcc")]))
        return summ, s_da, s_ced, {"da": met, "da_thr": thr, "ced": ced, "ced_thr": ced_thr}


def run(cfg, carry, out_dir, log=print):
    """cfg: name, layers, epochs, lr, bs, patience, ckpt_seconds, extras (augment.Extras
    fields), seed, max_steps. Writes ckpt_<name>.pt, res_<name>.json, w_<name>.pt."""
    from tokenizers import Tokenizer

    from .hfbase import load_base
    name = cfg["name"]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(cfg.get("seed", 0))
    t0 = time.time()
    tok = Tokenizer.from_file(os.path.join(carry, "tokenizer.json"))
    ex = augment.Extras(**cfg["extras"])
    rows = augment.build("train", ex)
    ids, L = encode_rows(tok, rows.src, rows.mt)
    y_all, m_all = torch.from_numpy(rows.y), torch.from_numpy(rows.m)
    dev = DevSets(tok, limit=cfg.get("dev_limit"))
    log(f"[{name}] train rows {rows.info} ({len(rows)}), encoded in {time.time() - t0:.0f}s")
    base = load_base(carry)
    model = build_model(base, cfg["layers"], KINDS).to(device)
    bs, epochs = cfg.get("bs", 32), cfg.get("epochs", 3)
    steps_per_epoch = math.ceil(len(L) / bs)
    total = min(steps_per_epoch * epochs, cfg.get("max_steps", 10 ** 9))
    head = [p for n, p in model.named_parameters() if n.startswith("head") and p.requires_grad]
    enc = [p for n, p in model.named_parameters() if not n.startswith("head") and p.requires_grad]
    opt = torch.optim.AdamW([{"params": enc, "lr": cfg.get("lr", 5e-5)},
                             {"params": head, "lr": cfg.get("head_lr", 5e-4)}], weight_decay=0.01)
    warm = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    ckpt = os.path.join(out_dir, f"ckpt_{name}.pt")
    step, best, hist, ep0, i0 = 0, None, [], 0, 0
    if os.path.exists(ckpt):
        st = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(st["model"]); opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        step, best, hist, ep0, i0 = st["step"], st["best"], st["hist"], st["ep"], st["i"]
        log(f"[{name}] resumed at epoch {ep0 + 1} batch {i0} step {step}/{total}")
    every_s, t_ckpt = cfg.get("ckpt_seconds", 600), time.time()
    t_log, s_log = time.time(), step
    for ep in range(ep0, epochs):
        if _early_stop(hist, cfg.get("patience", 0)) or step >= total:
            break
        model.train()
        plan = batches(L, bs, cfg.get("seed", 0), ep)
        for bi in range(i0 if ep == ep0 else 0, len(plan)):
            if step >= total:
                break
            if every_s and time.time() - t_ckpt >= every_s and bi > 0:
                _save_ckpt(ckpt, model, opt, sched, step, best, hist, ep, bi)
                t_ckpt = time.time()
                log(f"[{name}] checkpoint at epoch {ep + 1} batch {bi}/{len(plan)} step {step}")
            if cfg.get("log_every") and step % cfg["log_every"] == 0 and step > s_log:
                log(f"[{name}] epoch {ep + 1} step {step}/{total} "
                    f"{(step - s_log) / (time.time() - t_log):.3f} steps/s")
                t_log, s_log = time.time(), step
            b = plan[bi]
            n = int(L[b].max())
            x = torch.from_numpy(ids[b, :n]).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                s = model(x, (x != 1).long()).float()
            loss = masked_loss(s, y_all[b].to(device), m_all[b].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sched.step(); step += 1
        summ, s_da, s_ced, det = dev.evaluate(model, device)
        hist.append({"epoch": ep + 1, "step": step, "sec": round(time.time() - t0, 1),
                     **{k: round(v, 4) for k, v in summ.items()}})
        log(f"[{name}] {hist[-1]}")
        if best is None or summ["sel"] > best["sel"]:
            best = {"sel": summ["sel"], "epoch": ep + 1, "pred": s_da, "pred_ced": s_ced,
                    "metrics": det["da"], "thr": det["da_thr"], "ced": det["ced"],
                    "ced_thr": det["ced_thr"], "summary": summ, "state": trainable_state(model)}
        _save_ckpt(ckpt, model, opt, sched, step, best, hist, ep + 1, 0)
        t_ckpt = time.time()
        if _early_stop(hist, cfg.get("patience", 0)):
            log(f"[{name}] early stop (best epoch {best['epoch']})")
            break
    res = {"name": name, "cfg": cfg | {"task": "v2"}, "kinds": KINDS, "history": hist,
           "best_epoch": best["epoch"], "train_sec": round(time.time() - t0, 1), "steps": step,
           "n_train": len(L), "rows": rows.info, "metrics": best["metrics"],
           "thresholds": best["thr"], "ced": best["ced"], "ced_thresholds": best["ced_thr"],
           "summary": best["summary"]}
    np.save(os.path.join(out_dir, f"pred_{name}.npy"), best["pred"])
    np.save(os.path.join(out_dir, f"pred_ced_{name}.npy"), best["pred_ced"])
    torch.save(best["state"], os.path.join(out_dir, f"w_{name}.pt"))
    with open(os.path.join(out_dir, f"res_{name}.json"), "w") as f:
        json.dump(res, f, indent=1)
    return res
